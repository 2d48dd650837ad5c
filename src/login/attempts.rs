//! Attempts in progress, in the database so that any node finishes what another began:
//! found by a one-time handle (only its hash is stored), the source's state sealed
//! with AES-256-GCM bound to that hash, tries capped in SQL, taken once, deleted on any
//! failure.

use serde::{Deserialize, Serialize};

use super::ReturnTo;
use crate::crypto::{MasterKey, sha256_b64url};
use crate::sources::{AttemptState, Step};
use crate::store::{LoginAttempt, Store, StoreError, Tried};

/// Tries at one step (a code typed wrong, say) before the attempt is over.
pub const MAX_TRIES: i64 = 5;

/// What is sealed in a row: the source's state and the step the browser is at (shown
/// again when a try at it fails).
#[derive(Debug, Serialize, Deserialize)]
pub struct Sealed {
    pub state: AttemptState,
    pub step: Step,
}

/// An attempt read back from the database.
#[derive(Debug)]
pub struct Attempt {
    pub handle_hash: String,
    pub source_id: String,
    pub return_to: ReturnTo,
    pub browser_binding: String,
    pub sealed: Sealed,
    pub tries: i64,
}

/// What a handle finds.
#[derive(Debug)]
pub enum Found {
    Attempt(Box<Attempt>),
    TooManyTries,
    Expired,
    /// Unknown, finished, or replayed.
    Missing,
}

/// The associated data an attempt's state is sealed with (`master_keys` checks which
/// master key sealed live attempts before it drops one).
pub fn context(handle_hash: &str) -> String {
    format!("login_attempt:{handle_hash}")
}

pub fn hash(handle: &str) -> String {
    sha256_b64url(handle)
}

#[allow(clippy::too_many_arguments)]
pub async fn store(
    store: &Store,
    secrets: &MasterKey,
    handle: &str,
    source_id: &str,
    return_to: &ReturnTo,
    browser_binding: &str,
    sealed: &Sealed,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    let handle_hash = hash(handle);
    let plain = serde_json::to_vec(sealed).expect("attempt state serialises");
    store
        .login_attempts()
        .insert(
            &LoginAttempt {
                sealed_state: secrets.seal(&context(&handle_hash), &plain),
                handle_hash,
                source_id: source_id.to_owned(),
                return_to: serde_json::to_string(return_to).expect("serialises"),
                browser_binding: browser_binding.to_owned(),
                attempts: 0,
                expires_at,
            },
            now,
        )
        .await
}

/// `None` when no master key this node holds opens the state: sealed by a node that
/// took a newer key file, during a roll-out (or after an old key was dropped with
/// `--force`). The person is told the attempt is over and starts again, as for an
/// unknown handle, rather than meeting a server error.
fn open(secrets: &MasterKey, row: LoginAttempt) -> Result<Option<Attempt>, StoreError> {
    let Ok(plain) = secrets.open(&context(&row.handle_hash), &row.sealed_state) else {
        tracing::warn!(
            source = %row.source_id,
            "a login attempt is sealed under a master key this node does not hold \
             (is a master-key roll-out under way?); it is treated as ended"
        );
        return Ok(None);
    };
    let sealed: Sealed = serde_json::from_slice(&plain)
        .map_err(|e| StoreError::Corrupt(format!("a login attempt's state: {e}")))?;
    let return_to: ReturnTo = serde_json::from_str(&row.return_to)
        .map_err(|e| StoreError::Corrupt(format!("a login attempt's return: {e}")))?;
    Ok(Some(Attempt {
        handle_hash: row.handle_hash,
        source_id: row.source_id,
        return_to,
        browser_binding: row.browser_binding,
        sealed,
        tries: row.attempts,
    }))
}

/// Takes the attempt out once (a hand-off token or upstream `state` coming back).
pub async fn take(
    store: &Store,
    secrets: &MasterKey,
    handle: &str,
    now: i64,
) -> Result<Found, StoreError> {
    Ok(
        match store.login_attempts().take(&hash(handle), now).await? {
            Some(row) => {
                open(secrets, row)?.map_or(Found::Missing, |a| Found::Attempt(Box::new(a)))
            }
            None => Found::Missing,
        },
    )
}

/// Counts a try at the attempt's current step (a form posted back), within the cap.
pub async fn count_try(
    store: &Store,
    secrets: &MasterKey,
    handle: &str,
    now: i64,
) -> Result<Found, StoreError> {
    Ok(
        match store
            .login_attempts()
            .count_try(&hash(handle), MAX_TRIES, now)
            .await?
        {
            Tried::Counted(row) => {
                open(secrets, row)?.map_or(Found::Missing, |a| Found::Attempt(Box::new(a)))
            }
            Tried::Exhausted => Found::TooManyTries,
            Tried::Expired => Found::Expired,
            Tried::Missing => Found::Missing,
        },
    )
}

/// Ends an attempt (finished or failed).
pub async fn delete(store: &Store, handle_hash: &str) -> Result<bool, StoreError> {
    Ok(store.login_attempts().delete(handle_hash).await?.is_some())
}
