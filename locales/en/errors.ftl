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
# A text-message login whose number is the verified phone of several accounts (numbers
# are recycled): none is signed in.
login-phone-ambiguous = { $source }: this number is recorded as the verified phone of more than one account, so it cannot tell which is yours. Nothing was signed in. Use another way to sign in, or ask the service desk to correct the accounts' phone numbers.
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

# An upstream identity provider (kind = "oidc") did not vouch for the person. The
# login page is shown again with the other ways to sign in.
refusal-upstream-cancelled = { $source }: the sign-in was cancelled. Choose another way to sign in, or try again.
refusal-upstream-timeout = { $source } did not answer in time. Choose another way to sign in, or try again later.
refusal-upstream-unreachable = { $source } cannot be reached right now. Choose another way to sign in, or try again later.
refusal-upstream-bad-signature = { $source }: the answer could not be verified (its signature is not valid), so it was not accepted. Choose another way to sign in.
refusal-upstream-wrong-nonce = { $source }: the answer does not belong to this sign-in, so it was not accepted. Please start again or choose another way to sign in.
refusal-upstream-wrong-issuer = { $source }: the answer came from another identity provider, so it was not accepted. Choose another way to sign in.
refusal-upstream-error = { $source } refused the sign-in. Choose another way to sign in, or try again later.
refusal-upstream-invalid = { $source }: the answer was not valid, so it was not accepted. Choose another way to sign in.
# The browser came back from an upstream provider with an attempt that is finished,
# expired or was already used (a replayed callback).
error-callback-gone-message = The answer from { $source } is for a sign-in that was already completed, has expired, or was used twice. Nothing was signed in. Go back to the portal and sign in again, with { $source } or another way.
## Certificate login (kind = "x509"): the refusal pages.
cert-try-again = Try again
cert-other-way = Use another way to sign in
cert-no-certificate-title = No certificate was presented
cert-no-certificate-message = Your browser did not send a digital certificate. Insert your USB token or smart card, check that its driver software is running, then press "Try again" and choose your certificate when the browser asks.
cert-expired-title = Your certificate has expired
cert-expired-message = The digital certificate you chose is past its validity period. Choose a current certificate, or ask the certification authority that issued it to renew it.
cert-not-yet-valid-title = Your certificate is not valid yet
cert-not-yet-valid-message = The digital certificate you chose only becomes valid later. Check the date and time of your computer, or try again once the certificate is valid.
cert-unknown-issuer-title = This certificate is not recognised
cert-unknown-issuer-message = The digital certificate was not issued by a certification authority this service trusts, or it could not be verified. Use a certificate issued under the national root certification authority.
cert-wrong-usage-title = This certificate cannot be used to sign in
cert-wrong-usage-message = The digital certificate is not issued for signing in (client authentication). If your token holds several certificates, try again and choose another one; otherwise ask your certification authority for a certificate that allows signing in.
cert-revoked-title = This certificate has been revoked
cert-revoked-message = The certification authority has revoked this digital certificate, so it can no longer be used. Contact the certification authority for a new certificate.
cert-revocation-unknown-title = The certificate's status could not be checked
cert-revocation-unknown-message = We could not confirm with the certification authority that this certificate has not been revoked. This is usually temporary: try again in a few minutes, or use another way to sign in.
cert-no-identifier-title = The certificate names no identification number
cert-no-identifier-message = The digital certificate is valid, but it carries no citizen identity number or tax code that this service reads. Use a personal certificate with your citizen identity number, or an enterprise certificate with its tax code.
refusal-field-phone = the mobile number
refusal-not-a-mobile-number = This is not a Vietnamese mobile number. Write it as 0912 345 678 or +84 912 345 678.
refusal-resend-too-soon = A code was sent less than a minute ago; no new code was sent. Wait a minute, then ask again.
refusal-send-limit = Too many codes have been asked for this number or from your network. No code was sent; try again in an hour or choose another way to sign in.
refusal-no-operator = No mobile operator connected to this portal serves this number. Check the number, or choose another way to sign in.
