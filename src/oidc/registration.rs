//! Client registration rules, shared by the CLI (and, later, dynamic registration):
//! every URI, method and grant combination is checked here once.

use std::time::Duration;

use super::outbound;
use super::scopes::{SUPPORTED, is_valid_scope_token};
use crate::config::OutboundConfig;
use crate::crypto::{SigningAlg, sha256_b64url};
use crate::ids::ClientId;
use crate::model::{AuthMethod, Client, GrantType, SubjectType};
use crate::secret::Secret;

/// What an operator asks for.
#[derive(Debug, Clone)]
pub struct ClientRegistration {
    pub client_id: String,
    pub name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// A browser or mobile app: no secret, PKCE required.
    pub public: bool,
    pub grant_types: Vec<GrantType>,
    pub auth_method: Option<AuthMethod>,
    pub jwks_uri: Option<String>,
    /// An inline JWK Set (JSON text).
    pub jwks: Option<String>,
    pub scopes: Vec<String>,
    pub subject_type: SubjectType,
    /// A sector identifier: a host name, or an https `sector_identifier_uri` listing the
    /// redirect URIs (OIDC Core section 8.1).
    pub sector: Option<String>,
    pub backchannel_logout_uri: Option<String>,
    pub frontchannel_logout_uri: Option<String>,
    /// Resource indicators this client serves (it may introspect tokens for them).
    pub serves: Vec<String>,
    pub first_party: bool,
    pub id_token_alg: SigningAlg,
    pub audiences: Vec<String>,
    pub refresh_grace_secs: i64,
}

impl ClientRegistration {
    pub fn new(client_id: impl Into<String>, redirect_uris: Vec<String>) -> Self {
        ClientRegistration {
            client_id: client_id.into(),
            name: None,
            redirect_uris,
            post_logout_redirect_uris: vec![],
            public: false,
            grant_types: vec![],
            auth_method: None,
            jwks_uri: None,
            jwks: None,
            scopes: vec![],
            subject_type: SubjectType::Public,
            sector: None,
            backchannel_logout_uri: None,
            frontchannel_logout_uri: None,
            serves: vec![],
            first_party: false,
            id_token_alg: SigningAlg::ES256,
            audiences: vec![],
            refresh_grace_secs: 0,
        }
    }
}

fn is_loopback(url: &url::Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// https, or http on a loopback host.
fn web_uri(uri: &str, what: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(uri).map_err(|_| format!("{what} `{uri}` is not an absolute URL"))?;
    if url.fragment().is_some() {
        return Err(format!("{what} `{uri}` must not contain a fragment"));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(format!(
            "{what} `{uri}` must use https (http only on localhost)"
        )),
    }
}

fn redirect_uri(uri: &str, what: &str) -> Result<(), String> {
    let url = url::Url::parse(uri).map_err(|_| format!("{what} `{uri}` is not an absolute URL"))?;
    // RFC 8252 section 7.1: apps may use private-use schemes in reverse domain order.
    if url.scheme().contains('.') {
        return if url.fragment().is_none() {
            Ok(())
        } else {
            Err(format!("{what} `{uri}` must not contain a fragment"))
        };
    }
    web_uri(uri, what).map(|_| ())
}

/// A URI Portico itself will call for the client: a web URI whose address (literal,
/// or each one its name resolves to now) the outbound policy allows.
async fn outbound_uri(policy: OutboundConfig, uri: &str, what: &str) -> Result<url::Url, String> {
    let url = web_uri(uri, what)?;
    outbound::check_registered(policy, what, &url, uri).await?;
    Ok(url)
}

/// Validates a registration into a client and its generated secret (shown once).
/// `issuer` is this server's: it may not be registered as a client's resource.
/// `outbound` says which addresses the URIs Portico calls (`jwks_uri`, back-channel
/// logout, sector identifier) may reach; the redirect and front-channel URIs are the
/// browser's to load, not Portico's, and are not checked against it.
pub async fn register(
    reg: ClientRegistration,
    issuer: &str,
    outbound: OutboundConfig,
    now: i64,
) -> Result<(Client, Option<Secret>), String> {
    let r = reg;
    if r.client_id.is_empty()
        || r.client_id.len() > 128
        || !r.client_id.chars().all(|c| c.is_ascii_graphic())
    {
        return Err("the client id must be 1-128 visible ASCII characters".into());
    }
    let grant_types = if r.grant_types.is_empty() {
        vec![GrantType::AuthorizationCode]
    } else {
        let mut g = r.grant_types.clone();
        g.dedup();
        g
    };
    let code_flow = grant_types.contains(&GrantType::AuthorizationCode);
    if grant_types.contains(&GrantType::RefreshToken) && !code_flow {
        return Err("the refresh_token grant needs the authorization_code grant".into());
    }
    if code_flow && r.redirect_uris.is_empty() {
        return Err("the authorization_code grant needs at least one redirect URI".into());
    }
    for uri in &r.redirect_uris {
        redirect_uri(uri, "redirect URI")?;
    }
    for uri in &r.post_logout_redirect_uris {
        redirect_uri(uri, "post-logout redirect URI")?;
    }
    if let Some(uri) = &r.backchannel_logout_uri {
        outbound_uri(outbound, uri, "back-channel logout URI").await?;
    }
    if let Some(uri) = &r.frontchannel_logout_uri {
        web_uri(uri, "front-channel logout URI")?;
    }
    let auth_method = match (r.public, r.auth_method) {
        (true, None | Some(AuthMethod::None)) => AuthMethod::None,
        (true, Some(_)) => return Err("public clients authenticate with auth method none".into()),
        (false, None) if r.jwks_uri.is_some() || r.jwks.is_some() => AuthMethod::PrivateKeyJwt,
        (false, None) => AuthMethod::ClientSecretBasic,
        (false, Some(AuthMethod::None)) => {
            return Err("auth method none is for public clients".into());
        }
        (false, Some(m)) => m,
    };
    if auth_method == AuthMethod::None && grant_types.contains(&GrantType::ClientCredentials) {
        return Err("public clients cannot use the client_credentials grant".into());
    }
    match (auth_method, &r.jwks_uri, &r.jwks) {
        (AuthMethod::PrivateKeyJwt, None, None) => {
            return Err("private_key_jwt needs the client's keys: a jwks_uri or a jwks".into());
        }
        (AuthMethod::PrivateKeyJwt, Some(_), Some(_)) => {
            return Err("give a jwks_uri or a jwks, not both".into());
        }
        (AuthMethod::PrivateKeyJwt, _, _) => {}
        (_, None, None) => {}
        _ => return Err("a jwks_uri or jwks is only used with private_key_jwt".into()),
    }
    if let Some(uri) = &r.jwks_uri {
        outbound_uri(outbound, uri, "jwks_uri").await?;
    }
    if let Some(jwks) = &r.jwks {
        let set: jsonwebtoken::jwk::JwkSet =
            serde_json::from_str(jwks).map_err(|e| format!("the jwks is not a JWK Set: {e}"))?;
        if set.keys.is_empty() {
            return Err("the jwks holds no key".into());
        }
        let raw: serde_json::Value = serde_json::from_str(jwks).map_err(|e| e.to_string())?;
        let private = raw["keys"]
            .as_array()
            .is_some_and(|keys| keys.iter().any(|k| k.get("d").is_some()));
        if private {
            return Err("the jwks holds a private key; register only the public keys".into());
        }
    }
    let scopes = if r.scopes.is_empty() {
        SUPPORTED.iter().map(|s| s.to_string()).collect()
    } else {
        if let Some(bad) = r.scopes.iter().find(|s| !is_valid_scope_token(s)) {
            return Err(format!("scope `{bad}` has invalid characters"));
        }
        r.scopes.clone()
    };
    for a in r.audiences.iter().chain(&r.serves) {
        // The issuer is the audience of every person's access token: a client serving
        // it could introspect them all.
        if a.trim_end_matches('/') == issuer {
            return Err(format!(
                "`{a}` is this server's own audience; choose the API's resource URI"
            ));
        }
        let ok = url::Url::parse(a).is_ok_and(|u| u.fragment().is_none());
        if !ok {
            return Err(format!(
                "audience `{a}` must be an absolute URI without a fragment"
            ));
        }
    }
    if !(0..=300).contains(&r.refresh_grace_secs) {
        return Err("the refresh grace period must be 0 to 300 seconds".into());
    }
    let sector = match (r.subject_type, &r.sector) {
        (SubjectType::Public, None) => None,
        (SubjectType::Public, Some(_)) => {
            return Err("a sector is only used with the pairwise subject type".into());
        }
        (SubjectType::Pairwise, Some(s)) if s.starts_with("https://") => {
            Some(check_sector_identifier_uri(outbound, s, &r.redirect_uris).await?)
        }
        (SubjectType::Pairwise, Some(s)) => {
            if s.is_empty() || s.contains('/') || s.contains(char::is_whitespace) {
                return Err(format!("sector `{s}` must be a host name or an https URI"));
            }
            Some(s.to_ascii_lowercase())
        }
        (SubjectType::Pairwise, None) => {
            Some(super::subject::sector_from_redirect_uris(&r.redirect_uris)?)
        }
    };
    let secret = matches!(
        auth_method,
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
    )
    .then(crate::random::token);
    let client = Client {
        client_id: ClientId::new(&r.client_id),
        name: r.name.clone().unwrap_or_else(|| r.client_id.clone()),
        secret_hash: secret.as_ref().map(|s| sha256_b64url(s.expose())),
        previous_secret_hash: None,
        previous_secret_expires_at: None,
        auth_method,
        redirect_uris: r.redirect_uris,
        post_logout_redirect_uris: r.post_logout_redirect_uris,
        grant_types,
        scopes,
        subject_type: r.subject_type,
        sector,
        jwks_uri: r.jwks_uri,
        jwks: r.jwks,
        backchannel_logout_uri: r.backchannel_logout_uri,
        frontchannel_logout_uri: r.frontchannel_logout_uri,
        serves: r.serves,
        first_party: r.first_party,
        id_token_alg: r.id_token_alg,
        audiences: r.audiences,
        refresh_grace_secs: r.refresh_grace_secs,
        created_at: now,
    };
    Ok((client, secret))
}

/// OIDC Registration section 5: the sector identifier URI holds a JSON array that must
/// contain every redirect URI; the sector is its host.
async fn check_sector_identifier_uri(
    policy: OutboundConfig,
    uri: &str,
    redirect_uris: &[String],
) -> Result<String, String> {
    let url = outbound_uri(policy, uri, "sector identifier URI").await?;
    // The fetch checks the address it connects to as well: the name may resolve
    // differently now than a moment ago.
    let http = outbound::http_client(policy, Some(Duration::from_secs(5)));
    let listed: Vec<String> = http
        .get(uri)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| {
            format!(
                "fetching sector identifier URI {uri}: {}",
                outbound::describe(&e)
            )
        })?
        .json()
        .await
        .map_err(|e| format!("sector identifier URI {uri} must hold a JSON array of URIs: {e}"))?;
    if let Some(missing) = redirect_uris.iter().find(|r| !listed.contains(r)) {
        return Err(format!(
            "redirect URI `{missing}` is not listed at the sector identifier URI"
        ));
    }
    url.host_str()
        .map(str::to_owned)
        .ok_or_else(|| "sector identifier URI has no host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: OutboundConfig = OutboundConfig {
        allow_private_addresses: false,
    };

    fn reg() -> ClientRegistration {
        ClientRegistration::new("tax", vec!["https://tax.example.gov/cb".into()])
    }

    #[tokio::test]
    async fn defaults_and_secrets() {
        let (c, secret) = register(reg(), "https://id.example.gov", STRICT, 1)
            .await
            .unwrap();
        assert_eq!(c.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(c.grant_types, vec![GrantType::AuthorizationCode]);
        assert_eq!(
            c.secret_hash.unwrap(),
            sha256_b64url(secret.unwrap().expose())
        );
        let (c, secret) = register(
            ClientRegistration {
                public: true,
                ..reg()
            },
            "https://id.example.gov",
            STRICT,
            1,
        )
        .await
        .unwrap();
        assert!(c.is_public() && secret.is_none());
    }

    #[tokio::test]
    async fn refusals_name_the_problem() {
        let bad = |r: ClientRegistration| async move {
            register(r, "https://id.example.gov", STRICT, 1)
                .await
                .unwrap_err()
        };
        assert!(
            bad(ClientRegistration::new(
                "x",
                vec!["http://tax.example.gov/cb".into()]
            ))
            .await
            .contains("https")
        );
        assert!(
            bad(ClientRegistration::new(
                "x",
                vec!["https://tax.example.gov/cb#f".into()]
            ))
            .await
            .contains("fragment")
        );
        assert!(
            bad(ClientRegistration {
                auth_method: Some(AuthMethod::PrivateKeyJwt),
                ..reg()
            })
            .await
            .contains("jwks")
        );
        assert!(
            bad(ClientRegistration {
                public: true,
                grant_types: vec![GrantType::ClientCredentials],
                ..reg()
            })
            .await
            .contains("public")
        );
        let two_hosts = ClientRegistration {
            subject_type: SubjectType::Pairwise,
            redirect_uris: vec!["https://a.example/cb".into(), "https://b.example/cb".into()],
            ..reg()
        };
        assert!(bad(two_hosts).await.contains("sector"));
        let private = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"secret"}]}"#;
        assert!(
            bad(ClientRegistration {
                jwks: Some(private.into()),
                ..reg()
            })
            .await
            .contains("private")
        );
    }

    #[tokio::test]
    async fn pairwise_sector_from_the_redirect_host() {
        let (c, _) = register(
            ClientRegistration {
                subject_type: SubjectType::Pairwise,
                ..reg()
            },
            "https://id.example.gov",
            STRICT,
            1,
        )
        .await
        .unwrap();
        assert_eq!(c.sector.as_deref(), Some("tax.example.gov"));
    }
}
