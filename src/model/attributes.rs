//! What an account holds about its person: one record per claim (OIDC Core section 5.1
//! names, and `place_of_birth`, `nationalities`, `national_id`, `tax_code`), each with
//! its value, whether it was verified, by which source at which level, and when. The
//! rule for a login's attributes replacing the account's is here ([`replaces`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Loa;

/// The claims an account can hold. `email_verified`, `phone_number_verified` and
/// `national_id_verified` are the `verified` flags of `email`, `phone_number` and
/// `national_id`; `updated_at` is the account's.
pub const CLAIMS: &[&str] = &[
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
    "email",
    "phone_number",
    "address",
    "place_of_birth",
    "nationalities",
    "national_id",
    "tax_code",
];

/// The source id of what an operator entered (`portico account add`, the demo): no
/// level of assurance, so any source's verified value may replace it.
pub const OPERATOR: &str = "operator";

/// One attribute of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeRecord {
    /// A string; an object for `address` and `place_of_birth`; an array of strings for
    /// `nationalities`.
    pub value: Value,
    pub verified: bool,
    /// The identity source that asserted it, or [`OPERATOR`].
    pub source: String,
    /// The source's level when it asserted it (`None` for the operator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loa: Option<Loa>,
    /// When it was recorded (seconds since the epoch).
    pub at: i64,
}

/// Whether `new` (asserted now) replaces `old`: never an unverified value over a
/// verified one; a verified one over an unverified one always; otherwise only a value
/// at least as recent from a source at an equal or higher level (the operator has no
/// level, below every source). The same value and flag is no change.
pub fn replaces(old: &AttributeRecord, new: &AttributeRecord) -> bool {
    if old.value == new.value && old.verified == new.verified {
        return false;
    }
    match (old.verified, new.verified) {
        (true, false) => false,
        (false, true) => true,
        _ => new.at >= old.at && new.loa >= old.loa,
    }
}

/// An account's attributes by claim name, stored as one JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Attributes(BTreeMap<String, AttributeRecord>);

impl Attributes {
    pub fn get(&self, claim: &str) -> Option<&AttributeRecord> {
        self.0.get(claim)
    }

    /// A string attribute's value.
    pub fn text(&self, claim: &str) -> Option<&str> {
        self.get(claim).and_then(|r| r.value.as_str())
    }

    pub fn is_verified(&self, claim: &str) -> bool {
        self.get(claim).is_some_and(|r| r.verified)
    }

    pub fn set(&mut self, claim: &str, record: AttributeRecord) {
        self.0.insert(claim.to_owned(), record);
    }

    /// With an operator's entry, as `portico account add` records one.
    pub fn with_entry(
        mut self,
        claim: &str,
        value: impl Into<Value>,
        verified: bool,
        at: i64,
    ) -> Self {
        self.set(
            claim,
            AttributeRecord {
                value: value.into(),
                verified,
                source: OPERATOR.into(),
                loa: None,
                at,
            },
        );
        self
    }

    pub fn remove(&mut self, claim: &str) -> Option<AttributeRecord> {
        self.0.remove(claim)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &AttributeRecord)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Offers a login's value: recorded when the account has none or [`replaces`]
    /// says so; answers whether it was.
    pub fn offer(&mut self, claim: &str, new: AttributeRecord) -> bool {
        if self.get(claim).is_some_and(|old| !replaces(old, &new)) {
            return false;
        }
        self.set(claim, new);
        true
    }

    /// Offers each of a login's attributes (see [`Self::offer`]); answers the claims
    /// that changed. A verified national id is never replaced: it is what links logins
    /// to the account, and a different one names a different person.
    pub fn merge_login(&mut self, offered: &Attributes) -> Vec<String> {
        let mut changed = Vec::new();
        for (claim, record) in offered.iter() {
            if claim == "national_id" && self.is_verified(claim) {
                continue;
            }
            if self.offer(claim, record.clone()) {
                changed.push(claim.to_owned());
            }
        }
        changed
    }

    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).expect("attributes serialise")
    }

    pub fn from_stored(text: &str) -> Result<Attributes, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// A source's attribute as an account stores it: `address` and `place_of_birth` as
/// objects (JSON objects as given, other text as the `formatted` address or the
/// `locality` of birth), `nationalities` as a list (a JSON array, else one value),
/// everything else as the string. `None` for a claim an account does not hold.
pub fn stored_value(claim: &str, text: &str) -> Option<Value> {
    if !CLAIMS.contains(&claim) {
        return None;
    }
    let json = || serde_json::from_str::<Value>(text).ok();
    Some(match claim {
        "address" => json()
            .filter(Value::is_object)
            .unwrap_or_else(|| serde_json::json!({ "formatted": text })),
        "place_of_birth" => json()
            .filter(Value::is_object)
            .unwrap_or_else(|| serde_json::json!({ "locality": text })),
        "nationalities" => json()
            .filter(Value::is_array)
            .unwrap_or_else(|| serde_json::json!([text])),
        _ => Value::String(text.to_owned()),
    })
}

/// Checks a value's form where OIDC Core section 5.1 gives one; `Err` says what it
/// must be.
pub fn check(claim: &str, value: &str) -> Result<(), &'static str> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let ok = match claim {
        // YYYY-MM-DD, or YYYY alone (section 5.1: the year may be given alone).
        "birthdate" => {
            let parts: Vec<&str> = value.split('-').collect();
            match parts.as_slice() {
                [y] => digits(y, 4),
                [y, m, d] => {
                    digits(y, 4)
                        && digits(m, 2)
                        && digits(d, 2)
                        && (1..=12).contains(&m.parse::<u8>().unwrap_or(0))
                        && (1..=31).contains(&d.parse::<u8>().unwrap_or(0))
                }
                _ => false,
            }
        }
        "phone_number" => {
            // E.164: + and up to 15 digits, not starting with 0.
            let rest = value.strip_prefix('+').unwrap_or("");
            (2..=15).contains(&rest.len())
                && rest.bytes().all(|b| b.is_ascii_digit())
                && !rest.starts_with('0')
        }
        "locale" => {
            // BCP 47 in its common shape: a 2-3 letter language, then subtags.
            let mut parts = value.split(['-', '_']);
            parts.next().is_some_and(|l| {
                (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic())
            }) && parts
                .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        }
        "zoneinfo" => {
            // A tz database name: Area/Location (or UTC).
            value == "UTC"
                || (value.contains('/')
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"/_-+".contains(&b)))
        }
        "profile" | "picture" | "website" => url::Url::parse(value)
            .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some()),
        "email" => {
            let (local, domain) = value.rsplit_once('@').unwrap_or(("", ""));
            !local.is_empty() && domain.contains('.') && !value.contains(char::is_whitespace)
        }
        "nationalities" => {
            // ISO 3166-1 alpha-2 or alpha-3 country codes.
            (2..=3).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_uppercase())
        }
        _ => !value.trim().is_empty(),
    };
    if ok {
        return Ok(());
    }
    Err(match claim {
        "birthdate" => "a date YYYY-MM-DD, or a year YYYY",
        "phone_number" => {
            "an E.164 number: + then the country code and number, 15 digits at most (+84912345678)"
        }
        "locale" => "a BCP 47 language tag (vi, vi-VN, en-GB)",
        "zoneinfo" => "a time zone of the tz database (Asia/Ho_Chi_Minh)",
        "profile" | "picture" | "website" => "an absolute http or https URL",
        "email" => "an email address (name@example.vn)",
        "nationalities" => "an ISO 3166-1 country code in capitals (VN, VNM)",
        _ => "not empty",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: &str, verified: bool, loa: Option<u8>, at: i64) -> AttributeRecord {
        AttributeRecord {
            value: Value::String(value.into()),
            verified,
            source: "s".into(),
            loa: loa.and_then(Loa::new),
            at,
        }
    }

    #[test]
    fn a_newer_verified_value_at_an_equal_or_higher_level_replaces() {
        let old = record("Lan", true, Some(2), 10);
        assert!(replaces(&old, &record("Lân", true, Some(2), 20)));
        assert!(replaces(&old, &record("Lân", true, Some(3), 20)));
        // A lower level does not, nor an older value.
        assert!(!replaces(&old, &record("Lân", true, Some(1), 20)));
        assert!(!replaces(&old, &record("Lân", true, Some(3), 5)));
        // The same value is no change.
        assert!(!replaces(&old, &record("Lan", true, Some(4), 20)));
    }

    #[test]
    fn an_unverified_value_never_replaces_a_verified_one() {
        let verified = record("Lan", true, None, 10);
        assert!(!replaces(&verified, &record("Lân", false, Some(4), 20)));
        // A verified value replaces an unverified one at any level, and the
        // operator's verified value is below any source's.
        let unverified = record("Lan", false, Some(4), 10);
        assert!(replaces(&unverified, &record("Lân", true, Some(1), 20)));
        assert!(replaces(&verified, &record("Lân", true, Some(1), 20)));
        // Unverified over unverified: by level too.
        assert!(replaces(&unverified, &record("Lân", false, Some(4), 20)));
        assert!(!replaces(&unverified, &record("Lân", false, Some(3), 20)));
    }

    #[test]
    fn offer_records_new_claims_and_follows_the_rule() {
        let mut a = Attributes::default();
        assert!(a.offer("given_name", record("Lan", true, Some(3), 10)));
        assert!(!a.offer("given_name", record("Lân", true, Some(2), 20)));
        assert_eq!(a.text("given_name"), Some("Lan"));
        let back = Attributes::from_stored(&a.to_stored()).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn a_login_never_replaces_a_verified_national_id() {
        let mut account = Attributes::default();
        account.set("national_id", record("001", true, Some(2), 10));
        account.set("given_name", record("Lan", true, Some(2), 10));
        let mut offered = Attributes::default();
        offered.set("national_id", record("002", true, Some(4), 20));
        offered.set("given_name", record("Lân", true, Some(4), 20));
        offered.set("family_name", record("Trần", false, Some(4), 20));
        let changed = account.merge_login(&offered);
        assert_eq!(
            changed,
            vec!["family_name".to_owned(), "given_name".to_owned()]
        );
        assert_eq!(account.text("national_id"), Some("001"));
        assert_eq!(account.text("given_name"), Some("Lân"));
    }

    #[test]
    fn values_are_checked_where_the_spec_gives_a_form() {
        for (claim, good) in [
            ("birthdate", "1990-04-30"),
            ("birthdate", "1990"),
            ("phone_number", "+84912345678"),
            ("locale", "vi-VN"),
            ("zoneinfo", "Asia/Ho_Chi_Minh"),
            ("website", "https://example.vn/"),
            ("nationalities", "VN"),
        ] {
            assert_eq!(check(claim, good), Ok(()), "{claim}={good}");
        }
        for (claim, bad) in [
            ("birthdate", "30/04/1990"),
            ("birthdate", "1990-13-01"),
            ("phone_number", "0912345678"),
            ("phone_number", "+8491234567890123"),
            ("locale", "vietnamese!"),
            ("zoneinfo", "Hanoi"),
            ("picture", "javascript:alert(1)"),
            ("profile", "/relative"),
            ("nationalities", "vn"),
        ] {
            assert!(check(claim, bad).is_err(), "{claim}={bad}");
        }
        assert_eq!(
            stored_value("nationalities", "VN"),
            Some(serde_json::json!(["VN"]))
        );
        assert_eq!(stored_value("shoe_size", "42"), None);
    }
}
