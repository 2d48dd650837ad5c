//! A second factor on the same session, of two kinds:
//!
//! - a login at a source that proves control of a phone number
//!   (`LinkPolicy::steps_up_by_phone`: `sms_otp`) whose verified number is the
//!   *verified* `phone_number` of the account the browser is signed in to
//!   ([`second_factor_of`], before the login's own account is looked up);
//! - a login with a credential registered to the signed-in account itself
//!   (`LinkPolicy::steps_up_by_own_credential`: a passkey registered from `/account`),
//!   when the session was proven by methods this login did not use (a password): the
//!   passkey's account is the session's, found by its registered login
//!   ([`is_own_second_factor`]). A passkey of another account is that person's login,
//!   never this session's second factor.
//!
//! Either way the session is kept (and its `sid`), its level becomes the higher of the
//! two (the second factor's source's `loa` is the level the operator gives the pair),
//! and its `amr` lists every method used, with `mfa`; audited as `login_second_factor`.
//!
//! The account's number must already be verified (by the operator or an earlier
//! trusted source): a number typed during a password session is never attached to
//! the account by this, or a stolen password would enrol the thief's phone. Likewise a
//! passkey is registered only from `/account`, after a sign-in within ten minutes.

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

/// Whether a login that belongs to the session's own account adds a factor to it: its
/// source steps up by the account's own credentials, and the session was proven by a
/// method this login did not use (a passkey after a password; not a passkey again).
pub(super) fn is_own_second_factor(
    session: &Session,
    verified: &VerifiedIdentity,
    policy: LinkPolicy,
) -> bool {
    policy.steps_up_by_own_credential
        && session
            .amr
            .iter()
            .any(|m| m != "mfa" && !verified.amr.contains(m))
}

/// The session's `acr` and `amr` after a second factor.
pub(super) fn combined(session: &Session, verified: &VerifiedIdentity) -> (String, Vec<String>) {
    (
        combined_loa(session, verified).acr(),
        combined_amr(&session.amr, &verified.amr),
    )
}

/// Audits a second factor: `login_second_factor` with the source and the session's new
/// `acr` and `amr` (never a number or a credential).
pub(super) async fn audit(
    store: &Store,
    verified: &VerifiedIdentity,
    session: &Session,
    now: i64,
) -> Result<(), StoreError> {
    store
        .audit()
        .record(
            now,
            "login_second_factor",
            Some(session.account_id.as_str()),
            None,
            &format!(
                "source={} acr={} amr={}",
                verified.source_id,
                session.acr,
                session.amr.join(" ")
            ),
        )
        .await
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
        assert_eq!(
            super::combined_amr(&s(&["pwd"]), &s(&["hwk", "user"])),
            s(&["pwd", "hwk", "user", "mfa"])
        );
    }

    #[test]
    fn a_passkey_adds_a_factor_to_a_password_session_not_to_a_passkey_one() {
        use crate::model::{Loa, Session, VerifiedIdentity};
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let session = |amr: &[&str]| Session {
            id: crate::ids::SessionId::generate(),
            account_id: crate::ids::AccountId::new("a"),
            source_id: "password".into(),
            auth_time: 0,
            acr: Loa::new(2).unwrap().acr(),
            amr: s(amr),
            created_at: 0,
            last_seen_at: 0,
            expires_at: 1,
        };
        let passkey = VerifiedIdentity {
            source_id: "passkey".into(),
            subject: "handle".into(),
            loa: Loa::new(3).unwrap(),
            amr: s(&["hwk", "user"]),
            attributes: Vec::new(),
        };
        let policy = |own| crate::sources::LinkPolicy {
            trusted_for_linking: false,
            creates_accounts: false,
            steps_up_by_phone: false,
            finds_by_verified_phone: false,
            steps_up_by_own_credential: own,
        };
        assert!(super::is_own_second_factor(
            &session(&["pwd"]),
            &passkey,
            policy(true)
        ));
        assert!(!super::is_own_second_factor(
            &session(&["pwd"]),
            &passkey,
            policy(false)
        ));
        assert!(!super::is_own_second_factor(
            &session(&["hwk", "user"]),
            &passkey,
            policy(true)
        ));
        let (acr, amr) = super::combined(&session(&["pwd"]), &passkey);
        assert_eq!(acr, "urn:portico:loa:3");
        assert_eq!(amr, s(&["pwd", "hwk", "user", "mfa"]));
    }
}
