//! Mobile numbers as people in Vietnam write them, to E.164.

use crate::config::NumberPolicy;

/// The number in E.164 (`+84912345678`), or `None` when it is not one the policy
/// accepts. Spaces, dots, dashes and parentheses are ignored. A Vietnamese mobile
/// number is `0` or `84` or `+84` followed by nine digits starting with 3, 5, 7, 8 or 9
/// (the mobile ranges since the 2018 renumbering).
pub fn normalise(typed: &str, policy: NumberPolicy) -> Option<String> {
    let compact: String = typed
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '\u{a0}'))
        .collect();
    let (plus, digits) = match compact.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, compact.as_str()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // A number in Viet Nam (+84, 84 or a leading 0) must be a mobile one, whatever the
    // policy: the codes go only to mobiles.
    let national = match (digits.strip_prefix("84"), digits.strip_prefix('0')) {
        (Some(rest), _) => Some(rest),
        (None, Some(rest)) if !plus => Some(rest),
        _ => None,
    };
    if let Some(n) = national {
        if n.len() == 9 && matches!(n.as_bytes()[0], b'3' | b'5' | b'7' | b'8' | b'9') {
            return Some(format!("+84{n}"));
        }
        return None;
    }
    match policy {
        NumberPolicy::AnyE164
            if plus && (8..=15).contains(&digits.len()) && !digits.starts_with('0') =>
        {
            Some(format!("+{digits}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VN: NumberPolicy = NumberPolicy::VietnamMobile;

    #[test]
    fn as_people_write_them() {
        for typed in [
            "0912 345 678",
            "+84 912 345 678",
            "84912345678",
            "0912.345.678",
            "(+84) 912-345-678",
            " 0912345678 ",
        ] {
            assert_eq!(
                normalise(typed, VN).as_deref(),
                Some("+84912345678"),
                "{typed}"
            );
        }
        assert_eq!(
            normalise("0386 123 456", VN).as_deref(),
            Some("+84386123456")
        );
    }

    #[test]
    fn not_vietnamese_mobiles() {
        for typed in [
            "",
            "091234567",     // too short
            "09123456789",   // too long
            "0241 234 5678", // Hà Nội landline
            "0212345678",    // 02x is fixed-line
            "+0912345678",
            "+33612345678", // foreign, not accepted by default
            "0912abc678",
            "+84 0912 345 678",
        ] {
            assert_eq!(normalise(typed, VN), None, "{typed}");
        }
    }

    #[test]
    fn any_e164_when_configured() {
        let any = NumberPolicy::AnyE164;
        assert_eq!(
            normalise("+33 6 12 34 56 78", any).as_deref(),
            Some("+33612345678")
        );
        assert_eq!(
            normalise("0912345678", any).as_deref(),
            Some("+84912345678")
        );
        assert_eq!(normalise("33612345678", any), None);
        assert_eq!(normalise("+8421234567", any), None);
    }
}
