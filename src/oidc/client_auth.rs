//! Client authentication at the token endpoint (RFC 6749 section 2.3; OIDC Core
//! section 9): `client_secret_basic`, `client_secret_post`, and `none` for public
//! clients. A client uses the method it registered, and only one per request; a client
//! holding a secret may send it either way (Basic or form), since neither is stronger.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::client_assertion::JwksCache;
use super::clients::ClientCache;
use super::error::{ErrorCode, OAuthError};
use crate::config::BruteForceConfig;
use crate::crypto::{constant_time_eq, sha256_b64url};
use crate::model::{AuthMethod, Client};
use crate::secret::Secret;
use crate::store::{Claim, Store};

/// What the request presented to authenticate the client.
#[derive(Debug, Default)]
pub struct PresentedCredentials {
    /// From `Authorization: Basic`.
    pub basic: Option<(String, Secret)>,
    /// The `client_id` form parameter.
    pub client_id: Option<String>,
    /// The `client_secret` form parameter.
    pub client_secret: Option<Secret>,
    /// `client_assertion_type` and `client_assertion` (RFC 7523).
    pub assertion_type: Option<String>,
    pub assertion: Option<Secret>,
}

/// Parses an `Authorization` header value of the Basic scheme. The id and secret are
/// form-urlencoded inside the base64 (RFC 6749 section 2.3.1).
pub fn parse_basic(header: &str) -> Result<(String, Secret), OAuthError> {
    let bad = || OAuthError::invalid_client("malformed Basic authorization header");
    let (scheme, rest) = header.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let id = form_decode(id).ok_or_else(bad)?;
    let secret = form_decode(secret).ok_or_else(bad)?;
    Ok((id, Secret::new(secret)))
}

/// application/x-www-form-urlencoded decoding of one value.
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn failed(detail: impl Into<String>) -> OAuthError {
    OAuthError::invalid_client("client authentication failed").with_detail(detail)
}

/// What client authentication uses: the registered clients, and for `private_key_jwt`
/// their key sets, the replay cache in the store and the audience (the issuer).
pub struct ClientAuth<'a> {
    pub clients: &'a ClientCache,
    pub jwks: &'a JwksCache,
    pub store: &'a Store,
    pub issuer: &'a str,
    /// `brute_force.client_*`: failed authentications per `client_id`.
    pub brute_force: &'a BruteForceConfig,
}

/// The authenticated client, or `invalid_client` (`invalid_request` when the request
/// itself is malformed). Failed authentications are counted per `client_id` in the
/// database (a wrong secret, a bad assertion, an unknown client), with the logins'
/// back-off and lock (`store::throttle`): while a client is blocked, a failed
/// authentication of it is `invalid_client` saying so, with `Retry-After` (RFC 6749
/// section 5.2 has no error of its own for it). A right credential is never refused:
/// client secrets are 256-bit random and keys are keys, so there is nothing to guess,
/// and a lock on the right secret would let anyone who knows a portal's public
/// `client_id` shut it out of the token endpoint. So the counters cost nothing on
/// success: no database access.
pub async fn authenticate(
    auth: &ClientAuth<'_>,
    presented: PresentedCredentials,
    now: i64,
) -> Result<Arc<Client>, OAuthError> {
    let client_id = presented
        .basic
        .as_ref()
        .map(|(id, _)| id.clone())
        .or_else(|| presented.client_id.clone())
        .or_else(|| {
            presented
                .assertion
                .as_ref()
                .and_then(|a| super::client_assertion::unverified_client_id(a.expose()))
        });
    let error = match check(auth, presented, now).await {
        Ok(client) => return Ok(client),
        Err(e) => e,
    };
    let Some(client_id) = client_id.filter(|_| error.code == ErrorCode::InvalidClient) else {
        return Err(error);
    };
    let key = format!("client:{}", sha256_b64url(&client_id));
    let limits = auth.brute_force.client;
    match auth
        .store
        .throttle()
        .claim(&key, limits, auth.brute_force, now)
        .await?
    {
        Claim::Counted { .. } => Err(error),
        Claim::Blocked { until, .. } => Err(OAuthError::invalid_client(
            "too many failed client authentications; try again later",
        )
        .with_retry_after((until - now).max(1) as u64)
        .with_detail(format!(
            "client {client_id} failed too often; blocked until {until}"
        ))),
    }
}

async fn check(
    auth: &ClientAuth<'_>,
    presented: PresentedCredentials,
    now: i64,
) -> Result<Arc<Client>, OAuthError> {
    let methods = [
        presented.basic.is_some(),
        presented.client_secret.is_some(),
        presented.assertion.is_some(),
    ];
    if methods.iter().filter(|m| **m).count() > 1 {
        return Err(OAuthError::invalid_request(
            "use only one client authentication method",
        ));
    }
    if let Some(assertion) = presented.assertion {
        if presented.assertion_type.as_deref() != Some(super::client_assertion::JWT_BEARER) {
            return Err(OAuthError::invalid_request(format!(
                "`client_assertion_type` must be {}",
                super::client_assertion::JWT_BEARER
            )));
        }
        let id = match (
            presented.client_id,
            super::client_assertion::unverified_client_id(assertion.expose()),
        ) {
            (Some(id), Some(sub)) if id != sub => {
                return Err(failed("client_id differs from the assertion's subject"));
            }
            (Some(id), _) | (None, Some(id)) => id,
            (None, None) => return Err(failed("assertion names no client")),
        };
        let client = registered(auth.clients, &id, AuthMethod::PrivateKeyJwt, now).await?;
        super::client_assertion::verify(
            auth.jwks,
            auth.store,
            auth.issuer,
            &client,
            assertion.expose(),
            now,
        )
        .await?;
        return Ok(client);
    }
    let (client_id, method, secret) = match presented {
        PresentedCredentials {
            basic: Some((id, secret)),
            client_id,
            ..
        } => {
            if client_id.as_ref().is_some_and(|c| c != &id) {
                return Err(OAuthError::invalid_request(
                    "`client_id` differs from the authenticated client",
                ));
            }
            (id, AuthMethod::ClientSecretBasic, Some(secret))
        }
        PresentedCredentials {
            client_id: Some(id),
            client_secret: Some(secret),
            ..
        } => (id, AuthMethod::ClientSecretPost, Some(secret)),
        PresentedCredentials {
            client_id: Some(id),
            ..
        } => (id, AuthMethod::None, None),
        _ => {
            return Err(OAuthError::invalid_client(
                "client authentication is missing",
            ));
        }
    };
    let client = registered(auth.clients, &client_id, method, now).await?;
    match (secret, &client.secret_hash) {
        (None, _) if client.is_public() => Ok(client),
        (Some(secret), Some(hash)) if secret_matches(&client, hash, &secret, now) => Ok(client),
        _ => Err(failed(format!("wrong secret for client {client_id}"))),
    }
}

/// Whether `secret` is the client's current secret, or the one it replaced while the
/// rotation's overlap lasts. Both comparisons always run, in constant time, so the
/// answer's timing says nothing of which one matched.
fn secret_matches(client: &Client, current: &str, secret: &Secret, now: i64) -> bool {
    let presented = sha256_b64url(secret.expose());
    let is_current = constant_time_eq(presented.as_bytes(), current.as_bytes());
    let previous = client.previous_secret(now);
    let is_previous =
        previous.is_some_and(|(hash, _)| constant_time_eq(presented.as_bytes(), hash.as_bytes()));
    if is_previous && !is_current {
        // The operator's cue that this portal has not switched yet.
        tracing::info!(
            client_id = %client.client_id,
            until = previous.map(|(_, until)| until),
            "client authenticated with its previous secret"
        );
    }
    is_current | is_previous
}

/// Whether a client registered for `registered` may authenticate with `used`. The two
/// secret methods carry the same secret over the same TLS connection, so either is
/// accepted for the other, as Keycloak does: libraries differ in their default
/// (`openid-client` posts the secret in the form, most others use Basic).
/// `private_key_jwt` and public clients stay strict: a secret is no proof of a key, and a
/// public client has none.
fn accepts(registered: AuthMethod, used: AuthMethod) -> bool {
    let secret = |m| {
        matches!(
            m,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    };
    registered == used || (secret(registered) && secret(used))
}

/// The client, if it exists and its registered method accepts `method`.
async fn registered(
    clients: &ClientCache,
    client_id: &str,
    method: AuthMethod,
    now: i64,
) -> Result<Arc<Client>, OAuthError> {
    let client = clients
        .get(client_id, now)
        .await?
        .ok_or_else(|| failed(format!("unknown client {client_id}")))?;
    if !accepts(client.auth_method, method) {
        return Err(failed(format!(
            "client {client_id} is registered for {}, used {}",
            client.auth_method.as_str(),
            method.as_str()
        )));
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_is_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%3Aclient:p%40ss+word"));
        let (id, secret) = parse_basic(&header).unwrap();
        assert_eq!(id, "my:client");
        assert_eq!(secret.expose(), "p@ss word");
        assert!(parse_basic("Bearer abc").is_err());
        assert!(parse_basic("Basic !!!").is_err());
        assert!(parse_basic(&format!("Basic {}", STANDARD.encode("nocolon"))).is_err());
    }

    #[test]
    fn secret_methods_accept_each_other_and_nothing_else() {
        use AuthMethod as M;
        for (registered, used, ok) in [
            (M::ClientSecretBasic, M::ClientSecretPost, true),
            (M::ClientSecretPost, M::ClientSecretBasic, true),
            (M::ClientSecretBasic, M::ClientSecretBasic, true),
            (M::PrivateKeyJwt, M::PrivateKeyJwt, true),
            (M::None, M::None, true),
            (M::PrivateKeyJwt, M::ClientSecretBasic, false),
            (M::PrivateKeyJwt, M::ClientSecretPost, false),
            (M::None, M::ClientSecretPost, false),
            (M::ClientSecretBasic, M::None, false),
            (M::ClientSecretPost, M::PrivateKeyJwt, false),
        ] {
            assert_eq!(
                accepts(registered, used),
                ok,
                "{registered:?} used as {used:?}"
            );
        }
    }
}
