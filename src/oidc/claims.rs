//! Which claims Portico releases, and from what: the claims each scope gives (OIDC Core
//! section 5.4), the claims a portal may ask for by name (section 5.5), and an account's
//! value for each. UserInfo and the ID token both release through [`release`].

use serde_json::{Map, Value, json};

use super::scopes::ScopeSet;
use crate::store::{Account, AccountKind};

/// Claims about the authentication itself: always in the ID token as the protocol
/// says (or never), whatever a `claims` request asks, and never a reason for consent.
pub const PROTOCOL: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "sid",
    "at_hash",
];

/// Claims about the person that an account can hold and Portico can release, by scope
/// or by name.
pub const PERSONAL: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
    "account_kind",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "address",
    "national_id",
    "national_id_verified",
    "place_of_birth",
    "nationalities",
    "tax_code",
    "represents",
];

/// Whether a `claims` request may name this claim (others are ignored, section 5.5).
pub fn is_known(name: &str) -> bool {
    PROTOCOL.contains(&name) || PERSONAL.contains(&name)
}

pub fn is_personal(name: &str) -> bool {
    PERSONAL.contains(&name)
}

/// The claims a scope gives (section 5.4, and `national_id` of our own).
pub fn of_scope(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
            "account_kind",
        ],
        "email" => &["email", "email_verified"],
        "phone" => &["phone_number", "phone_number_verified"],
        "address" => &["address"],
        // The tax code by scope for enterprises only (a citizen's is asked by name).
        "national_id" => &[
            "national_id",
            "national_id_verified",
            "place_of_birth",
            "nationalities",
            "tax_code",
        ],
        // The enterprises a person acts for (a certificate naming both, docs/pki.md);
        // not an account attribute: `oidc::userinfo` reads it from `representations`.
        "enterprise" => &["represents"],
        _ => &[],
    }
}

/// Whether one of the scopes gives the claim.
pub fn given_by(scopes: &ScopeSet, claim: &str) -> bool {
    scopes.iter().any(|s| of_scope(s).contains(&claim))
}

/// The account's value of a claim; `None` when the account lacks it (never invented,
/// never `null`). A `_verified` flag exists only beside its value.
pub fn value_of(account: &Account, claim: &str) -> Option<Value> {
    let flag_of = |of: &str| {
        account
            .attributes
            .get(of)
            .map(|record| json!(record.verified))
    };
    match claim {
        "updated_at" => Some(json!(account.updated_at)),
        "account_kind" => Some(json!(account.kind.as_str())),
        "email_verified" => flag_of("email"),
        "phone_number_verified" => flag_of("phone_number"),
        "national_id_verified" => flag_of("national_id"),
        _ => account.attributes.get(claim).map(|r| r.value.clone()),
    }
}

/// The personal claims the scopes give and the names asked individually, with the
/// account's values, into `out`; nothing else (data minimisation).
pub fn release(
    account: &Account,
    scopes: &ScopeSet,
    named: &[String],
    out: &mut Map<String, Value>,
) {
    for scope in scopes.iter() {
        for &claim in of_scope(scope) {
            if claim == "tax_code" && account.kind != AccountKind::Enterprise {
                continue;
            }
            if let Some(v) = value_of(account, claim) {
                out.insert(claim.to_owned(), v);
            }
        }
    }
    for claim in named.iter().filter(|c| is_personal(c)) {
        if let Some(v) = value_of(account, claim) {
            out.insert(claim.clone(), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The account's attributes (`model::attributes::CLAIMS`, what is stored) and the
    /// claims Portico releases are two lists: every stored attribute must be
    /// releasable, and by some scope, or a value would be kept that no portal can get.
    #[test]
    fn every_stored_attribute_is_a_personal_claim_some_scope_gives() {
        let scopes = ["profile", "email", "phone", "address", "national_id"];
        for claim in crate::model::attributes::CLAIMS {
            assert!(is_personal(claim), "{claim} is stored but not releasable");
            assert!(
                scopes.iter().any(|s| of_scope(s).contains(claim)),
                "{claim} is stored but no scope gives it"
            );
        }
    }
}
