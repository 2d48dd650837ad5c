//! Mobile Connect login hints (GSMA IDY.4 / OpenID Connect Mobile Connect profile): a
//! portal's `login_hint` as the number the operator is asked about.

use crate::model::message_id;
use crate::sources::{Field, FieldKind, Form};

/// What a portal's `login_hint` says about the person's number.
#[derive(Debug, PartialEq, Eq)]
pub enum Hint {
    /// An E.164 number, `+` and digits (`MSISDN:+84961234567`, `+84 96 123 4567`, or a
    /// Vietnamese national number `0961234567`).
    Msisdn(String),
    /// `ENCR_MSISDN:...`: encrypted for the operator; passed on as it is.
    Encrypted(String),
}

/// The hint as a number, or `None` when it is not one (an e-mail, a username...).
pub fn parse(hint: &str) -> Option<Hint> {
    let hint = hint.trim();
    if let Some(encrypted) = hint.strip_prefix("ENCR_MSISDN:") {
        return (!encrypted.is_empty()).then(|| Hint::Encrypted(encrypted.to_owned()));
    }
    let number = hint.strip_prefix("MSISDN:").unwrap_or(hint);
    let digits: String = number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let e164 = if let Some(rest) = digits.strip_prefix('+') {
        rest.to_owned()
    } else if let Some(national) = digits.strip_prefix('0') {
        format!("84{national}")
    } else if hint.starts_with("MSISDN:") {
        digits
    } else {
        return None;
    };
    (e164.len() >= 8 && e164.len() <= 15 && e164.chars().all(|c| c.is_ascii_digit()))
        .then(|| Hint::Msisdn(format!("+{e164}")))
}

/// The number page's field.
pub const NUMBER_FIELD: &str = "msisdn";

/// The page asking the person's number, when the portal named none: the operator then
/// asks the person to approve on that phone.
pub fn number_form() -> Form {
    Form {
        fields: vec![Field {
            name: NUMBER_FIELD.into(),
            label: message_id("mobile-connect-number").into(),
            kind: FieldKind::Tel,
            autocomplete: "tel".into(),
            value: String::new(),
        }],
        submit: message_id("mobile-connect-continue").into(),
        secondary: None,
    }
}

/// The `login_hint` sent to the operator.
pub fn login_hint(hint: &Hint) -> String {
    match hint {
        Hint::Msisdn(n) => format!("MSISDN:{n}"),
        Hint::Encrypted(e) => format!("ENCR_MSISDN:{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_the_ways_portals_write_them() {
        let n = |s: &str| Some(Hint::Msisdn(s.to_owned()));
        assert_eq!(parse("MSISDN:+84961234567"), n("+84961234567"));
        assert_eq!(parse("MSISDN:84961234567"), n("+84961234567"));
        assert_eq!(parse("+84 96 123 4567"), n("+84961234567"));
        assert_eq!(parse("0961234567"), n("+84961234567"));
        assert_eq!(
            parse("ENCR_MSISDN:abc"),
            Some(Hint::Encrypted("abc".into()))
        );
        assert_eq!(parse("lan@example.vn"), None);
        assert_eq!(parse("nguyenlan"), None);
        assert_eq!(parse("+84"), None);
        assert_eq!(
            login_hint(&Hint::Msisdn("+84961234567".into())),
            "MSISDN:+84961234567"
        );
    }
}
