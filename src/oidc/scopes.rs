//! Scopes as a set, kept sorted so that equal sets compare and store equally.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The scopes this provider knows. Others are ignored, as OIDC Core section 3.1.2.1
/// asks of unrecognised scope values.
pub const SUPPORTED: [&str; 7] = [
    "openid",
    "profile",
    "email",
    "phone",
    "address",
    "national_id",
    "offline_access",
];

/// Whether a scope is about a person (an OpenID Connect scope), as opposed to an API
/// scope a client registers for `client_credentials`.
pub fn is_user_scope(scope: &str) -> bool {
    SUPPORTED.contains(&scope)
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeSet(BTreeSet<String>);

impl ScopeSet {
    pub fn parse(text: &str) -> ScopeSet {
        ScopeSet(
            text.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_subset_of(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.union(&other.0).cloned().collect())
    }

    /// The scopes for which `keep` answers true.
    pub fn filter(&self, keep: impl Fn(&str) -> bool) -> ScopeSet {
        ScopeSet(self.0.iter().filter(|s| keep(s)).cloned().collect())
    }

    /// Only the scopes this provider supports.
    pub fn supported_only(&self) -> ScopeSet {
        ScopeSet(
            self.0
                .iter()
                .filter(|s| SUPPORTED.contains(&s.as_str()))
                .cloned()
                .collect(),
        )
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

/// RFC 6749 appendix A.4: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
pub fn is_valid_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_sorted_and_deduplicated() {
        let s = ScopeSet::parse("profile openid  email openid");
        assert_eq!(s.to_string(), "email openid profile");
        assert!(ScopeSet::parse("openid").is_subset_of(&s));
        assert!(!ScopeSet::parse("openid phone").is_subset_of(&s));
        assert_eq!(
            ScopeSet::parse("openid foo").supported_only().to_string(),
            "openid"
        );
    }

    #[test]
    fn scope_token_syntax() {
        assert!(is_valid_scope_token("national_id"));
        assert!(!is_valid_scope_token("a\"b"));
        assert!(!is_valid_scope_token("a\\b"));
    }
}
