## What each scope lets a portal do, as the consent page lists it, in English. Every id
## here is also in vi/scopes.ftl.

scope-openid = Know who you are (a login identifier)
scope-profile = See your name, date of birth, gender and other profile details (picture, language, time zone)
scope-email = See your email address
scope-phone = See your phone number
scope-address = See your postal address
scope-national-id = See your national identification number, place of birth and nationality (and tax code for businesses)
scope-enterprise = See which businesses you represent (their tax codes, as your digital certificate shows)
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
claim-represents = The businesses you represent
claim-middle-name = Your middle name
claim-nickname = Your nickname
claim-preferred-username = The username you prefer
claim-profile = The address of your profile page
claim-picture = Your picture
claim-website = Your website
claim-gender = Your gender
claim-zoneinfo = Your time zone
claim-locale = Your language and region
claim-place-of-birth = Your place of birth
claim-nationalities = Your nationality
claim-other = Other information about you
