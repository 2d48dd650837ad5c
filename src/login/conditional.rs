//! A passkey offered in the login page's autofill (WebAuthn conditional mediation):
//! `POST /login/{source_id}/conditional`, which the page's script sends only when the
//! browser can show passkeys in the username field's suggestions, so a view of the
//! login page (a hot path) writes nothing. The attempt it begins is the button's
//! attempt in every way but the mediation: sealed in `login_attempts` under a fresh
//! handle, bound to the browser, good once, and answered by the same `POST
//! /login/{source_id}` under the same counters.

use super::{
    At, LoginError, LoginServices, Outcome, ReturnTo, StepView, callback_url, context, offered,
};
use crate::sources::{BeginContext, Source};

/// Begins a conditional passkey attempt at `source_id` for the request: the step's view
/// (the options, with `mediation: "conditional"`, and the attempt's handle). A source
/// that is not a passkey, or cannot meet the request (its level too low), is not
/// offered; a request that is gone or another browser's is refused as at any step.
pub async fn start_conditional(
    services: &LoginServices<'_>,
    source_id: &str,
    return_to: &ReturnTo,
    browser_binding: &str,
    now: i64,
) -> Result<StepView, LoginError> {
    let (_, req) = context(services, return_to, browser_binding, now).await?;
    let source = offered(services, return_to, &req, source_id)?;
    if !matches!(source, Source::Webauthn(_)) {
        return Err(LoginError::NotOffered);
    }
    let handle = crate::random::token();
    let callback = callback_url(services, source_id);
    let begun = source
        .begin(&BeginContext {
            handle: handle.expose(),
            callback_url: &callback,
            login_hint: req.login_hint.as_deref(),
            conditional: true,
        })
        .await
        .map_err(|refusal| LoginError::SourceUnavailable {
            source_id: source_id.to_owned(),
            detail: refusal.to_string(),
        })?;
    let at = At {
        services,
        source,
        return_to,
        browser_binding,
        requirements: &req,
        now,
    };
    match at.present(handle.expose(), begun.step, begun.state).await? {
        Outcome::Step(view) if view.webauthn.is_some() => Ok(view),
        // A passkey source always answers a WebAuthn step.
        _ => Err(LoginError::NotOffered),
    }
}
