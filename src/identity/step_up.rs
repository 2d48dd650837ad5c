//! A second factor on the same session: a login at a source that proves control of a
//! phone number (`LinkPolicy::steps_up_by_phone`: `sms_otp`) whose verified number is
//! the *verified* `phone_number` of the account the browser is signed in to counts as
//! that person proving a second factor. The session is kept (and its `sid`), its level
//! becomes the higher of the two, and its `amr` lists every method used, with `mfa`.
//!
//! The account's number must already be verified (by the operator or an earlier
//! trusted source): a number typed during a password session is never attached to
//! the account by this, or a stolen password would enrol the thief's phone.

use crate::model::{Loa, Session, VerifiedIdentity};
use crate::sources::LinkPolicy;
use crate::store::{Store, StoreError};

/// The signed-in session this login is a second factor of, if it is one.
pub(super) async fn second_factor_of<'s>(
    store: &Store,
    verified: &VerifiedIdentity,
    policy: LinkPolicy,
    current: Option<&'s Session>,
) -> Result<Option<&'s Session>, StoreError> {
    let (Some(session), Some(number), true) = (
        current,
        verified.verified("phone_number"),
        policy.steps_up_by_phone,
    ) else {
        return Ok(None);
    };
    let Some(account) = store.accounts().get(&session.account_id).await? else {
        return Ok(None);
    };
    let same = account.attributes.is_verified("phone_number")
        && account.text("phone_number").is_some_and(|have| {
            crate::crypto::constant_time_eq(have.as_bytes(), number.as_bytes())
        });
    Ok(same.then_some(session))
}

/// The session's level after the second factor: the higher of the two.
pub(super) fn combined_loa(session: &Session, verified: &VerifiedIdentity) -> Loa {
    match Loa::from_acr(&session.acr) {
        Some(had) if had > verified.loa => had,
        _ => verified.loa,
    }
}

/// Every method used, in order, each once, and `mfa` (RFC 8176) when there are two
/// or more.
pub(super) fn combined_amr(had: &[String], now: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in had.iter().chain(now) {
        if m != "mfa" && !out.contains(m) {
            out.push(m.clone());
        }
    }
    if out.len() >= 2 {
        out.push("mfa".to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn amr_lists_every_method_and_mfa() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            super::combined_amr(&s(&["pwd"]), &s(&["sms"])),
            s(&["pwd", "sms", "mfa"])
        );
        assert_eq!(
            super::combined_amr(&s(&["pwd", "sms", "mfa"]), &s(&["sms"])),
            s(&["pwd", "sms", "mfa"])
        );
        assert_eq!(super::combined_amr(&s(&["sms"]), &s(&["sms"])), s(&["sms"]));
    }
}
