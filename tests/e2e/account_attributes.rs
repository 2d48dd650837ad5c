//! Verified attributes on the account: `portico account add` sets every standard claim
//! (OIDC Core section 5.1) and Portico's own, UserInfo releases each by its scope
//! (section 5.4) and nothing beyond, and a login at a source updates the account: a
//! verified value from a source at an equal or higher level replaces the one held,
//! audited with the claim and the source, never the value.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use portico::store::AuthMethod;
use serde_json::{Value, json};

use crate::common::*;

/// Runs `portico account add` (the real binary) on the test's database and keys.
pub(crate) fn account_add(
    dir: &std::path::Path,
    database_url: &str,
    args: &[&str],
) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portico"))
        .current_dir(dir)
        .env_remove("PORTICO_CONFIG")
        .env("PORTICO_DATABASE_URL", database_url)
        .env("PORTICO_KEYS_DIR", dir.join("keys"))
        .env("PORTICO_PASSWORD__MEMORY_KIB", "8192")
        .env("PORTICO_PASSWORD__ITERATIONS", "1")
        .args(["account", "add", "--password-stdin"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The binary may exit before reading (a bad flag): a broken pipe is fine.
    let _ = stdin.write_all(format!("{PASSWORD}\n").as_bytes());
    drop(stdin);
    child.wait_with_output().unwrap()
}

const EVERY_FLAG: &[&str] = &[
    "--username",
    "hoa",
    "--kind",
    "enterprise",
    "--name",
    "Phạm Thị Hoa",
    "--given-name",
    "Hoa",
    "--family-name",
    "Phạm",
    "--middle-name",
    "Thị",
    "--nickname",
    "Hoa Phạm",
    "--preferred-username",
    "hoapham",
    "--profile",
    "https://hoa.example.vn/",
    "--picture",
    "https://hoa.example.vn/anh.png",
    "--website",
    "https://cong-ty-hoa.example.vn/",
    "--gender",
    "female",
    "--birthdate",
    "1988-09-02",
    "--zoneinfo",
    "Asia/Ho_Chi_Minh",
    "--locale",
    "vi-VN",
    "--email",
    "hoa@example.vn",
    "--email-verified",
    "--phone",
    "+84912345678",
    "--phone-verified",
    "--address-formatted",
    "12 Tràng Tiền, Hoàn Kiếm, Hà Nội",
    "--street-address",
    "12 Tràng Tiền",
    "--locality",
    "Hoàn Kiếm",
    "--region",
    "Hà Nội",
    "--postal-code",
    "100000",
    "--country",
    "VN",
    "--place-of-birth",
    "Huế",
    "--nationality",
    "VN",
    "--nationality",
    "FR",
    "--national-id",
    "001188012345",
    "--tax-code",
    "0109876543",
];

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn oidc_5_4_account_add_sets_every_standard_claim_and_userinfo_releases_each_by_its_scope() {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(dir.path()).await;
    // Bad values are refused, naming the flag, and nothing is created.
    for (flag, value) in [
        ("--birthdate", "02/09/1988"),
        ("--phone", "0912345678"),
        ("--website", "javascript:alert(1)"),
        ("--locale", "Vietnamese!"),
        ("--nationality", "viet"),
    ] {
        let out = account_add(
            dir.path(),
            &database.url,
            &["--username", "bad", flag, value],
        );
        assert!(!out.status.success(), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("`{flag}` must be")), "{flag}: {err}");
    }
    let out = account_add(dir.path(), &database.url, EVERY_FLAG);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let server = TestServer::start_on(database, dir, "").await;
    let client = server
        .client_with(
            "tax",
            AuthMethod::ClientSecretBasic,
            true,
            portico::crypto::SigningAlg::ES256,
        )
        .await;
    let browser = Browser::new(&server);
    let first = server.sign_in(&browser, &client, "hoa").await;
    // By scope, no profile data goes into the ID token (only UserInfo releases it).
    let id_token = {
        use base64::Engine;
        let part = first["id_token"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()
    };
    assert!(id_token.get("name").is_none() && id_token.get("email").is_none());

    let userinfo_for = |scope: &'static str| {
        let browser = &browser;
        let server = &server;
        let client = &client;
        async move {
            let to = browser
                .follow(&server.authorize_url(client, &[("scope", scope)]))
                .await;
            let code = code_from(&to, server, client);
            let tokens: Value = server
                .exchange(client, &code, VERIFIER)
                .await
                .json()
                .await
                .unwrap();
            reqwest::Client::new()
                .get(server.url("/userinfo"))
                .bearer_auth(tokens["access_token"].as_str().unwrap())
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let only = userinfo_for("openid").await;
    assert_eq!(keys(&only), ["sub".to_owned()].into());

    let profile = userinfo_for("openid profile").await;
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        keys(&profile),
        names(&[
            "sub",
            "name",
            "given_name",
            "family_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
            "account_kind",
        ])
    );
    assert_eq!(profile["name"], "Phạm Thị Hoa");
    assert_eq!(profile["given_name"], "Hoa");
    assert_eq!(profile["family_name"], "Phạm");
    assert_eq!(profile["middle_name"], "Thị");
    assert_eq!(profile["nickname"], "Hoa Phạm");
    assert_eq!(profile["preferred_username"], "hoapham");
    assert_eq!(profile["profile"], "https://hoa.example.vn/");
    assert_eq!(profile["picture"], "https://hoa.example.vn/anh.png");
    assert_eq!(profile["website"], "https://cong-ty-hoa.example.vn/");
    assert_eq!(profile["gender"], "female");
    assert_eq!(profile["birthdate"], "1988-09-02");
    assert_eq!(profile["zoneinfo"], "Asia/Ho_Chi_Minh");
    assert_eq!(profile["locale"], "vi-VN");
    assert_eq!(profile["account_kind"], "enterprise");
    assert!(profile["updated_at"].is_i64());

    let email = userinfo_for("openid email").await;
    assert_eq!(
        email,
        json!({"sub": only["sub"], "email": "hoa@example.vn", "email_verified": true})
    );
    let phone = userinfo_for("openid phone").await;
    assert_eq!(
        phone,
        json!({"sub": only["sub"], "phone_number": "+84912345678", "phone_number_verified": true})
    );
    let address = userinfo_for("openid address").await;
    assert_eq!(
        address,
        json!({"sub": only["sub"], "address": {
            "formatted": "12 Tràng Tiền, Hoàn Kiếm, Hà Nội", "street_address": "12 Tràng Tiền",
            "locality": "Hoàn Kiếm", "region": "Hà Nội", "postal_code": "100000", "country": "VN"
        }})
    );
    let national = userinfo_for("openid national_id").await;
    assert_eq!(
        national,
        json!({"sub": only["sub"], "national_id": "001188012345", "national_id_verified": true,
               "place_of_birth": {"locality": "Huế"}, "nationalities": ["VN", "FR"],
               "tax_code": "0109876543"})
    );
}

fn two_sources() -> String {
    let source = |id: &str, loa: u8, subject: &str, given: &str, family: &str| {
        format!(
            "[[sources]]\nid = \"{id}\"\nkind = \"test_two_step\"\nloa = {loa}\n\
             other_origin = \"https://{id}.example/authorize\"\ncode = \"1357\"\n\
             subject = \"{subject}\"\ntrusted_for_linking = true\n\
             [sources.attributes]\nnational_id = \"079301000777\"\ngiven_name = \"{given}\"\n\
             family_name = \"{family}\"\nbirthdate = \"31/12/1990\"\n"
        )
    };
    format!(
        "[[sources]]\nid = \"password\"\nkind = \"password\"\n{}{}",
        source("post", 2, "post-42", "Lan", "Tran"),
        source("telco", 3, "84901112222", "Lân", "Trần"),
    )
}

/// A whole login at a two-step source for a first-party portal: the token response.
async fn login_at(server: &TestServer, client: &TestClient, source: &str) -> Value {
    let browser = Browser::new(server);
    let login = browser
        .follow(&server.authorize_url(client, &[("scope", "openid profile")]))
        .await;
    let request = login.trim_start_matches("/login?request=");
    let away = browser
        .follow(&format!("/login/{source}?request={request}"))
        .await;
    let q = query(&away);
    let mut back = url::Url::parse(&q["return"]).unwrap();
    back.query_pairs_mut()
        .append_pair("handoff", &q["handoff"])
        .append_pair("nonce", &q["nonce"]);
    let form = browser
        .http
        .get(back)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let done = browser
        .post_form(
            &format!("/login/{source}"),
            &[
                ("request", &hidden(&form, "request").unwrap()),
                ("csrf", &hidden(&form, "csrf").unwrap()),
                ("attempt", &hidden(&form, "attempt").unwrap()),
                ("code", "1357"),
            ],
        )
        .await;
    let code = code_from(&location(done.headers()).unwrap(), server, client);
    server
        .exchange(client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap()
}

async fn userinfo(server: &TestServer, tokens: &Value) -> Value {
    reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_verified_attribute_from_a_higher_level_source_replaces_a_lower_one_and_is_audited() {
    let server = TestServer::start_with(&two_sources()).await;
    let client = server
        .client_with(
            "tax",
            AuthMethod::ClientSecretBasic,
            true,
            portico::crypto::SigningAlg::ES256,
        )
        .await;
    // The level-2 source creates the account with its names (a malformed birthdate is
    // not recorded).
    let first = userinfo(&server, &login_at(&server, &client, "post").await).await;
    assert_eq!(first["given_name"], "Lan");
    assert_eq!(first["family_name"], "Tran");
    assert!(first.get("birthdate").is_none(), "{first}");
    let sub = first["sub"].as_str().unwrap().to_owned();
    let store = &server.provider().store;
    let account = store
        .accounts()
        .get(&portico::ids::AccountId::new(sub.clone()))
        .await
        .unwrap()
        .unwrap();
    let record = account.attributes.get("given_name").unwrap();
    assert!(record.verified);
    assert_eq!(record.source, "post");
    assert_eq!(record.loa, portico::model::Loa::new(2));
    let audit = store
        .audit()
        .recent("account_attribute_changed", 20)
        .await
        .unwrap();
    let details: BTreeSet<String> = audit.iter().map(|a| a.detail.clone()).collect();
    assert!(
        details.contains("claim=given_name source=post"),
        "{details:?}"
    );
    assert!(
        details.contains("claim=national_id source=post"),
        "{details:?}"
    );
    // Never the values.
    assert!(
        !details
            .iter()
            .any(|d| d.contains("Lan") || d.contains("079301000777"))
    );

    // The level-3 source links by the verified national id and its names replace.
    let second = userinfo(&server, &login_at(&server, &client, "telco").await).await;
    assert_eq!(second["sub"], sub, "one account");
    assert_eq!(second["given_name"], "Lân");
    assert_eq!(second["family_name"], "Trần");
    let audit = store
        .audit()
        .recent("account_attribute_changed", 20)
        .await
        .unwrap();
    let telco: Vec<&str> = audit
        .iter()
        .filter(|a| a.detail.ends_with("source=telco"))
        .map(|a| a.detail.as_str())
        .collect();
    assert_eq!(telco.len(), 2, "{telco:?}");
    assert!(telco.contains(&"claim=given_name source=telco"));
    assert!(telco.contains(&"claim=family_name source=telco"));
    assert!(
        audit
            .iter()
            .all(|a| a.account_id.as_deref() == Some(sub.as_str()))
    );

    // The level-2 source again: its older names do not replace the level-3 ones.
    let third = userinfo(&server, &login_at(&server, &client, "post").await).await;
    assert_eq!(third["given_name"], "Lân");
    let after = store
        .audit()
        .recent("account_attribute_changed", 20)
        .await
        .unwrap();
    assert_eq!(after.len(), audit.len(), "nothing changed, nothing audited");
    let account = store
        .accounts()
        .get(&portico::ids::AccountId::new(sub))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        account.attributes.get("given_name").unwrap().source,
        "telco"
    );
}
