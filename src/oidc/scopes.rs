//! Scopes as a set, kept sorted so that equal sets compare and store equally.

/// The scopes this provider knows. Others are ignored, as OIDC Core section 3.1.2.1
/// asks of unrecognised scope values.
pub const SUPPORTED: [&str; 8] = [
    "openid",
    "profile",
    "email",
    "phone",
    "address",
    "national_id",
    "enterprise",
    "offline_access",
];

/// Whether a scope is about a person (an OpenID Connect scope), as opposed to an API
/// scope a client registers for `client_credentials`.
pub fn is_user_scope(scope: &str) -> bool {
    SUPPORTED.contains(&scope)
}

pub use crate::model::ScopeSet;

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
            ScopeSet::parse("openid foo")
                .filter(|s| SUPPORTED.contains(&s))
                .to_string(),
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
