//! Revocation: of whole grants (code replay, refresh token reuse) and of single tokens
//! (RFC 7009).

use super::error::OAuthError;
use super::tokens::AccessTokenClaims;
use crate::crypto::sha256_b64url;
use crate::ids::GrantId;
use crate::provider::Provider;
use crate::store::{Client, DenyKeys, grant_key, jti_key};

/// Revokes every refresh token of the grant and, through the deny list, every access
/// token issued from it (each lives at most `access_token_ttl` from now).
pub async fn revoke_grant(
    provider: &Provider,
    grant: &GrantId,
    now: i64,
) -> Result<(), OAuthError> {
    let ttl = provider.config.tokens.access_token_ttl.as_secs() as i64;
    provider
        .deny_list
        .revoke(&provider.store, &grant_key(grant.as_str()), now + ttl + 60)
        .await?;
    provider
        .store
        .refresh_tokens()
        .revoke_family(grant, now)
        .await?;
    Ok(())
}

/// Verifies an access token of ours (signature, `typ`, issuer, expiry) and that it is
/// not on the deny list.
pub async fn live_access_token(
    provider: &Provider,
    token: &str,
    now: i64,
) -> Result<AccessTokenClaims, OAuthError> {
    let claims = verified_access_token(provider, token, now).await?;
    let keys = deny_keys(&claims);
    // This node's mirror when it is fresh enough to answer; else the database.
    let revoked = match provider.deny_list.check(&keys) {
        Some(revoked) => revoked,
        None => provider.store.revocations().any_revoked(&keys).await?,
    };
    if revoked {
        return Err(revoked_error());
    }
    Ok(claims)
}

/// The answer for an access token on the deny list.
pub fn revoked_error() -> OAuthError {
    OAuthError::invalid_token("the access token was revoked")
}

/// The deny-list keys that would revoke this access token.
pub fn deny_keys(claims: &AccessTokenClaims) -> DenyKeys<'_> {
    DenyKeys {
        jti: &claims.jti,
        grant: claims.grant_id.as_deref(),
        sid: claims.sid.as_deref(),
    }
}

/// Verifies an access token of ours (signature, `typ`, issuer, expiry), from the
/// per-node cache of verified tokens when it is there; the deny list is the caller's.
pub async fn verified_access_token(
    provider: &Provider,
    token: &str,
    now: i64,
) -> Result<AccessTokenClaims, OAuthError> {
    let cached = provider
        .verified_tokens
        .lock()
        .expect("token cache lock")
        .get(token)
        .filter(|c| c.exp > now)
        .cloned();
    if let Some(claims) = cached {
        return Ok(claims);
    }
    let claims: AccessTokenClaims = provider
        .verify_own(token, "at+jwt", Some(now))
        .await
        .map_err(|e| {
            OAuthError::invalid_token("the access token is invalid or expired")
                .with_detail(e.to_string())
        })?;
    let mut cache = provider.verified_tokens.lock().expect("token cache lock");
    // Bounded: cleared whole when full, the simplest eviction that cannot grow.
    if cache.len() >= 4_096 {
        cache.clear();
    }
    cache.insert(token.to_owned(), claims.clone());
    Ok(claims)
}

/// RFC 7009: revoke a refresh token (its whole grant, access tokens included) or an
/// access token. An unknown, invalid or expired token is not an error.
pub async fn revoke_token(
    provider: &Provider,
    caller: &Client,
    token: &str,
    now: i64,
) -> Result<(), OAuthError> {
    let not_yours = || OAuthError::invalid_request("the token was not issued to this client");
    if let Some(refresh) = provider
        .store
        .refresh_tokens()
        .get(&sha256_b64url(token))
        .await?
    {
        if refresh.client_id != caller.client_id {
            return Err(not_yours());
        }
        revoke_grant(provider, &refresh.family_id, now).await?;
        audit(
            provider,
            now,
            "refresh_token_revoked",
            &refresh.account_id.to_string(),
            caller,
        )
        .await;
        return Ok(());
    }
    // An access token: expired ones need nothing; forged ones are ignored.
    if let Ok(claims) = provider
        .verify_own::<AccessTokenClaims>(token, "at+jwt", Some(now))
        .await
    {
        if claims.client_id != caller.client_id.as_str() {
            return Err(not_yours());
        }
        provider
            .deny_list
            .revoke(&provider.store, &jti_key(&claims.jti), claims.exp)
            .await?;
    }
    Ok(())
}

async fn audit(provider: &Provider, now: i64, event: &str, account: &str, client: &Client) {
    if let Err(e) = provider
        .store
        .audit()
        .record(
            now,
            event,
            Some(account),
            Some(client.client_id.as_str()),
            "",
        )
        .await
    {
        tracing::error!(error = %e, event, "audit record failed");
    }
}
