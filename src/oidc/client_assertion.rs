//! `private_key_jwt` client authentication (RFC 7523 section 2.2, OIDC Core section 9):
//! a JWT signed with the client's key, checked against its registered `jwks` or
//! `jwks_uri`, for this server's audience, fresh, and used once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::error::OAuthError;
use crate::config::OutboundConfig;
use crate::model::Client;
use crate::store::Store;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Asymmetric algorithms only: no `none`, and no HMAC, which with a public key as the
/// secret is the classic algorithm-confusion attack.
const ALLOWED: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY: i64 = 30;
/// Assertions valid for longer than this are refused: a short life bounds replay.
const MAX_LIFETIME: i64 = 600;
/// A fetched JWKS is reused this many seconds...
const JWKS_TTL: i64 = 300;
/// ...and refetched on an unknown `kid` at most this often.
const JWKS_MIN_REFETCH: i64 = 10;
const JWKS_MAX_BYTES: usize = 256 * 1024;
/// A failed fetch is answered from memory this many seconds, so that requests that
/// cost the sender nothing cannot each make the server fetch.
const JWKS_FAILURE_TTL: i64 = 30;

fn refused(detail: impl Into<String>) -> OAuthError {
    OAuthError::invalid_client("client authentication failed").with_detail(detail)
}

#[derive(Deserialize)]
struct AssertionClaims {
    sub: String,
    aud: Audience,
    exp: i64,
    nbf: Option<i64>,
    iat: Option<i64>,
    jti: Option<String>,
}

/// `aud` as sent: a string or an array (RFC 7519 section 4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Whether the assertion is meant for this server alone. An array naming another party
/// too is refused (audience injection: RFC 7523 section 3 point 3, the 2025
/// `private_key_jwt` audience advisory): an assertion made for someone else, who could
/// replay it here, or one of ours replayed there, must not verify. So one audience only:
/// the issuer, or for older clients the token endpoint; an array only of exactly one.
fn audience_is_ours(aud: &Audience, issuer: &str, token_endpoint: &str) -> bool {
    let ours = |a: &String| a == issuer || a == token_endpoint;
    match aud {
        Audience::One(a) => ours(a),
        Audience::Many(list) => matches!(list.as_slice(), [a] if ours(a)),
    }
}

/// The `iss`/`sub` of an assertion, read without verification, to find the client.
pub fn unverified_client_id(assertion: &str) -> Option<String> {
    let data = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(assertion).ok()?;
    data.claims.get("sub")?.as_str().map(str::to_owned)
}

pub async fn verify(
    jwks: &JwksCache,
    store: &Store,
    issuer: &str,
    client: &Client,
    assertion: &str,
    now: i64,
) -> Result<(), OAuthError> {
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|e| refused(format!("malformed assertion: {e}")))?;
    if !ALLOWED.contains(&header.alg) {
        return Err(refused(format!(
            "assertion algorithm {:?} is not allowed",
            header.alg
        )));
    }
    let jwk = jwks
        .key(client, header.kid.as_deref(), header.alg, now)
        .await?;
    let key =
        DecodingKey::from_jwk(&jwk).map_err(|e| refused(format!("client key unusable: {e}")))?;
    let token_endpoint = format!("{issuer}/token");
    let mut validation = Validation::new(header.alg);
    // The audience is checked below: jsonwebtoken accepts an array if any entry matches.
    validation.validate_aud = false;
    validation.set_issuer(&[client.client_id.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    // Times are checked against the injected clock below.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation)
        .map_err(|e| refused(format!("assertion rejected: {e}")))?
        .claims;
    if claims.sub != client.client_id.as_str() {
        return Err(refused("assertion sub is not the client"));
    }
    if !audience_is_ours(&claims.aud, issuer, &token_endpoint) {
        return Err(refused(
            "assertion aud must be the issuer or the token endpoint, alone",
        ));
    }
    if claims.exp <= now - LEEWAY {
        return Err(refused("assertion expired"));
    }
    if claims.exp > now + MAX_LIFETIME + LEEWAY {
        return Err(refused("assertion lives too long"));
    }
    if claims.nbf.is_some_and(|nbf| nbf > now + LEEWAY)
        || claims.iat.is_some_and(|iat| iat > now + LEEWAY)
    {
        return Err(refused("assertion not yet valid"));
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| refused("assertion has no jti"))?;
    let fresh = store
        .assertion_jtis()
        .first_use(client.client_id.as_str(), &jti, claims.exp + LEEWAY, now)
        .await?;
    if !fresh {
        return Err(refused("assertion replayed"));
    }
    Ok(())
}

/// What the last fetch of one `jwks_uri` gave.
enum Outcome {
    Fetched { set: Arc<JwkSet>, at: i64 },
    Failed { detail: String, at: i64 },
}

/// One `jwks_uri`: its last outcome, readable without waiting, and the lock that lets
/// one request at a time fetch it.
#[derive(Default)]
struct Slot {
    /// The outcome and its generation (one more per fetch), so a request that waited
    /// for `fetching` sees that another fetched meanwhile even under a frozen clock.
    last: Mutex<(u64, Option<Outcome>)>,
    /// Held across the fetch: that is its purpose. Concurrent requests wanting a fetch
    /// queue here and then use the one result instead of each fetching.
    fetching: tokio::sync::Mutex<()>,
}

/// What a request may do with the cached outcome.
enum Decision {
    Key(Jwk),
    Refuse(OAuthError),
    Fetch,
}

/// Client key sets from `jwks_uri`, cached per node and per URI: rebuilt on demand,
/// stale for at most five minutes, refetched early when an unknown `kid` appears (at
/// most every ten seconds). Unauthenticated requests drive these fetches, so they are
/// bounded: concurrent requests share one fetch, and a failure is remembered for
/// `JWKS_FAILURE_TTL` seconds, so a burst of bogus assertions for one client makes one
/// outbound request, not one each.
pub struct JwksCache {
    http: reqwest::Client,
    /// Which addresses a `jwks_uri` may reach (`oidc::outbound`).
    policy: OutboundConfig,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

impl JwksCache {
    pub fn new(policy: OutboundConfig) -> Self {
        JwksCache {
            http: super::outbound::http_client(policy, Some(Duration::from_secs(5))),
            policy,
            slots: Mutex::new(HashMap::new()),
        }
    }
}

fn no_match() -> OAuthError {
    refused("no key of the client's jwks_uri matches the assertion")
}

/// Whether the cached outcome answers the request, or a fetch is needed (`may_fetch`:
/// false after another request's fetch, which this one must not repeat).
fn decide(
    last: Option<&Outcome>,
    kid: Option<&str>,
    alg: Algorithm,
    now: i64,
    may_fetch: bool,
) -> Decision {
    match last {
        Some(Outcome::Fetched { set, at }) if now - at < JWKS_TTL => match find(set, kid, alg) {
            Some(k) => Decision::Key(k),
            None if now - at < JWKS_MIN_REFETCH || !may_fetch => Decision::Refuse(no_match()),
            None => Decision::Fetch,
        },
        Some(Outcome::Failed { detail, at }) if now - at < JWKS_FAILURE_TTL || !may_fetch => {
            Decision::Refuse(refused(format!("{detail} (remembered)")))
        }
        _ if may_fetch => Decision::Fetch,
        _ => Decision::Refuse(no_match()),
    }
}

fn find(set: &JwkSet, kid: Option<&str>, alg: Algorithm) -> Option<Jwk> {
    let usable = |k: &&Jwk| {
        let alg_ok = match k.common.key_algorithm {
            None => true,
            Some(a) => format!("{a:?}") == format!("{alg:?}"),
        };
        let use_ok = !matches!(
            k.common.public_key_use,
            Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
        );
        alg_ok && use_ok
    };
    match kid {
        Some(kid) => set
            .keys
            .iter()
            .filter(usable)
            .find(|k| k.common.key_id.as_deref() == Some(kid))
            .cloned(),
        // Without a kid, only an unambiguous key will do.
        None => {
            let mut candidates = set.keys.iter().filter(usable);
            match (candidates.next(), candidates.next()) {
                (Some(one), None) => Some(one.clone()),
                _ => None,
            }
        }
    }
}

impl JwksCache {
    pub async fn key(
        &self,
        client: &Client,
        kid: Option<&str>,
        alg: Algorithm,
        now: i64,
    ) -> Result<Jwk, OAuthError> {
        if let Some(inline) = &client.jwks {
            let set: JwkSet = serde_json::from_str(inline)
                .map_err(|e| refused(format!("registered jwks unreadable: {e}")))?;
            return find(&set, kid, alg)
                .ok_or_else(|| refused("no registered key matches the assertion"));
        }
        let uri = client
            .jwks_uri
            .as_deref()
            .ok_or_else(|| refused("client has no jwks or jwks_uri"))?;
        let slot = self
            .slots
            .lock()
            .expect("jwks cache lock")
            .entry(uri.to_owned())
            .or_default()
            .clone();
        let seen = {
            let last = slot.last.lock().expect("jwks slot lock");
            match decide(last.1.as_ref(), kid, alg, now, true) {
                Decision::Key(k) => return Ok(k),
                Decision::Refuse(e) => return Err(e),
                Decision::Fetch => last.0,
            }
        };
        let _fetching = slot.fetching.lock().await;
        {
            // Another request fetched while this one waited: use its result, whatever
            // it was, rather than fetch again.
            let last = slot.last.lock().expect("jwks slot lock");
            if last.0 != seen {
                return match decide(last.1.as_ref(), kid, alg, now, false) {
                    Decision::Key(k) => Ok(k),
                    Decision::Refuse(e) => Err(e),
                    Decision::Fetch => Err(no_match()),
                };
            }
        }
        let fetched = self.fetch(uri).await;
        let mut last = slot.last.lock().expect("jwks slot lock");
        last.0 += 1;
        match fetched {
            Ok(set) => {
                let set = Arc::new(set);
                last.1 = Some(Outcome::Fetched {
                    set: set.clone(),
                    at: now,
                });
                find(&set, kid, alg).ok_or_else(no_match)
            }
            Err(e) => {
                last.1 = Some(Outcome::Failed {
                    detail: e.detail.clone().unwrap_or_default(),
                    at: now,
                });
                Err(e)
            }
        }
    }

    async fn fetch(&self, uri: &str) -> Result<JwkSet, OAuthError> {
        let fail = |d: String| refused(format!("fetching jwks_uri {uri}: {d}"));
        // A literal address is connected to without the resolver, which checks names.
        super::outbound::check_literal_uri(self.policy, "jwks_uri", uri).map_err(fail)?;
        let mut response = self
            .http
            .get(uri)
            .send()
            .await
            .map_err(|e| fail(super::outbound::describe(&e)))?;
        if !response.status().is_success() {
            return Err(fail(format!("status {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| fail(e.to_string()))? {
            body.extend_from_slice(&chunk);
            if body.len() > JWKS_MAX_BYTES {
                return Err(fail("document too large".into()));
            }
        }
        serde_json::from_slice(&body).map_err(|e| fail(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7523_3_the_audience_is_this_server_alone() {
        let (iss, token) = ("https://id.example.gov", "https://id.example.gov/token");
        let one = |a: &str| Audience::One(a.into());
        let many = |l: &[&str]| Audience::Many(l.iter().map(|a| a.to_string()).collect());
        assert!(audience_is_ours(&one(iss), iss, token));
        assert!(audience_is_ours(&one(token), iss, token));
        assert!(audience_is_ours(&many(&[iss]), iss, token));
        assert!(audience_is_ours(&many(&[token]), iss, token));
        assert!(!audience_is_ours(&one("https://evil"), iss, token));
        assert!(!audience_is_ours(&many(&[iss, "https://evil"]), iss, token));
        assert!(!audience_is_ours(
            &many(&["https://evil", token]),
            iss,
            token
        ));
        assert!(!audience_is_ours(&many(&[iss, token]), iss, token));
        assert!(!audience_is_ours(&many(&[]), iss, token));
        assert!(!audience_is_ours(
            &one("https://id.example.gov/"),
            iss,
            token
        ));
    }

    #[test]
    fn jwks_fetches_are_bounded_by_what_is_remembered() {
        let fetch = |last: Option<&Outcome>, now, may_fetch| {
            matches!(
                decide(last, Some("unknown"), Algorithm::ES256, now, may_fetch),
                Decision::Fetch
            )
        };
        assert!(fetch(None, 0, true));
        assert!(!fetch(None, 0, false), "after another's fetch, never again");
        let failed = Outcome::Failed {
            detail: "status 500".into(),
            at: 100,
        };
        assert!(!fetch(Some(&failed), 100 + JWKS_FAILURE_TTL - 1, true));
        assert!(fetch(Some(&failed), 100 + JWKS_FAILURE_TTL, true));
        let fetched = Outcome::Fetched {
            set: Arc::new(JwkSet { keys: vec![] }),
            at: 100,
        };
        assert!(!fetch(Some(&fetched), 100 + JWKS_MIN_REFETCH - 1, true));
        assert!(fetch(Some(&fetched), 100 + JWKS_MIN_REFETCH, true));
        assert!(!fetch(Some(&fetched), 100 + JWKS_MIN_REFETCH, false));
    }
}
