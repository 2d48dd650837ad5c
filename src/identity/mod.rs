//! People, their sessions and consents. This module alone turns a verified identity
//! into an account (found, linked or created: [`resolve_account`]) and a session.

pub mod consent;
mod link;
mod step_up;

pub use link::{LinkError, link};

use crate::ids::SessionId;
use crate::model::Session;
use crate::model::attributes;
use crate::model::{AttributeRecord, Attributes, Loa, VerifiedIdentity};
use crate::secret::Secret;
use crate::sources::LinkPolicy;
use crate::store::{
    AccountKind, NewAccount, Represents, Resolution, Resolved, Resolving, Store, StoreError,
};

/// The lowest level at which a trusted source's verified national id links a login to
/// an existing account ("substantial"): a weaker login could take over an account.
pub const LINK_MIN_LOA: Loa = Loa::SUBSTANTIAL;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The login is valid but no account has it, and this source may not make one.
    #[error("no account has this {source_id} login")]
    NoAccount { source_id: String },
    /// The login's verified number is the verified phone of several accounts: none is
    /// picked (numbers are recycled; SECURITY.md), nothing is made, and it is audited
    /// as `login_phone_ambiguous`.
    #[error("several accounts hold this {source_id} login's number as their verified phone")]
    PhoneAmbiguous { source_id: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A login's attributes as an account records them: each claim an account holds (see
/// `model::attributes::CLAIMS`; others are dropped, and so is a string of the wrong
/// form), with the source, its level and the time. Only a verified national id is
/// recorded: it is what links logins later.
fn offered(verified: &VerifiedIdentity, now: i64) -> Attributes {
    let mut out = Attributes::default();
    for a in &verified.attributes {
        if a.claim == "national_id" && !a.verified {
            continue;
        }
        let Some(value) = attributes::stored_value(&a.claim, &a.value) else {
            continue;
        };
        if value.is_string() && attributes::check(&a.claim, &a.value).is_err() {
            continue;
        }
        out.set(
            &a.claim,
            AttributeRecord {
                value,
                verified: a.verified,
                source: verified.source_id.clone(),
                loa: Some(verified.loa),
                at: now,
            },
        );
    }
    out
}

/// The account a verified login belongs to, in one transaction: for a source that
/// proves control of a phone number (`LinkPolicy::finds_by_verified_phone`), the one
/// account whose verified phone is the login's verified number, whichever source
/// verified it (several: none, [`IdentityError::PhoneAmbiguous`]); else the account that
/// has the login; else, for a source trusted for linking at [`LINK_MIN_LOA`] or above,
/// the account with the same verified national id; else a new account, when the source
/// may create one. Audited (`login_identity_found`, `..._linked`, `login_account_created`).
/// In the same transaction the account takes the login's attributes by the rule of
/// `model::attributes::replaces` (a new account takes them all), each change audited
/// as `account_attribute_changed` with the claim and the source, never the value.
/// A verified `representative_of` (with the `representative_certificate` that showed
/// it) is recorded as the person's representation of that enterprise, audited as
/// `representation_recorded` the first time.
pub async fn resolve_account(
    store: &Store,
    verified: &VerifiedIdentity,
    policy: LinkPolicy,
    now: i64,
) -> Result<Resolved, IdentityError> {
    let link_by_national_id = verified
        .verified("national_id")
        .filter(|_| policy.trusted_for_linking && verified.loa >= LINK_MIN_LOA);
    let offered = offered(verified, now);
    // A source that knows the holder is an organisation (an enterprise certificate)
    // says so with a verified `account_kind`; every other login is a citizen's.
    let kind = match verified.verified("account_kind") {
        Some("enterprise") => AccountKind::Enterprise,
        _ => AccountKind::Citizen,
    };
    // A person shown to act for an enterprise (a certificate naming both): recorded on
    // the person's account; the enterprise's own account is neither made nor changed.
    let represents = match (
        verified.verified("representative_of"),
        verified.verified("representative_certificate"),
    ) {
        (Some(tax_code), Some(certificate)) if kind == AccountKind::Citizen => Some(Represents {
            tax_code,
            certificate,
        }),
        _ => None,
    };
    let new = policy.creates_accounts.then(|| NewAccount {
        kind: Some(kind),
        attributes: offered.clone(),
    });
    let find_by_verified_phone = verified
        .verified("phone_number")
        .filter(|_| policy.finds_by_verified_phone);
    let resolving = store
        .identities()
        .resolve(
            &Resolution {
                source_id: &verified.source_id,
                subject: &verified.subject,
                link_by_national_id,
                find_by_verified_phone,
                create: new.as_ref(),
                offered: &offered,
                represents,
            },
            now,
        )
        .await?;
    let source_id = verified.source_id.clone();
    match resolving {
        Resolving::Resolved(resolved) => Ok(resolved),
        Resolving::NoAccount => Err(IdentityError::NoAccount { source_id }),
        Resolving::PhoneAmbiguous(accounts) => {
            // The accounts' ids, so the operator can tell which to correct; never the
            // number.
            let ids: Vec<&str> = accounts.iter().map(|a| a.as_str()).collect();
            store
                .audit()
                .record(
                    now,
                    "login_phone_ambiguous",
                    None,
                    None,
                    &format!("source={source_id} accounts={}", ids.join(",")),
                )
                .await?;
            Err(IdentityError::PhoneAmbiguous { source_id })
        }
    }
}

/// What a login did to the browser's SSO session.
pub struct SignedIn {
    pub session: Session,
    /// The new cookie token: a fresh one at every login (no fixation).
    pub token: Secret,
    /// The browser's previous session, when it belonged to someone else: the caller
    /// ends it with the same logout notices as any other logout.
    pub displaced: Option<Session>,
}

/// Signs a verified login in. The same person re-authenticating (`prompt=login`,
/// `max_age`, a step-up) keeps the session, and with it the `sid` each portal holds,
/// with a new cookie token and the new `auth_time`/`acr`/`amr`; anyone else gets a new
/// session, and the browser's previous one is handed back to be ended.
pub async fn sign_in(
    store: &Store,
    lifetime_secs: i64,
    verified: &VerifiedIdentity,
    policy: LinkPolicy,
    current: Option<&Session>,
    user_agent: Option<&str>,
    now: i64,
) -> Result<SignedIn, IdentityError> {
    let token = crate::random::token();
    let token_hash = crate::crypto::sha256_b64url(token.expose());
    let expires_at = now + lifetime_secs;
    // The same session renewed: its id (so the `sid`s) kept, a new cookie token.
    let renew = |id: SessionId, acr: String, amr: Vec<String>| {
        let token_hash = &token_hash;
        async move {
            store
                .sessions()
                .reauthenticate(
                    &id,
                    token_hash,
                    &verified.source_id,
                    &acr,
                    &amr,
                    now,
                    expires_at,
                )
                .await
        }
    };
    if let Some(c) = step_up::second_factor_of(store, verified, policy, current).await? {
        let (acr, amr) = step_up::combined(c, verified);
        if let Some(session) = renew(c.id.clone(), acr, amr).await? {
            step_up::audit(store, verified, &session, now).await?;
            return Ok(SignedIn {
                session,
                token,
                displaced: None,
            });
        }
    }
    let account_id = resolve_account(store, verified, policy, now)
        .await?
        .account_id()
        .clone();
    if let Some(c) = current.filter(|c| c.account_id == account_id) {
        // The same person again. A credential of the account's own after other methods
        // (a passkey after the password) is a second factor: the methods add up.
        let second = step_up::is_own_second_factor(c, verified, policy);
        let (acr, amr) = if second {
            step_up::combined(c, verified)
        } else {
            (verified.loa.acr(), verified.amr.clone())
        };
        if let Some(session) = renew(c.id.clone(), acr, amr).await? {
            if second {
                step_up::audit(store, verified, &session, now).await?;
            }
            return Ok(SignedIn {
                session,
                token,
                displaced: None,
            });
        }
    }
    // Anyone else (a passkey of another account too) is a login of their own: a new
    // session, and the browser's previous one ended.
    let acr = verified.loa.acr();
    let session = Session {
        id: SessionId::generate(),
        account_id,
        source_id: verified.source_id.clone(),
        auth_time: now,
        acr,
        amr: verified.amr.clone(),
        created_at: now,
        last_seen_at: now,
        expires_at,
    };
    // At most 256 bytes, cut at a character boundary.
    let user_agent = user_agent.map(|ua| {
        let end = (0..=ua.len().min(256))
            .rev()
            .find(|&i| ua.is_char_boundary(i))
            .unwrap_or(0);
        &ua[..end]
    });
    store
        .sessions()
        .insert(&session, &token_hash, user_agent)
        .await?;
    Ok(SignedIn {
        session,
        token,
        displaced: current.cloned(),
    })
}

/// The live session behind a session cookie, if any.
pub async fn current_session(
    store: &Store,
    idle_secs: i64,
    cookie_token: Option<&str>,
    now: i64,
) -> Result<Option<Session>, StoreError> {
    let Some(token) = cookie_token.filter(|t| !t.is_empty() && t.len() <= 128) else {
        return Ok(None);
    };
    store
        .sessions()
        .touch_live(&crate::crypto::sha256_b64url(token), now, idle_secs)
        .await
}
