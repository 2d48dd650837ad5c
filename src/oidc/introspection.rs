//! Token introspection (RFC 7662) for authenticated confidential clients. A client
//! learns about its own tokens, and a resource server about access tokens issued for a
//! resource it serves (RFC 7662 section 4); anything else, like anything not active,
//! answers only `{"active": false}`, so no portal can read another's tokens (or the
//! pairwise subjects in them).

use serde_json::{Value, json};

use super::error::OAuthError;
use super::revocation::AccessTokens;
use super::tokens::{AccessTokenClaims, Issuer};
use crate::crypto::sha256_b64url;
use crate::model::Client;
use crate::store::Store;

pub async fn introspect(
    tokens: &AccessTokens,
    issuer: &Issuer,
    store: &Store,
    caller: &Client,
    token: &str,
    hint: Option<&str>,
    now: i64,
) -> Result<Value, OAuthError> {
    let inactive = json!({"active": false});
    // The hint only orders the look-ups (RFC 7662 section 2.1).
    let refresh_first = hint == Some("refresh_token");
    if refresh_first {
        if let Some(v) = refresh(issuer, store, caller, token, now).await? {
            return Ok(v);
        }
    }
    match tokens.live(token, now).await {
        Ok(c) if !may_see(caller, &c) => return Ok(inactive),
        Ok(c) => {
            let mut v = json!({
                "active": true,
                "token_type": "Bearer",
                "scope": c.scope,
                "client_id": c.client_id,
                "sub": c.sub,
                "aud": c.aud,
                "iss": c.iss,
                "exp": c.exp,
                "iat": c.iat,
                "jti": c.jti,
            });
            if let Some(t) = c.auth_time {
                v["auth_time"] = json!(t);
            }
            if let Some(acr) = c.acr {
                v["acr"] = json!(acr);
            }
            return Ok(v);
        }
        Err(e) if e.code == super::ErrorCode::InvalidToken => {}
        Err(e) => return Err(e),
    }
    if !refresh_first {
        if let Some(v) = refresh(issuer, store, caller, token, now).await? {
            return Ok(v);
        }
    }
    Ok(inactive)
}

/// The token's own client, or a resource server of one of its audiences.
fn may_see(caller: &Client, claims: &AccessTokenClaims) -> bool {
    claims.client_id == caller.client_id.as_str()
        || caller.serves.iter().any(|r| claims.aud.contains(r))
}

async fn refresh(
    issuer: &Issuer,
    store: &Store,
    caller: &Client,
    token: &str,
    now: i64,
) -> Result<Option<Value>, OAuthError> {
    let Some(row) = store.refresh_tokens().get(&sha256_b64url(token)).await? else {
        return Ok(None);
    };
    // Refresh tokens are for their client's eyes only.
    if !row.is_live(now) || row.client_id != caller.client_id {
        return Ok(Some(json!({"active": false})));
    }
    let Some(client) = store.clients().get(row.client_id.as_str()).await? else {
        return Ok(Some(json!({"active": false})));
    };
    let sub = issuer.subject_for(&client, &row.account_id);
    Ok(Some(json!({
        "active": true,
        "scope": row.scope,
        "client_id": row.client_id,
        "sub": sub,
        "iss": issuer.url(),
        "exp": row.expires_at,
        "iat": row.created_at,
    })))
}
