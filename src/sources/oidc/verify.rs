//! Verifying what the upstream signed (OIDC Core 3.1.3.7 for the ID token, 5.3.2 for a
//! signed userinfo answer) and turning its claims into Portico attributes.

use std::collections::BTreeMap;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::model::Attribute;
use crate::sources::UpstreamFailure;

/// Asymmetric algorithms only: no `none`, and no HMAC (a client secret is not a
/// signing key Portico accepts, and with a public key it is algorithm confusion).
const ALLOWED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Seconds of clock skew tolerated on `exp` and `iat`.
const LEEWAY: i64 = 60;
/// An ID token issued longer ago than this is refused: the code it came with lives
/// minutes, so an older one is a replay.
const MAX_AGE: i64 = 600;

/// Why a token did not verify.
#[derive(Debug, PartialEq, Eq)]
pub enum Invalid {
    /// No key of the set has its `kid` (or, without one, no single key fits): the set
    /// may be worth refetching once.
    UnknownKey,
    Other(UpstreamFailure, String),
}

fn invalid(failure: UpstreamFailure, detail: impl Into<String>) -> Invalid {
    Invalid::Other(failure, detail.into())
}

/// What a token must be.
pub struct Expect<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The ID token's nonce; `None` for a userinfo answer, which has none.
    pub nonce: Option<&'a str>,
    pub now: i64,
}

fn find<'a>(set: &'a JwkSet, kid: Option<&str>, alg: Algorithm) -> Option<&'a Jwk> {
    let usable = |k: &&Jwk| {
        let alg_ok = k
            .common
            .key_algorithm
            .is_none_or(|a| format!("{a:?}") == format!("{alg:?}"));
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
            .find(|k| k.common.key_id.as_deref() == Some(kid)),
        None => {
            let mut candidates = set.keys.iter().filter(usable);
            match (candidates.next(), candidates.next()) {
                (Some(one), None) => Some(one),
                _ => None,
            }
        }
    }
}

/// The audience: a string or an array of strings (RFC 7519 section 4.1.3).
fn audiences(claims: &Map<String, Value>) -> Vec<&str> {
    match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Verifies a compact JWS from the upstream and answers its claims.
pub fn verify(
    jwks: &JwkSet,
    token: &str,
    expect: &Expect<'_>,
) -> Result<Map<String, Value>, Invalid> {
    use UpstreamFailure::{BadSignature, Invalid as Bad, WrongIssuer, WrongNonce};
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| invalid(Bad, format!("malformed token: {e}")))?;
    if !ALLOWED.contains(&header.alg) {
        return Err(invalid(
            BadSignature,
            format!("algorithm {:?} is not accepted", header.alg),
        ));
    }
    let jwk = find(jwks, header.kid.as_deref(), header.alg).ok_or(Invalid::UnknownKey)?;
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|e| invalid(BadSignature, format!("upstream key unusable: {e}")))?;
    let mut validation = Validation::new(header.alg);
    // Only the signature here; each claim is checked below against Portico's clock.
    validation.set_required_spec_claims::<&str>(&[]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => invalid(
                BadSignature,
                "signature does not verify with the upstream's key",
            ),
            _ => invalid(Bad, format!("token rejected: {e}")),
        })?
        .claims;
    let iss = claims.get("iss").and_then(Value::as_str);
    if iss != Some(expect.issuer) {
        return Err(invalid(
            WrongIssuer,
            format!("iss is {iss:?}, not {:?}", expect.issuer),
        ));
    }
    let aud = audiences(&claims);
    let is_id_token = expect.nonce.is_some();
    if !aud.contains(&expect.client_id) && (is_id_token || claims.contains_key("aud")) {
        return Err(invalid(Bad, "aud does not name Portico's client_id"));
    }
    // Section 3.1.3.7 points 4 and 5: several audiences need an azp, which is us.
    let azp = claims.get("azp").and_then(Value::as_str);
    if (aud.len() > 1 && azp.is_none()) || azp.is_some_and(|a| a != expect.client_id) {
        return Err(invalid(Bad, "azp is not Portico's client_id"));
    }
    let time = |name: &str| claims.get(name).and_then(Value::as_i64);
    match time("exp") {
        Some(exp) if exp > expect.now - LEEWAY => {}
        None if !is_id_token => {}
        _ => return Err(invalid(Bad, "expired, or no exp")),
    }
    if is_id_token {
        match time("iat") {
            Some(iat) if iat <= expect.now + LEEWAY && iat > expect.now - MAX_AGE => {}
            _ => return Err(invalid(Bad, "iat missing, in the future or too old")),
        }
    }
    if let Some(nonce) = expect.nonce {
        let got = claims
            .get("nonce")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !crate::crypto::constant_time_eq(got.as_bytes(), nonce.as_bytes()) {
            return Err(invalid(WrongNonce, "nonce is not the one sent"));
        }
    }
    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() && sub.len() <= 255 => Ok(claims),
        _ => Err(invalid(Bad, "no sub")),
    }
}

/// A claim's value as an attribute's text: strings as they are, numbers and booleans
/// written out, objects (an `address`) and arrays (`nationalities`) as JSON text.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(_) | Value::Number(_) | Value::Object(_) | Value::Array(_) => {
            Some(value.to_string())
        }
    }
}

/// The mapped claims (`[sources.claims]`: Portico attribute = upstream claim), from
/// userinfo when it has the claim, else from the ID token. Each is verified because
/// the source is a configured authority for what it asserts; except `email` and
/// `phone_number`, verified only when the same answer says `<claim>_verified: true`
/// (OIDC Core 5.1), since providers commonly hold addresses they never checked.
pub fn attributes(
    mapping: &BTreeMap<String, String>,
    id_token: &Map<String, Value>,
    userinfo: Option<&Map<String, Value>>,
) -> Vec<Attribute> {
    let mut out = Vec::new();
    for (attribute, claim) in mapping {
        let from = userinfo
            .filter(|u| u.get(claim).and_then(text).is_some())
            .unwrap_or(id_token);
        let Some(value) = from.get(claim).and_then(text) else {
            continue;
        };
        let verified = match attribute.as_str() {
            "email" | "phone_number" => {
                from.get(&format!("{claim}_verified")) == Some(&Value::Bool(true))
            }
            _ => true,
        };
        out.push(Attribute {
            claim: attribute.clone(),
            value,
            verified,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn userinfo_wins_and_email_is_verified_only_when_the_upstream_says_so() {
        let mapping: BTreeMap<String, String> = [
            ("given_name", "given_name"),
            ("national_id", "cccd"),
            ("email", "email"),
            ("phone_number", "phone_number"),
            ("address", "address"),
        ]
        .iter()
        .map(|(a, c)| (a.to_string(), c.to_string()))
        .collect();
        let id = map(
            json!({"given_name": "Lan", "cccd": "079201000001", "email": "a@b.vn",
            "email_verified": true, "phone_number": "+84901234567"}),
        );
        let ui = map(
            json!({"given_name": "Thị Lan", "phone_number": "+84901234567",
            "phone_number_verified": false, "address": {"locality": "Huế"}}),
        );
        let got = attributes(&mapping, &id, Some(&ui));
        let find = |c: &str| got.iter().find(|a| a.claim == c).unwrap();
        assert_eq!(find("given_name").value, "Thị Lan");
        assert!(find("national_id").verified);
        assert_eq!(find("national_id").value, "079201000001");
        assert!(find("email").verified);
        assert!(!find("phone_number").verified);
        assert_eq!(find("address").value, r#"{"locality":"Huế"}"#);
    }
}
