//! `serve --demo`: a demo relying party and one account of each kind, seeded once, so a
//! fresh checkout can be tried at once. Refused unless the issuer is on localhost.

use crate::app::App;
use crate::crypto::{SigningAlg, sha256_b64url};
use crate::ids::ClientId;
use crate::model::attributes::OPERATOR;
use crate::model::{AttributeRecord, Attributes};
use crate::secret::Secret;
use crate::store::{
    AccountKind, Address, AuthMethod, Client, GrantType, NewAccount, StoreError, SubjectType,
};

pub const CLIENT_ID: &str = "demo-portal";
/// Fixed so the demo can be followed from the README; `--demo` runs only on localhost.
pub const CLIENT_SECRET: &str = "demo-portal-secret";
pub const REDIRECT_URI: &str = "http://localhost:3000/callback";

/// (username, password, kind)
pub const ACCOUNTS: [(&str, &str, AccountKind); 3] = [
    ("citizen", "citizen-demo-password", AccountKind::Citizen),
    (
        "enterprise",
        "enterprise-demo-password",
        AccountKind::Enterprise,
    ),
    ("official", "official-demo-password", AccountKind::Official),
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "--demo runs only with an issuer on localhost (it seeds known passwords); the issuer is {0}"
    )]
    NotLocal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] crate::crypto::password::PasswordError),
}

pub async fn seed(provider: &App) -> Result<(), DemoError> {
    let issuer = &provider.config.issuer;
    if !matches!(issuer.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")) {
        return Err(DemoError::NotLocal(issuer.to_string()));
    }
    let now = provider.now();
    if provider.store.clients().get(CLIENT_ID).await?.is_none() {
        provider
            .store
            .clients()
            .insert(&Client {
                client_id: ClientId::new(CLIENT_ID),
                name: "Demo ministry portal".into(),
                secret_hash: Some(sha256_b64url(CLIENT_SECRET)),
                previous_secret_hash: None,
                previous_secret_expires_at: None,
                auth_method: AuthMethod::ClientSecretBasic,
                redirect_uris: vec![REDIRECT_URI.into(), "http://127.0.0.1:3000/callback".into()],
                post_logout_redirect_uris: vec!["http://localhost:3000/".into()],
                grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                scopes: crate::oidc::scopes::SUPPORTED
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                subject_type: SubjectType::Public,
                sector: None,
                jwks_uri: None,
                jwks: None,
                audiences: vec![],
                refresh_grace_secs: 0,
                backchannel_logout_uri: None,
                frontchannel_logout_uri: None,
                serves: vec![],
                first_party: false,
                id_token_alg: SigningAlg::ES256,
                created_at: now,
            })
            .await?;
    }
    for (i, (username, password, kind)) in ACCOUNTS.iter().enumerate() {
        if provider.store.accounts().username_exists(username).await? {
            continue;
        }
        let hash = provider.passwords.hash(&Secret::new(*password)).await?;
        let account = demo_account(i, *kind);
        let source = &provider.config.sources[0].id;
        provider
            .store
            .accounts()
            .create_with_password(&account, source, username, &hash, now)
            .await?;
    }
    Ok(())
}

fn demo_account(i: usize, kind: AccountKind) -> NewAccount {
    let (name, given, family) = match kind {
        AccountKind::Citizen => ("Nguyen Van An", "An", "Nguyen"),
        AccountKind::Enterprise => ("Tran Thi Binh (legal representative)", "Binh", "Tran"),
        AccountKind::Official => ("Le Van Cuong", "Cuong", "Le"),
    };
    let mut attributes = Attributes::default();
    let mut put = |claim: &str, value: serde_json::Value, verified: bool| {
        attributes.set(
            claim,
            AttributeRecord {
                value,
                verified,
                source: OPERATOR.into(),
                loa: None,
                at: 0,
            },
        );
    };
    put("name", name.into(), false);
    put("given_name", given.into(), false);
    put("family_name", family.into(), false);
    put("birthdate", format!("198{i}-0{}-1{i}", i + 1).into(), false);
    put(
        "email",
        format!("{}@example.gov", kind.as_str()).into(),
        true,
    );
    put("phone_number", format!("+8491234567{i}").into(), true);
    put("national_id", format!("00109901234{i}").into(), true);
    if kind == AccountKind::Enterprise {
        put("tax_code", "0101234567".into(), false);
    }
    let address = Address {
        formatted: Some("1 Demo Street, Hanoi".into()),
        locality: Some("Hanoi".into()),
        country: Some("VN".into()),
        ..Address::default()
    };
    put("address", serde_json::json!(address), false);
    NewAccount {
        kind: Some(kind),
        attributes,
    }
}

/// What `serve --demo` prints.
pub fn banner(issuer: &str) -> String {
    let mut s = format!(
        "\nDemo mode. Discovery: {issuer}/.well-known/openid-configuration\n\
         Demo client: client_id={CLIENT_ID} client_secret={CLIENT_SECRET} (client_secret_basic, PKCE S256)\n\
         redirect_uri={REDIRECT_URI}\n\
         Try: {issuer}/authorize?client_id={CLIENT_ID}&response_type=code&scope=openid%20profile&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback&state=demo&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256\n\
         (code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk)\n\
         Demo accounts:\n"
    );
    for (u, p, k) in ACCOUNTS {
        s.push_str(&format!("  {:<10} username={u} password={p}\n", k.as_str()));
    }
    s
}
