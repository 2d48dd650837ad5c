## Texts of the pages, in English. Every id here is also in vi/pages.ftl.

## Every page

brand-tagline = national sign-in
# The name of this catalogue's language, written in it: the switcher on a page in the
# other language shows it.
language-name = English
language-switcher = Language

## Login

login-title = Sign in
login-lead = to continue to { $portal }
login-lead-account = to your Portico account
login-username = Username
login-password = Password
login-submit = Sign in
# The default name of a password source, when the operator gave none.
source-password = Username and password
source-x509 = Digital certificate
source-webauthn = Passkey

## Consent

consent-title = Share your information?
consent-lead = { $portal } asks to:
consent-allow = Allow
consent-deny = Deny
consent-note = You can withdraw this later from your account page.
consent-claims-lead = It also asks for these details by name:

## Account

account-title = Your account
account-kind-citizen = citizen
account-kind-enterprise = enterprise
account-kind-official = official
account-no-name = (no name)
account-sessions-heading = Where you are signed in
account-sessions-count =
    { $count ->
        [one] You are signed in on one device.
       *[other] You are signed in on { $count } devices.
    }
account-this-browser = (this browser)
account-unknown-device = Unknown device
account-session-detail = Signed in { $since } with { $source }; last used { $last }
account-no-portal = No portal yet
account-portals =
    { $count ->
        [one] Portal: { $portals }
       *[other] Portals ({ $count }): { $portals }
    }
account-end-session = End this session
account-consents-heading = Portals you have allowed
account-consents-lead = These portals may receive the information below about you. Withdrawing ends their access at once: they must ask you again.
account-no-consent = You have not allowed any portal yet.
account-consent-since = Allowed since { $since }
account-withdraw-consent = Withdraw this portal's access

## Logout

logout-title = Sign out
logout-question = Sign out of Portico?
logout-asked-by = { $portal } asks to sign you out.
logout-explanation = Signing out ends your session at every portal you used with it.
logout-redirect-refused = The address the portal asked to return to is not registered for it: you will stay on this site after signing out.
logout-confirm = Sign out
logout-stay = Stay signed in
logged-out-title = You are signed out
logged-out-message = Your session has ended at Portico and at the portals you used with it.
logged-out-frame = Signing out of a portal
logged-out-return = Return to the portal
still-signed-in-title = You are still signed in
still-signed-in-message = Nothing was changed. You can close this page.
login-code = Verification code
login-other-way = Choose another way to sign in

# sms_otp sources
source-sms-otp = Mobile number
sms-number = Your mobile number
mobile-connect-number = Your mobile number (your operator will ask you to approve on the phone)
mobile-connect-continue = Continue
sms-send-code = Send me a code
sms-code = The six-digit code sent to your phone
sms-resend = Send a new code
sms-code-message = Your Portico code is { $code }. It is valid for { $minutes } minutes. Do not give this code to anyone.
## Passkeys
passkey-sign-in = Sign in with a passkey
passkey-sign-in-lead = Use the passkey saved on this device or your phone.
passkey-needs-script = Signing in with a passkey needs JavaScript and a browser that supports passkeys.
passkey-failed = The passkey was not used. Try again, or choose another way.
passkey-heading = Passkeys
passkey-none = You have no passkey yet.
passkey-add = Add a passkey
passkey-register-title = Add a passkey
passkey-register = Create the passkey
passkey-name = Name of the passkey
passkey-default-name = Passkey
passkey-created = Added
passkey-last-used = last used
passkey-rename = Rename
passkey-remove = Remove
passkey-back = Back to your account
passkey-reauth-title = Sign in again first
passkey-reauth-message = To add a passkey you must have signed in within the last 10 minutes. Sign out, sign in again, then add the passkey.
passkey-failed-title = The passkey was not added
passkey-expired = The request to add a passkey has expired or was already used. Start again from your account page.
passkey-invalid = The passkey could not be verified. Start again from your account page.
passkey-duplicate = This passkey is already registered.
account-logins-heading = How you sign in
account-logins-lead = Each of these logins opens this account. You can link another one, or remove one you no longer use; the last one cannot be removed.
account-login-detail = Linked { $since }; last used { $last }
account-login-never-used = not yet
account-login-remove = Remove this login
account-login-last = Your only login: it cannot be removed.
account-link-lead = To link another login, you may be asked to sign in again first (a sign-in within the last 10 minutes is needed).
account-link-source = Link your login at { $source }
account-link-failed-title = The login could not be linked
account-link-elsewhere = This { $source } login already belongs to another account. Nothing was linked and the accounts were not merged: sign in with that login to use that account, or remove the login from it first.
