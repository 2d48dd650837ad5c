//! Beginning an attempt at a source and answering its forms (`GET`/`POST
//! /login/{source_id}`, `POST /login`), under the brute-force counters.

use super::{
    At, LoginError, LoginServices, MAX_TRIES, Notice, Outcome, ReturnTo, SignedInAs, attempts,
    callback_url, context, offered, refused, throttle,
};
use crate::sources::{Advance, BeginContext, Input, Refusal, Step, StepContext};

/// `GET /login/{source_id}`: begins an attempt at the source.
pub async fn start(
    services: &LoginServices<'_>,
    source_id: &str,
    return_to: &ReturnTo,
    browser_binding: &str,
    now: i64,
) -> Result<Outcome, LoginError> {
    let (client_name, req) = context(services, return_to, browser_binding, now).await?;
    let source = offered(services, return_to, &req, source_id)?;
    let handle = crate::random::token();
    let callback = callback_url(services, source_id);
    let begun = source
        .begin(&BeginContext {
            handle: handle.expose(),
            callback_url: &callback,
            login_hint: req.login_hint.as_deref(),
            conditional: false,
        })
        .await;
    match begun {
        Ok(b) => {
            let at = At {
                services,
                source,
                return_to,
                browser_binding,
                requirements: &req,
                now,
            };
            at.present(handle.expose(), b.step, b.state).await
        }
        Err(refusal) => refused(services, return_to, client_name, &req, refusal, &[]).await,
    }
}

/// `POST /login/{source_id}` (and `POST /login`): a source's form was submitted, with
/// the attempt's handle unless it is the login page's own form.
#[allow(clippy::too_many_arguments)]
pub async fn submit(
    services: &LoginServices<'_>,
    source_id: &str,
    return_to: &ReturnTo,
    browser_binding: &str,
    attempt: Option<&str>,
    fields: &[(String, String)],
    signed_in: SignedInAs<'_>,
    now: i64,
) -> Result<Outcome, LoginError> {
    let (client_name, req) = context(services, return_to, browser_binding, now).await?;
    let source = offered(services, return_to, &req, source_id)?;
    let at = At {
        services,
        source,
        return_to,
        browser_binding,
        requirements: &req,
        now,
    };
    let Some(handle) = attempt else {
        // The login page's own form: its source keeps no state, so begin afresh.
        let callback = callback_url(services, source_id);
        let begun = source
            .begin(&BeginContext {
                handle: "",
                callback_url: &callback,
                login_hint: None,
                conditional: false,
            })
            .await
            .map_err(|_| LoginError::AttemptGone)?;
        if !begun.state.is_stateless() {
            return Err(LoginError::AttemptGone);
        }
        let trier = throttle::Trier::new(source_id, fields, signed_in.address);
        let context = StepContext {
            client_address: signed_in.address,
        };
        let run = source.advance(&services.source, context, begun.state, Input::Form(fields));
        let advance = match throttle::guarded(services, &trier, now, run).await? {
            Ok(a) => a,
            Err(b) => {
                return throttle::try_later(services, return_to, client_name, &req, b, fields)
                    .await;
            }
        };
        return match advance {
            Advance::Refused(refusal) => {
                refused(services, return_to, client_name, &req, refusal, fields).await
            }
            Advance::Verified(v) => at.sign_in(v, signed_in, client_name, &req).await,
            next @ (Advance::Continue { .. } | Advance::Restart { .. }) => {
                at.after(next, signed_in, client_name, &req).await
            }
        };
    };
    let trier = throttle::Trier::new(source_id, fields, signed_in.address);
    let source_id = source_id.to_owned();
    let attempt = match attempts::count_try(services.store(), services.secrets, handle, now).await?
    {
        attempts::Found::Attempt(a) => a,
        found @ (attempts::Found::TooManyTries | attempts::Found::Expired) => {
            let refusal = match found {
                attempts::Found::Expired => Refusal::Expired { source_id },
                _ => Refusal::TooManyAttempts { source_id },
            };
            throttle::audit_failure(services.store(), &trier, &throttle::reason(&refusal), now)
                .await;
            return refused(services, return_to, client_name, &req, refusal, &[]).await;
        }
        attempts::Found::Missing => return Err(LoginError::AttemptGone),
    };
    at.check(&attempt).await?;
    let credential = super::webauthn_step::credential(&attempt.sealed.step, fields);
    let input = super::webauthn_step::input(credential.as_ref(), fields);
    let state = attempt.sealed.state.clone();
    let context = StepContext {
        client_address: signed_in.address,
    };
    let run = source.advance(&services.source, context, state, input);
    let advance = match throttle::guarded(services, &trier, now, run).await? {
        Ok(a) => a,
        Err(b) => {
            return throttle::try_later(services, return_to, client_name, &req, b, &[]).await;
        }
    };
    match advance {
        Advance::Refused(refusal) if credential.is_some() => {
            attempts::delete(services.store(), &attempt.handle_hash).await?;
            refused(services, return_to, client_name, &req, refusal, &[]).await
        }
        Advance::Refused(refusal @ Refusal::Rejected { .. })
            if matches!(attempt.sealed.step, Step::Form(_)) && attempt.tries < MAX_TRIES =>
        {
            // Try the same step again; the try was counted.
            let Step::Form(form) = attempt.sealed.step else {
                unreachable!("matched above")
            };
            Ok(Outcome::Step(at.view(
                form,
                Some(handle.to_owned()),
                Some(Notice::Refused(refusal)),
            )))
        }
        Advance::Refused(Refusal::Rejected { source_id, .. }) => {
            attempts::delete(services.store(), &attempt.handle_hash).await?;
            let refusal = Refusal::TooManyAttempts { source_id };
            refused(services, return_to, client_name, &req, refusal, &[]).await
        }
        other => {
            // Finished, failed or moved on: this handle is done (taken once).
            if !attempts::delete(services.store(), &attempt.handle_hash).await? {
                return Err(LoginError::AttemptGone);
            }
            at.after(other, signed_in, client_name, &req).await
        }
    }
}
