//! The return from another origin: an upstream provider or the certificate listener
//! sends the browser back to `/login/{source_id}/callback` with the attempt's handle.

use super::{At, LoginError, LoginServices, Outcome, SignedInAs, attempts, context, throttle};
use crate::sources::Input;

/// `/login/{source_id}/callback`: another origin sends the browser back with the
/// attempt's handle (`state` from an upstream provider, or `handoff`).
pub async fn callback(
    services: &LoginServices<'_>,
    source_id: &str,
    params: &[(String, String)],
    browser_binding: &str,
    signed_in: SignedInAs<'_>,
    now: i64,
) -> Result<Outcome, LoginError> {
    let handle = params
        .iter()
        .find(|(k, _)| k == "state" || k == "handoff")
        .map(|(_, v)| v.as_str())
        .ok_or(LoginError::AttemptGone)?;
    let attempt = match attempts::take(services.store(), services.secrets, handle, now).await? {
        attempts::Found::Attempt(a) => a,
        _ => return Err(LoginError::AttemptGone),
    };
    let source = services
        .sources
        .get(source_id)
        .ok_or(LoginError::NotOffered)?;
    let return_to = attempt.return_to.clone();
    let (client_name, req) = context(services, &return_to, browser_binding, now).await?;
    let at = At {
        services,
        source,
        return_to: &return_to,
        browser_binding,
        requirements: &req,
        now,
    };
    at.check(&attempt).await?;
    // Counted like a form's answer: a blocked address runs nothing, a forged or refused
    // answer is charged to it and audited. No account is known before the source answers.
    let trier = throttle::Trier {
        source_id: source.id(),
        username: None,
        address: signed_in.address,
    };
    let context = crate::sources::StepContext {
        client_address: signed_in.address,
    };
    let run = source.advance(
        &services.source,
        context,
        attempt.sealed.state,
        Input::Returned(params),
    );
    let advance = match throttle::guarded(services, &trier, now, run).await? {
        Ok(a) => a,
        Err(b) => {
            return throttle::try_later(services, &return_to, client_name, &req, b, &[]).await;
        }
    };
    at.after(advance, signed_in, client_name, &req).await
}
