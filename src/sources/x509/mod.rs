//! `kind = "x509"`: a digital certificate (on a USB token or smart card) presented as a
//! TLS client certificate at a listener of its own, then judged here, not in the
//! handshake: the chain to a configured root, validity at the injected clock's time,
//! key usage, and revocation (CRLs), so that every refusal gets a page instead of a TLS
//! alert.
//!
//! The flow crosses origins. `begin` sends the browser to
//! `{public_url}/certificate/{fresh}?handoff=H`; the listener gives this source the
//! peer's chain ([`Input::Certificate`]), and what it concludes (a verified identity or
//! the problem) is sealed in the attempt's next state, never in a URL; the browser goes
//! back to `/login/{id}/callback?handoff=H2`, where the login finishes or the refusal
//! page is shown.

mod crl;
mod mapping;
mod ocsp;
mod verify;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Advance, AttemptState, BeginContext, Input, Refusal, Rejection, SourceServices, Step};
use crate::config::{SourceConfig, X509SourceConfig};
use crate::model::VerifiedIdentity;

pub use crl::{Crls, CurrentCrl};
/// The certificate-field mapping on its own, before any chain check: for the fuzz
/// target (`fuzzing::certificate_mapping`).
#[cfg(feature = "fuzzing")]
pub use mapping::{identity as map_certificate, issuer_and_serial};

/// Why a certificate was not accepted; each has its own page saying what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateProblem {
    /// The browser sent no certificate (the token not inserted, or the person chose none).
    NoCertificate,
    Expired,
    NotYetValid,
    /// Not issued under a configured root (or not verifiable: a forged or damaged chain).
    UnknownIssuer,
    /// Not for client authentication (key usage or extended key usage).
    WrongUsage,
    Revoked,
    /// No CRL gives its status, or the CRL is out of date.
    RevocationUnknown,
    /// Valid, but naming no national identifier or tax code Portico reads.
    NoIdentifier,
}

impl CertificateProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateProblem::NoCertificate => "no_certificate",
            CertificateProblem::Expired => "expired",
            CertificateProblem::NotYetValid => "not_yet_valid",
            CertificateProblem::UnknownIssuer => "unknown_issuer",
            CertificateProblem::WrongUsage => "wrong_usage",
            CertificateProblem::Revoked => "revoked",
            CertificateProblem::RevocationUnknown => "revocation_unknown",
            CertificateProblem::NoIdentifier => "no_identifier",
        }
    }
}

/// What the certificate listener saw on the connection.
#[derive(Debug, Clone)]
pub struct PresentedCertificate {
    /// The peer's chain as sent, leaf first (DER); empty when none was sent.
    pub chain: Vec<Vec<u8>>,
    /// When it was presented (the injected clock).
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// Sent to the certificate listener; it comes back to this callback.
    AwaitingCertificate { callback_url: String },
    /// The listener judged the certificate; the main origin shows the outcome.
    Checked(Checked),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Checked {
    Verified(Box<VerifiedIdentity>),
    Refused(CertificateProblem),
}

#[derive(Debug, Clone)]
pub struct X509Source {
    pub config: SourceConfig,
    pub kind: X509SourceConfig,
    trust: Arc<verify::Trust>,
    pub crls: Arc<Crls>,
    ocsp: Option<Arc<ocsp::Ocsp>>,
}

impl X509Source {
    pub fn new(config: &SourceConfig, kind: &X509SourceConfig) -> Self {
        X509Source {
            config: config.clone(),
            kind: kind.clone(),
            trust: Arc::new(verify::Trust::new(kind)),
            crls: Arc::new(Crls::new(
                kind.crls.clone(),
                kind.trust_anchors
                    .iter()
                    .chain(&kind.intermediates)
                    .map(|c| c.to_vec())
                    .collect(),
            )),
            ocsp: kind
                .ocsp
                .then(|| Arc::new(ocsp::Ocsp::new(kind.ocsp_responder.clone()))),
        }
    }

    pub fn begin(&self, ctx: &BeginContext<'_>) -> super::Begin {
        // A fresh path each time: "Try again" after inserting the token is a new page,
        // never one a browser might answer from what it remembers.
        let fresh = crate::random::token();
        let mut url = self.kind.public_url.clone();
        url.set_path(&format!("/certificate/{}", fresh.expose()));
        url.query_pairs_mut().append_pair("handoff", ctx.handle);
        super::Begin {
            step: Step::Redirect { url: url.into() },
            state: AttemptState::X509(State::AwaitingCertificate {
                callback_url: ctx.callback_url.to_owned(),
            }),
        }
    }

    pub async fn advance(
        &self,
        services: &SourceServices<'_>,
        state: State,
        input: Input<'_>,
    ) -> Advance {
        let source_id = || self.config.id.clone();
        match (state, input) {
            (State::AwaitingCertificate { callback_url }, Input::Certificate(presented)) => {
                let checked = self.check(services, presented).await;
                Advance::Continue {
                    step: Step::Redirect { url: callback_url },
                    state: AttemptState::X509(State::Checked(checked)),
                }
            }
            (State::Checked(Checked::Verified(v)), Input::Returned(_)) => Advance::Verified(*v),
            (State::Checked(Checked::Refused(problem)), Input::Returned(_)) => {
                Advance::Refused(Refusal::Rejected {
                    source_id: source_id(),
                    reason: Rejection::Certificate(problem),
                })
            }
            _ => Advance::Refused(Refusal::Expired {
                source_id: source_id(),
            }),
        }
    }

    /// Judges the presented chain; audits a refusal with the certificate's issuer and
    /// serial, and an acceptance likewise.
    async fn check(
        &self,
        services: &SourceServices<'_>,
        presented: &PresentedCertificate,
    ) -> Checked {
        let crls = self.crls.current();
        let outcome = match verify::check(&self.trust, &crls, &presented.chain, presented.now) {
            Ok(path) => self.revocation(services, &crls, &path, presented.now).await,
            Err(problem) => Err(problem),
        }
        .and_then(|()| {
            mapping::identity(
                &self.config.id,
                self.config.loa,
                &self.kind.issuers,
                &presented.chain[0],
            )
            .ok_or(CertificateProblem::NoIdentifier)
        });
        let named = presented
            .chain
            .first()
            .map(|leaf| mapping::issuer_and_serial(leaf))
            .unwrap_or_default();
        let (event, detail) = match &outcome {
            // The certificate's issuer and serial name it; the holder's national id
            // stays out of the log and the audit trail (it is on the account).
            Ok(v) => (
                "login_certificate_accepted",
                format!(
                    "source={} kind={}{} {named}",
                    self.config.id,
                    v.verified("account_kind").unwrap_or("citizen"),
                    v.verified("representative_of")
                        .map(|t| format!(" representative_of=MST:{t}"))
                        .unwrap_or_default()
                ),
            ),
            Err(problem) => (
                "login_certificate_refused",
                format!(
                    "source={} reason={} {named}",
                    self.config.id,
                    problem.as_str()
                ),
            ),
        };
        tracing::info!(source = %self.config.id, "{event}: {detail}");
        if let Err(e) = services
            .store
            .audit()
            .record(presented.now, event, None, None, &detail)
            .await
        {
            tracing::warn!(error = %e, "auditing a certificate login failed");
        }
        match outcome {
            Ok(v) => Checked::Verified(Box::new(v)),
            Err(problem) => Checked::Refused(problem),
        }
    }

    /// Each certificate of the path below the root: known not revoked by a fresh CRL
    /// (revocations in any CRL were refused by `verify::check` already), else by OCSP,
    /// else as `revocation_unknown` says.
    async fn revocation(
        &self,
        services: &SourceServices<'_>,
        crls: &[CurrentCrl],
        path: &[Vec<u8>],
        now: i64,
    ) -> Result<(), CertificateProblem> {
        for (i, cert) in path[..path.len() - 1].iter().enumerate() {
            if verify::covered(crls, cert, self.kind.stale_crl, now) {
                continue;
            }
            let status = match &self.ocsp {
                Some(o) => o.status(services.http, cert, &path[i + 1], now).await,
                None => None,
            };
            match status {
                Some(ocsp::Status::Good) => {}
                Some(ocsp::Status::Revoked) => return Err(CertificateProblem::Revoked),
                Some(ocsp::Status::Unknown) | None => {
                    if self.kind.revocation_unknown == crate::config::RevocationPolicy::Refuse {
                        return Err(CertificateProblem::RevocationUnknown);
                    }
                }
            }
        }
        Ok(())
    }
}
