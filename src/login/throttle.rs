//! Brute-force protection of the logins (issue 22, finding 1; ASVS 2.2.1, RFC 9700
//! section 4.1's advice on credential guessing). Failures are counted against the
//! account an attempt names (the form's `username` at that source, known or not) and
//! against the client address, in the database (`store::throttle`), so every node
//! enforces one limit. A key that has failed too often waits a delay that doubles with
//! each failure, then is locked for a while; a blocked attempt runs nothing (no argon2)
//! and gets the same "try again later" whether the account exists or not.
//!
//! Below its back-off threshold a key is read before the attempt and charged after it,
//! only if it failed: logins that succeed, however many at once (a shared enterprise
//! account, many people behind one address), never count. From the threshold on, an
//! account's attempt is counted before it runs, in the statement that refuses a blocked
//! key, so a burst of concurrent guesses at an account in back-off runs one; the first
//! burst at a clean account may run as many guesses as the hashing queues hold before
//! their failures land (at most `password.max_concurrent_hashes` +
//! `password.max_queued_hashes` per node). A success resets the account's count. Every
//! failed attempt is audited, and the first attempt refused in each block of a key.

use std::net::IpAddr;

use super::{LoginError, LoginServices, Notice, Outcome, ReturnTo, chooser_for};
use crate::config::BruteForceConfig;
use crate::crypto::sha256_b64url;
use crate::oidc::flow::LoginRequirements;
use crate::sources::{Advance, CertificateProblem, Refusal, Rejection, UpstreamFailure};
use crate::store::{Claim, Store, StoreError};

/// The counters one attempt was admitted under.
#[derive(Debug)]
pub(super) struct Admitted {
    account: Option<Counter>,
    address: Option<Counter>,
}

#[derive(Debug)]
struct Counter {
    key: String,
    /// Failures in the window when the attempt was admitted.
    failures: i64,
    /// Counted already (by `claim`), to be taken back if nothing was checked.
    claimed: bool,
}

/// Why an attempt may not run now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Blocked {
    /// Unix seconds.
    pub until: i64,
    /// The first attempt refused in this block of its key: audited; the rest are not,
    /// one by one (a flood of refusals would queue every audit append behind the
    /// chain's head, and each is answered without checking anything).
    pub first: bool,
}

/// Who tried: the account name typed at the source (if its form has one) and where from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Trier<'a> {
    pub source_id: &'a str,
    pub username: Option<&'a str>,
    pub address: Option<IpAddr>,
}

impl<'a> Trier<'a> {
    pub fn new(
        source_id: &'a str,
        fields: &'a [(String, String)],
        address: Option<IpAddr>,
    ) -> Self {
        let username = fields
            .iter()
            .find(|(k, _)| k == "username")
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty());
        Trier {
            source_id,
            username,
            address,
        }
    }

    /// The account's counter: one per source and name, in any case (a name differing
    /// only in case gets no fresh tries), stored as a hash.
    fn account_key(&self) -> Option<String> {
        self.username.map(|u| {
            format!(
                "account:{}",
                sha256_b64url(&format!("{}\0{}", self.source_id, u.to_lowercase()))
            )
        })
    }

    /// What the audit trail names the person by when no account is known.
    fn username_hash(&self) -> Option<String> {
        self.username.map(|u| sha256_b64url(&u.to_lowercase()))
    }
}

/// The address's counter (`model::address::counted_as`: an IPv6 client by its /64).
fn address_key(address: IpAddr) -> String {
    format!(
        "address:{}",
        sha256_b64url(&crate::model::address::counted_as(address))
    )
}

/// Whether the attempt may run: neither its address nor its account is blocked. An
/// account in back-off is charged now (`Throttle::claim`).
pub(super) async fn admit(
    store: &Store,
    policy: &BruteForceConfig,
    trier: &Trier<'_>,
    now: i64,
) -> Result<Result<Admitted, Blocked>, StoreError> {
    let throttle = store.throttle();
    let mut address = None;
    if let Some(key) = trier.address.map(address_key) {
        let (failures, until) = throttle.status(&key, policy, now).await?;
        if until > now {
            return Ok(Err(refused(&throttle, &key, now).await?));
        }
        address = Some(Counter {
            key,
            failures,
            claimed: false,
        });
    }
    let mut account = None;
    if let Some(key) = trier.account_key() {
        let (failures, until) = throttle.status(&key, policy, now).await?;
        if until > now {
            return Ok(Err(refused(&throttle, &key, now).await?));
        }
        let claimed = failures >= i64::from(policy.account.backoff_after);
        if claimed
            && let Claim::Blocked { until, first } =
                throttle.claim(&key, policy.account, policy, now).await?
        {
            return Ok(Err(Blocked { until, first }));
        }
        account = Some(Counter {
            key,
            failures,
            claimed,
        });
    }
    Ok(Ok(Admitted { account, address }))
}

/// A key found blocked: when it ends, and whether this is the block's first refusal.
async fn refused(
    throttle: &crate::store::Throttle<'_>,
    key: &str,
    now: i64,
) -> Result<Blocked, StoreError> {
    Ok(match throttle.refused(key, now).await? {
        Claim::Blocked { until, first } => Blocked { until, first },
        Claim::Counted { .. } => Blocked {
            until: now + 1,
            first: false,
        },
    })
}

/// Whether the source checked a credential and found it wrong (the attempt stays
/// counted), verified it (the account's count ends), or checked nothing.
fn verdict(advance: &Advance) -> Verdict {
    match advance {
        Advance::Refused(Refusal::Rejected {
            reason: Rejection::BadCredentials | Rejection::WrongAnswer,
            ..
        }) => Verdict::Wrong,
        // A certificate presented and found wrong (not the absence of one, nor a CRL
        // Portico could not read), and an upstream answer that is forged or not this
        // attempt's: charged like a wrong password. A cancellation or an outage is not.
        Advance::Refused(Refusal::Rejected {
            reason:
                Rejection::Certificate(
                    CertificateProblem::UnknownIssuer
                    | CertificateProblem::Revoked
                    | CertificateProblem::WrongUsage
                    | CertificateProblem::Expired
                    | CertificateProblem::NotYetValid,
                ),
            ..
        }) => Verdict::Wrong,
        Advance::Refused(Refusal::Upstream {
            failure:
                UpstreamFailure::BadSignature
                | UpstreamFailure::WrongNonce
                | UpstreamFailure::WrongIssuer
                | UpstreamFailure::Invalid,
            ..
        }) => Verdict::Wrong,
        Advance::Verified(_) => Verdict::Right,
        _ => Verdict::Unchecked,
    }
}

enum Verdict {
    Wrong,
    Right,
    Unchecked,
}

/// Settles an admitted attempt by what the source answered: a wrong credential is
/// charged to both counters (unless already claimed), a success clears the account's,
/// an attempt that checked nothing takes its claim back.
pub(super) async fn settle(
    store: &Store,
    policy: &BruteForceConfig,
    admitted: Admitted,
    advance: &Advance,
    now: i64,
) -> Result<(), StoreError> {
    let throttle = store.throttle();
    match verdict(advance) {
        Verdict::Wrong => {
            if let Some(c) = &admitted.address {
                throttle.record(&c.key, policy.address, policy, now).await?;
            }
            if let Some(c) = admitted.account.as_ref().filter(|c| !c.claimed) {
                throttle.record(&c.key, policy.account, policy, now).await?;
            }
        }
        Verdict::Right => {
            if let Some(c) = admitted
                .account
                .as_ref()
                .filter(|c| c.claimed || c.failures > 0)
            {
                throttle.reset(&c.key).await?;
            }
        }
        Verdict::Unchecked => {
            if let Some(c) = admitted.account.as_ref().filter(|c| c.claimed) {
                throttle.refund(&c.key, now).await?;
            }
        }
    }
    Ok(())
}

/// Runs a source's step (`run`, not begun until admitted) under the counters: blocked,
/// it runs nothing; else it is settled by its answer, and a refusal is audited.
pub(super) async fn guarded(
    services: &LoginServices<'_>,
    trier: &Trier<'_>,
    now: i64,
    run: impl std::future::Future<Output = Advance>,
) -> Result<Result<Advance, Blocked>, StoreError> {
    let (store, policy) = (services.store(), services.brute_force);
    let admitted = match admit(store, policy, trier, now).await? {
        Ok(admitted) => admitted,
        Err(blocked) => {
            if blocked.first {
                audit_failure(store, trier, "throttled", now).await;
            }
            return Ok(Err(blocked));
        }
    };
    let advance = run.await;
    settle(store, policy, admitted, &advance, now).await?;
    if let Advance::Refused(refusal) = &advance {
        audit_failure(store, trier, &reason(refusal), now).await;
    }
    Ok(Ok(advance))
}

/// The login page again: too many failures for this account or address; the same
/// whether the account exists or not.
pub(super) async fn try_later(
    services: &LoginServices<'_>,
    return_to: &ReturnTo,
    client_name: Option<String>,
    req: &LoginRequirements,
    blocked: Blocked,
    typed: &[(String, String)],
) -> Result<Outcome, LoginError> {
    Ok(Outcome::Choose {
        chooser: chooser_for(services, return_to, client_name, req, typed).await?,
        notice: Notice::TryLater {
            until: blocked.until,
        },
    })
}

/// Why a login failed, as the audit trail names it: `certificate_<problem>` and
/// `upstream_<failure>` say which.
pub(super) fn reason(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Rejected {
            reason: Rejection::Certificate(problem),
            ..
        } => return format!("certificate_{}", problem.as_str()),
        Refusal::Upstream { failure, .. } => return format!("upstream_{}", upstream(*failure)),
        _ => {}
    }
    match refusal {
        Refusal::Rejected {
            reason: Rejection::BadCredentials,
            ..
        } => "bad_credentials",
        Refusal::Rejected {
            reason: Rejection::WrongAnswer,
            ..
        } => "wrong_answer",
        Refusal::Rejected {
            reason: Rejection::Incomplete { .. },
            ..
        } => "incomplete",
        Refusal::Rejected {
            reason: Rejection::Certificate(_),
            ..
        } => "certificate",
        Refusal::Rejected {
            reason: Rejection::NotAMobileNumber,
            ..
        } => "not_a_mobile_number",
        Refusal::Rejected {
            reason: Rejection::ResendTooSoon,
            ..
        } => "resend_too_soon",
        Refusal::Rejected {
            reason: Rejection::SendLimit,
            ..
        } => "send_limit",
        Refusal::Rejected {
            reason: Rejection::NoOperator,
            ..
        } => "no_operator",
        Refusal::Unavailable { .. } => "unavailable",
        Refusal::Upstream { .. } => "upstream",
        Refusal::TooManyAttempts { .. } => "too_many_attempts",
        Refusal::Expired { .. } => "expired",
    }
    .to_owned()
}

fn upstream(failure: UpstreamFailure) -> &'static str {
    match failure {
        UpstreamFailure::Cancelled => "cancelled",
        UpstreamFailure::Timeout => "timeout",
        UpstreamFailure::Unreachable => "unreachable",
        UpstreamFailure::BadSignature => "bad_signature",
        UpstreamFailure::WrongNonce => "wrong_nonce",
        UpstreamFailure::WrongIssuer => "wrong_issuer",
        UpstreamFailure::Error => "error",
        UpstreamFailure::Invalid => "invalid",
    }
}

/// Audits a failed login: `login_failed`, with the source, the reason, the address, and
/// the account when the name is one's at this source (else the name's hash). A failure
/// to audit is logged, not shown: the person's answer does not depend on it.
pub(super) async fn audit_failure(store: &Store, trier: &Trier<'_>, reason: &str, now: i64) {
    let account = match trier.username {
        Some(name) => store
            .identities()
            .account_of(trier.source_id, name)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "looking up the account of a failed login");
                None
            }),
        None => None,
    };
    let mut detail = format!("source={} reason={reason}", trier.source_id);
    if account.is_none()
        && let Some(hash) = trier.username_hash()
    {
        detail.push_str(&format!(" username_sha256={hash}"));
    }
    if let Some(address) = trier.address {
        detail.push_str(&format!(" address={address}"));
    }
    if let Err(e) = store
        .audit()
        .record(now, "login_failed", account.as_deref(), None, &detail)
        .await
    {
        tracing::error!(error = %e, "audit record failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let a = address_key("2001:db8:1:2::1".parse().unwrap());
        let b = address_key("2001:db8:1:2:ffff::9".parse().unwrap());
        let c = address_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            address_key("::ffff:192.0.2.1".parse().unwrap()),
            address_key("192.0.2.1".parse().unwrap())
        );
    }

    #[test]
    fn the_account_key_ignores_case_and_names_the_source() {
        let fields = |u: &str| vec![("username".to_owned(), u.to_owned())];
        let (f1, f2) = (fields(" Mai "), fields("mai"));
        assert_eq!(
            Trier::new("password", &f1, None).account_key(),
            Trier::new("password", &f2, None).account_key()
        );
        assert_ne!(
            Trier::new("password", &f1, None).account_key(),
            Trier::new("other", &f1, None).account_key()
        );
        assert_eq!(Trier::new("password", &[], None).account_key(), None);
    }
}
