//! A step answered at another origin that Portico itself serves (the certificate
//! listener), where the browser's `__Host-` cookies do not come: the one-time hand-off
//! token alone finds the attempt. The source's next state is sealed under a new handle,
//! bound to the same browser as before, and the browser is sent back with that handle
//! as `handoff`; the main origin's callback then checks the browser as for any return.

use super::{LoginError, LoginServices, attempts};
use crate::sources::{Advance, Input, Refusal, Step, StepContext};

/// Answers the URL to send the browser to (the source's redirect, with `handoff` set).
pub async fn hand_off(
    services: &LoginServices<'_>,
    source_id: &str,
    handle: &str,
    context: StepContext,
    input: Input<'_>,
    now: i64,
) -> Result<String, LoginError> {
    let attempt = match attempts::take(services.store(), services.secrets, handle, now).await? {
        attempts::Found::Attempt(a) => a,
        _ => return Err(LoginError::AttemptGone),
    };
    // Taken already: an attempt of another source is simply over.
    if attempt.source_id != source_id {
        return Err(LoginError::AttemptGone);
    }
    let source = services
        .sources
        .get(source_id)
        .ok_or(LoginError::NotOffered)?;
    let advance = source
        .advance(&services.source, context, attempt.sealed.state, input)
        .await;
    let (url, state) = match advance {
        Advance::Continue {
            step: Step::Redirect { url },
            state,
        } => (url, state),
        Advance::Refused(Refusal::Unavailable { source_id, detail }) => {
            return Err(LoginError::SourceUnavailable { source_id, detail });
        }
        // A hand-off only carries the attempt on; anything else ends it here.
        _ => return Err(LoginError::AttemptGone),
    };
    let mut next_url = url::Url::parse(&url).map_err(|e| LoginError::SourceUnavailable {
        source_id: source_id.to_owned(),
        detail: format!("the return URL does not parse: {e}"),
    })?;
    let next = crate::random::token();
    next_url
        .query_pairs_mut()
        .append_pair("handoff", next.expose());
    let expires_at = now + services.session.login_timeout.as_secs() as i64;
    attempts::store(
        services.store(),
        services.secrets,
        next.expose(),
        source_id,
        &attempt.return_to,
        &attempt.browser_binding,
        &attempts::Sealed {
            state,
            step: Step::Redirect { url },
        },
        now,
        expires_at,
    )
    .await?;
    Ok(next_url.into())
}
