//! Token introspection (RFC 7662) for authenticated confidential clients (resource
//! servers). Anything not active answers only `{"active": false}`.

use serde_json::{Value, json};

use super::error::OAuthError;
use super::revocation::live_access_token;
use crate::crypto::sha256_b64url;
use crate::provider::Provider;

pub async fn introspect(
    provider: &Provider,
    token: &str,
    hint: Option<&str>,
    now: i64,
) -> Result<Value, OAuthError> {
    let inactive = json!({"active": false});
    // The hint only orders the look-ups (RFC 7662 section 2.1).
    let refresh_first = hint == Some("refresh_token");
    if refresh_first {
        if let Some(v) = refresh(provider, token, now).await? {
            return Ok(v);
        }
    }
    match live_access_token(provider, token, now).await {
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
        if let Some(v) = refresh(provider, token, now).await? {
            return Ok(v);
        }
    }
    Ok(inactive)
}

async fn refresh(provider: &Provider, token: &str, now: i64) -> Result<Option<Value>, OAuthError> {
    let Some(row) = provider
        .store
        .refresh_tokens()
        .get(&sha256_b64url(token))
        .await?
    else {
        return Ok(None);
    };
    if !row.is_live(now) {
        return Ok(Some(json!({"active": false})));
    }
    let Some(client) = provider.store.clients().get(row.client_id.as_str()).await? else {
        return Ok(Some(json!({"active": false})));
    };
    let sub = super::subject::subject_for(provider, &client, &row.account_id).await?;
    Ok(Some(json!({
        "active": true,
        "token_type": "refresh_token",
        "scope": row.scope,
        "client_id": row.client_id,
        "sub": sub,
        "iss": provider.issuer(),
        "exp": row.expires_at,
        "iat": row.created_at,
    })))
}
