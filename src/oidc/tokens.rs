//! Minting ID tokens (OIDC Core section 2) and access tokens (RFC 9068 JWT profile).
//! Access tokens are signed and returned, never stored.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::error::OAuthError;
use crate::crypto::SigningAlg;
use crate::provider::Provider;
use crate::store::{Account, AuthorizationCode, Client};

/// RFC 9068 section 2.2 claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    pub sid: String,
}

#[derive(Debug, Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    acr: &'a str,
    amr: &'a [String],
    sid: &'a str,
    at_hash: String,
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

/// The `sub` a client sees for an account.
pub fn subject_for(_client: &Client, account: &Account) -> String {
    account.id.to_string()
}

/// OIDC Core section 3.1.3.6: base64url of the left half of the hash of the access
/// token, with the hash of the ID token's algorithm (SHA-256 for ES256 and RS256).
pub fn at_hash(access_token: &str, alg: SigningAlg) -> String {
    match alg {
        SigningAlg::ES256 | SigningAlg::RS256 => {
            let d = digest(&SHA256, access_token.as_bytes());
            URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
        }
    }
}

/// The token response of a code exchange: an access token and an ID token.
pub fn for_code(
    provider: &Provider,
    client: &Client,
    account: &Account,
    code: &AuthorizationCode,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let keys = provider.keys();
    let issuer = provider.issuer();
    let sub = subject_for(client, account);
    let ttl = provider.config.tokens.access_token_ttl.as_secs() as i64;
    let at_claims = AccessTokenClaims {
        iss: issuer.to_owned(),
        sub: sub.clone(),
        aud: issuer.to_owned(),
        exp: now + ttl,
        iat: now,
        jti: crate::ids::new_uuid(),
        client_id: client.client_id.to_string(),
        scope: code.scope.clone(),
        auth_time: code.auth_time,
        acr: code.acr.clone(),
        amr: code.amr.clone(),
        sid: code.session_id.to_string(),
    };
    let access_token = keys.sign(SigningAlg::ES256, "at+jwt", &at_claims)?;
    let id_claims = IdTokenClaims {
        iss: issuer,
        sub: &sub,
        aud: client.client_id.as_str(),
        exp: now + provider.config.tokens.id_token_ttl.as_secs() as i64,
        iat: now,
        auth_time: code.auth_time,
        nonce: code.nonce.as_deref(),
        acr: &code.acr,
        amr: &code.amr,
        sid: code.session_id.as_str(),
        at_hash: at_hash(&access_token, client.id_token_alg),
    };
    let id_token = keys.sign(client.id_token_alg, "JWT", &id_claims)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        id_token: Some(id_token),
        scope: code.scope.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_oidc_core_example() {
        // OIDC Core appendix A.3: the at_hash of this access token (RS256).
        assert_eq!(
            at_hash(
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
                SigningAlg::RS256
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
