## What each scope lets a portal do, as the consent page lists it, in English. Every id
## here is also in vi/scopes.ftl.

scope-openid = Know who you are (a login identifier)
scope-profile = See your name and date of birth
scope-email = See your email address
scope-phone = See your phone number
scope-address = See your postal address
scope-national-id = See your national identification number (and tax code for businesses)
scope-offline-access = Stay connected when you are not using it (until you revoke it)
scope-other = Other access

## Claims a portal asks for by name (the `claims` parameter), as the consent page lists
## them.
claim-name = Your full name
claim-given-name = Your given name
claim-family-name = Your family name
claim-birthdate = Your date of birth
claim-updated-at = When your details were last updated
claim-account-kind = Your kind of account (citizen, business or official)
claim-email = Your email address
claim-email-verified = Whether your email address has been verified
claim-phone-number = Your phone number
claim-phone-number-verified = Whether your phone number has been verified
claim-address = Your postal address
claim-national-id = Your national identification number
claim-national-id-verified = Whether your national identification number has been verified
claim-tax-code = Your tax code
claim-other = Other information about you
