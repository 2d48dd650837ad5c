//! People, their sessions and consents. This module alone turns a verified identity
//! into an account and a session.

pub mod consent;

use crate::ids::{AccountId, SessionId};
use crate::provider::Provider;
use crate::secret::Secret;
use crate::sources::VerifiedIdentity;
use crate::store::{Session, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("no account is linked to this {source_id} login")]
    NotLinked { source_id: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `acr` for a level of assurance.
pub fn acr_for(loa: u8) -> String {
    format!("urn:portico:loa:{loa}")
}

/// The level of assurance in an `acr` value we issued, if it is one.
pub fn loa_of(acr: &str) -> Option<u8> {
    acr.strip_prefix("urn:portico:loa:")
        .and_then(|n| n.parse().ok())
        .filter(|n| (1..=4).contains(n))
}

/// The account a verified login belongs to.
pub async fn resolve_account(
    provider: &Provider,
    verified: &VerifiedIdentity,
    now: i64,
) -> Result<AccountId, IdentityError> {
    provider
        .store
        .accounts()
        .find_by_identity(&verified.source_id, &verified.subject, now)
        .await?
        .ok_or_else(|| IdentityError::NotLinked {
            source_id: verified.source_id.clone(),
        })
}

/// What a login did to the browser's SSO session.
pub struct SignedIn {
    pub session: Session,
    /// The new cookie token: a fresh one at every login (no fixation).
    pub token: Secret,
    /// The browser's previous session, when it belonged to someone else: the caller
    /// ends it with the same logout notices as any other logout.
    pub displaced: Option<Session>,
}

/// Signs a verified login in. The same person re-authenticating (`prompt=login`,
/// `max_age`, a step-up) keeps the session, and with it the `sid` each portal holds,
/// with a new cookie token and the new `auth_time`/`acr`/`amr`; anyone else gets a new
/// session, and the browser's previous one is handed back to be ended.
pub async fn sign_in(
    provider: &Provider,
    verified: &VerifiedIdentity,
    current: Option<&Session>,
    user_agent: Option<&str>,
    now: i64,
) -> Result<SignedIn, IdentityError> {
    let account_id = resolve_account(provider, verified, now).await?;
    let token = crate::random::token();
    let token_hash = crate::crypto::sha256_b64url(token.expose());
    let expires_at = now + provider.config.session.lifetime.as_secs() as i64;
    let acr = acr_for(verified.loa);
    if let Some(c) = current.filter(|c| c.account_id == account_id) {
        let renewed = provider
            .store
            .sessions()
            .reauthenticate(
                &c.id,
                &token_hash,
                &verified.source_id,
                &acr,
                &verified.amr,
                now,
                expires_at,
            )
            .await?;
        if let Some(session) = renewed {
            return Ok(SignedIn {
                session,
                token,
                displaced: None,
            });
        }
    }
    let session = Session {
        id: SessionId::generate(),
        account_id,
        source_id: verified.source_id.clone(),
        auth_time: now,
        acr,
        amr: verified.amr.clone(),
        created_at: now,
        last_seen_at: now,
        expires_at,
    };
    let user_agent = user_agent.map(|ua| &ua[..ua.len().min(256)]);
    provider
        .store
        .sessions()
        .insert(&session, &token_hash, user_agent)
        .await?;
    Ok(SignedIn {
        session,
        token,
        displaced: current.cloned(),
    })
}

/// The live session behind a session cookie, if any.
pub async fn current_session(
    provider: &Provider,
    cookie_token: Option<&str>,
    now: i64,
) -> Result<Option<Session>, StoreError> {
    let Some(token) = cookie_token.filter(|t| !t.is_empty() && t.len() <= 128) else {
        return Ok(None);
    };
    provider
        .store
        .sessions()
        .touch_live(
            &crate::crypto::sha256_b64url(token),
            now,
            provider.config.session.idle_timeout.as_secs() as i64,
        )
        .await
}
