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
