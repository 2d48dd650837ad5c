## What a person reads when something fails, in English. Every id here is also in
## vi/errors.ftl. The `error_description` sent to portals stays English and is not here.

## Error pages

error-code = Error code:
error-technical-detail = Technical detail:
error-advice = Return to the portal you came from and start again. If this keeps happening, contact the portal's support.
error-unavailable-title = Sign-in is unavailable
error-unavailable-message = The sign-in service cannot reach its database right now. Please try again in a few minutes.
error-server-title = Something went wrong
error-server-message = The sign-in service could not complete your request.
error-unknown-portal-title = Unknown portal
error-unknown-portal-message = The portal that sent you here is not registered with this sign-in service.
error-invalid-link-title = This sign-in link is not valid
error-invalid-link-message = The portal sent a sign-in request that cannot be accepted.
error-expired-title = This sign-in has expired
error-expired-message = The sign-in request is no longer valid: it took too long, or it was already completed.
error-wrong-browser-title = This sign-in belongs to another browser
error-wrong-browser-message = The sign-in request was started in another browser, or your browser blocks cookies.
error-not-your-session-title = Please sign in again
error-not-your-session-message = This consent page belongs to another sign-in session.
error-csrf-title = The form could not be accepted
error-csrf-message = The form's security token is missing or invalid (CSRF). Go back, reload the page and try again.
error-not-found-title = Page not found
error-not-found-message = There is no page at this address.

## Why a source did not sign someone in. Each names the source: $source is its display
## name.

refusal-rejected-password = { $source }: the username or password is incorrect
refusal-rejected = { $source }: the sign-in was not accepted
# $field is one of the refusal-field-* texts.
refusal-incomplete = { $source }: the form is incomplete ({ $field } is missing)
refusal-field-username = the username
refusal-field-password = the password
refusal-unavailable = { $source } is not available right now
refusal-too-many-attempts = { $source }: too many attempts; wait a few minutes and try again
refusal-expired = { $source }: this sign-in attempt has expired; please start again
# The outage page of a source whose checks fail (not a refusal of the person).
login-outage = { $source }: the sign-in service cannot check passwords right now. Please try again later.
refusal-wrong-answer = { $source }: the answer is not correct
# A login that was right, at a source that may not create accounts.
login-no-account = { $source }: no account uses this login yet
# A login refused before anything was checked: too many failures for this account or
# address (the same whether the account exists or not).
login-try-later = Too many failed sign-in attempts. Please try again later, in { $minutes ->
        [one] about a minute
       *[other] about { $minutes } minutes
    }.
error-attempt-gone-title = This sign-in attempt is no longer valid
error-attempt-gone-message = It was already completed, it expired, or the link was used twice. Go back to the portal and sign in again.
error-source-not-offered-title = This way of signing in is not offered here
error-source-not-offered-message = The portal asks for a higher level of assurance than this way of signing in gives, or it is not configured. Go back and choose another.
