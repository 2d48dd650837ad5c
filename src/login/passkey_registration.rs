//! A passkey registration's state between `/account`'s two requests: sealed in
//! `login_attempts` like a login attempt's (bound to the browser, for the account page),
//! under a one-time handle, and taken once.

use super::ReturnTo;
use super::attempts::{self, Found, Sealed};
use crate::crypto::MasterKey;
use crate::sources::{AttemptState, Step, webauthn::RegistrationState};
use crate::store::{Store, StoreError};

/// Keeps the state; answers the handle the page posts back.
#[allow(clippy::too_many_arguments)]
pub async fn keep(
    store: &Store,
    secrets: &MasterKey,
    source_id: &str,
    browser_binding: &str,
    state: RegistrationState,
    options: serde_json::Value,
    now: i64,
    expires_at: i64,
) -> Result<String, StoreError> {
    let handle = crate::random::token();
    let sealed = Sealed {
        state: AttemptState::WebauthnRegistration(Box::new(state)),
        step: Step::WebAuthn { options },
    };
    attempts::store(
        store,
        secrets,
        handle.expose(),
        source_id,
        &ReturnTo::Account,
        browser_binding,
        &sealed,
        now,
        expires_at,
    )
    .await?;
    Ok(handle.expose().to_owned())
}

/// Takes the state once: `None` when the handle is unknown, used, expired, of another
/// browser or not a registration.
pub async fn take(
    store: &Store,
    secrets: &MasterKey,
    handle: &str,
    browser_binding: &str,
    now: i64,
) -> Result<Option<RegistrationState>, StoreError> {
    let Found::Attempt(attempt) = attempts::take(store, secrets, handle, now).await? else {
        return Ok(None);
    };
    let same_browser = crate::crypto::constant_time_eq(
        attempt.browser_binding.as_bytes(),
        browser_binding.as_bytes(),
    );
    match attempt.sealed.state {
        AttemptState::WebauthnRegistration(state)
            if same_browser && attempt.return_to == ReturnTo::Account =>
        {
            Ok(Some(*state))
        }
        _ => Ok(None),
    }
}
