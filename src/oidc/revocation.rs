//! Our access tokens after they are issued: checked (signature, expiry, the deny list)
//! and revoked, whole grants (code replay, refresh token reuse) or single tokens
//! (RFC 7009). One service, built once: the keys, this node's deny-list mirror and its
//! cache of verified tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::deny_list::DenyList;
use super::error::OAuthError;
use super::keys::Keys;
use super::tokens::AccessTokenClaims;
use crate::crypto::sha256_b64url;
use crate::ids::{AccountId, GrantId};
use crate::model::Client;
use crate::store::{DenyKeys, Store, grant_key, jti_key};

/// Entries of the verified-token cache before it is cleared whole: the simplest
/// eviction that cannot grow.
const VERIFIED_CACHE_MAX: usize = 4_096;

pub struct AccessTokens {
    keys: Arc<Keys>,
    store: Store,
    deny_list: DenyList,
    /// Access tokens whose signature this node verified, with their claims: a resource
    /// server introspects the same token at every call. Expiry and revocation are still
    /// checked at each use.
    verified: Mutex<HashMap<String, AccessTokenClaims>>,
    /// How long an access token lives: a deny entry for a grant or session lasts that.
    access_ttl: i64,
}

impl AccessTokens {
    pub fn new(keys: Arc<Keys>, store: Store, access_ttl: i64) -> AccessTokens {
        AccessTokens {
            keys,
            store,
            deny_list: DenyList::default(),
            verified: Mutex::default(),
            access_ttl,
        }
    }

    /// The issuer our access tokens name.
    pub fn issuer(&self) -> &str {
        self.keys.issuer()
    }

    /// This node's deny-list mirror (kept in sync by the composition root's task).
    pub fn deny_list(&self) -> &DenyList {
        &self.deny_list
    }

    /// When a deny entry made now for a grant or a session can go: every access token
    /// it covers has expired by then (a minute of margin for clock skew).
    pub fn deny_until(&self, now: i64) -> i64 {
        now + self.access_ttl + 60
    }

    /// Revokes every refresh token of the grant and, through the deny list, every
    /// access token issued from it.
    pub async fn revoke_grant(&self, grant: &GrantId, now: i64) -> Result<(), OAuthError> {
        self.deny_list
            .revoke(
                &self.store,
                &grant_key(grant.as_str()),
                self.deny_until(now),
            )
            .await?;
        self.store
            .refresh_tokens()
            .revoke_family(grant, now)
            .await?;
        Ok(())
    }

    /// A person withdraws their consent to a portal (`/account`): every grant of theirs
    /// at it is revoked (refresh token families, and through the deny list every access
    /// token issued from them or from a code still stored), its unused codes are spent,
    /// and then the consent is deleted, so the next authorization asks again; last, so
    /// that a failure half-way leaves the portal listed to withdraw again. No
    /// back-channel logout is sent: the person's session goes on, as after an RFC 7009
    /// revocation, and the portal learns it from `invalid_grant` and `active: false`.
    /// Audited as `consent_withdrawn`. Answers whether there was a consent.
    pub async fn withdraw_consent(
        &self,
        account: &AccountId,
        client: &Client,
        now: i64,
    ) -> Result<bool, OAuthError> {
        let id = &client.client_id;
        let mut grants = self.store.codes().spend_for(account, id, now).await?;
        grants.extend(
            self.store
                .refresh_tokens()
                .families_for(account, id, now)
                .await?,
        );
        grants.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        grants.dedup();
        for grant in &grants {
            self.revoke_grant(grant, now).await?;
        }
        let withdrawn = self.store.consents().withdraw(account, id).await? > 0;
        self.store
            .audit()
            .record(
                now,
                "consent_withdrawn",
                Some(account.as_str()),
                Some(id.as_str()),
                &format!("grants revoked: {}", grants.len()),
            )
            .await?;
        Ok(withdrawn || !grants.is_empty())
    }

    /// Verifies an access token of ours (signature, `typ`, issuer, expiry) and that it
    /// is not on the deny list.
    pub async fn live(&self, token: &str, now: i64) -> Result<AccessTokenClaims, OAuthError> {
        let claims = self.verified(token, now).await?;
        let keys = deny_keys(&claims);
        // This node's mirror when it is fresh enough to answer; else the database.
        let revoked = match self.deny_list.check(&keys) {
            Some(revoked) => revoked,
            None => self.store.revocations().any_revoked(&keys).await?,
        };
        if revoked {
            return Err(revoked_error());
        }
        Ok(claims)
    }

    /// Verifies an access token of ours (signature, `typ`, issuer, expiry), from the
    /// per-node cache of verified tokens when it is there; the deny list is the caller's.
    pub async fn verified(&self, token: &str, now: i64) -> Result<AccessTokenClaims, OAuthError> {
        let cached = self
            .verified
            .lock()
            .expect("token cache lock")
            .get(token)
            .filter(|c| c.exp > now)
            .cloned();
        if let Some(claims) = cached {
            return Ok(claims);
        }
        let claims: AccessTokenClaims = self
            .keys
            .verify_own(token, "at+jwt", Some(now), now)
            .await
            .map_err(|e| {
                OAuthError::invalid_token("the access token is invalid or expired")
                    .with_detail(e.to_string())
            })?;
        let mut cache = self.verified.lock().expect("token cache lock");
        if cache.len() >= VERIFIED_CACHE_MAX {
            cache.clear();
        }
        cache.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    /// RFC 7009: revoke a refresh token (its whole grant, access tokens included) or an
    /// access token. An unknown, invalid or expired token is not an error.
    pub async fn revoke_token(
        &self,
        caller: &Client,
        token: &str,
        now: i64,
    ) -> Result<(), OAuthError> {
        let not_yours = || OAuthError::invalid_request("the token was not issued to this client");
        if let Some(refresh) = self
            .store
            .refresh_tokens()
            .get(&sha256_b64url(token))
            .await?
        {
            if refresh.client_id != caller.client_id {
                return Err(not_yours());
            }
            self.revoke_grant(&refresh.family_id, now).await?;
            self.audit(
                now,
                "refresh_token_revoked",
                &refresh.account_id.to_string(),
                caller,
            )
            .await;
            return Ok(());
        }
        // An access token: expired ones need nothing; forged ones are ignored.
        if let Ok(claims) = self
            .keys
            .verify_own::<AccessTokenClaims>(token, "at+jwt", Some(now), now)
            .await
        {
            if claims.client_id != caller.client_id.as_str() {
                return Err(not_yours());
            }
            self.deny_list
                .revoke(&self.store, &jti_key(&claims.jti), claims.exp)
                .await?;
        }
        Ok(())
    }

    async fn audit(&self, now: i64, event: &str, account: &str, client: &Client) {
        if let Err(e) = self
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
