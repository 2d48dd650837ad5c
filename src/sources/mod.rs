//! Identity sources: every way of proving who someone is sits behind one contract,
//! driven by `login`.
//!
//! A source [`Source::begin`]s an attempt and answers the first [`Step`]: a form to
//! render, a redirect to another origin, or a WebAuthn challenge, with its own typed
//! state ([`AttemptState`]). It then [`Source::advance`]s with what came back and answers
//! [`Advance`]: another step (with new state), a [`VerifiedIdentity`], or a typed
//! [`Refusal`] naming the source. Sources keep nothing between requests themselves:
//! `login` seals their state into the database, so any node can finish an attempt.
//! A new kind is a new module and a variant here; protocol code never changes for it.

mod oidc;
mod password;
pub mod sms_otp;
mod step;
#[cfg(feature = "test-sources")]
mod test_two_step;
pub mod webauthn;
pub mod x509;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::{DisplayName, SourceConfig, SourceKindConfig};
use crate::model::Loa;
pub use crate::model::VerifiedIdentity;

pub use oidc::OidcSource;
pub use password::PasswordSource;
pub use sms_otp::{SmsOtpSource, SmsTexts};
pub use step::{Field, FieldKind, Form, Input, Step};
pub use webauthn::WebauthnSource;
pub use x509::{CertificateProblem, PresentedCertificate, X509Source};

/// The services a source may use while it advances. Built from the composition root;
/// each source takes what it needs from it.
pub struct SourceServices<'a> {
    pub store: &'a crate::store::Store,
    pub passwords: &'a crate::crypto::password::PasswordHasherPool,
    /// Outbound HTTP (upstream providers, gateways): timeouts set, no redirects followed.
    pub http: &'a reqwest::Client,
    /// The text messages' wording, from the catalogues (`sms_otp`).
    pub sms_texts: &'a dyn SmsTexts,
}

/// What a source is told when an attempt begins.
pub struct BeginContext<'a> {
    /// The attempt's one-time handle: an upstream `state`, or the hand-off token another
    /// origin brings back to `/login/{id}/callback`.
    pub handle: &'a str,
    /// `{issuer}/login/{id}/callback`.
    pub callback_url: &'a str,
    pub login_hint: Option<&'a str>,
    /// A passkey asked for from the login page's autofill (WebAuthn conditional
    /// mediation) rather than from a button; only `webauthn` reads it.
    pub conditional: bool,
}

/// What a source is told about the request a step came in with, besides what the
/// person gave ([`Input`]). Its own argument, not a field of [`SourceServices`] (the
/// composition root's services, the same for every request) nor of [`Input`] (what was
/// typed or sent back, which a source may trust only as far as it checks it): these are
/// facts Portico established about the request itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct StepContext {
    /// The client's address (the socket's peer, or what a trusted proxy says), when
    /// known: `sms_otp` counts the messages it sends per address.
    pub client_address: Option<std::net::IpAddr>,
}

/// Why a source did not verify someone. Each names the source; the page says it in the
/// person's language, the log keeps the detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{source_id}: rejected ({reason:?})")]
    Rejected {
        source_id: String,
        reason: Rejection,
    },
    #[error("{source_id}: unavailable: {detail}")]
    Unavailable { source_id: String, detail: String },
    #[error("{source_id}: too many attempts")]
    TooManyAttempts { source_id: String },
    #[error("{source_id}: the attempt expired")]
    Expired { source_id: String },
    /// An upstream provider did not vouch for the person (`detail` is for the log).
    #[error("{source_id}: upstream {failure:?}: {detail}")]
    Upstream {
        source_id: String,
        failure: UpstreamFailure,
        detail: String,
    },
}

/// What went wrong at (or with) an upstream provider; each has its own page text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// The person cancelled there (`error=access_denied`).
    Cancelled,
    /// It did not answer in time.
    Timeout,
    /// It could not be reached.
    Unreachable,
    /// A token's signature did not verify by its key set (or no key matched).
    BadSignature,
    /// The ID token's nonce is not the one this attempt sent.
    WrongNonce,
    /// The answer names another issuer.
    WrongIssuer,
    /// It answered with an error other than a cancellation.
    Error,
    /// Anything else wrong with what it answered (audience, expiry, subject...).
    Invalid,
}

impl Refusal {
    pub fn source_id(&self) -> &str {
        match self {
            Refusal::Rejected { source_id, .. }
            | Refusal::Unavailable { source_id, .. }
            | Refusal::TooManyAttempts { source_id }
            | Refusal::Expired { source_id }
            | Refusal::Upstream { source_id, .. } => source_id,
        }
    }
}

/// What was wrong with what the person gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Unknown username or wrong password (never told apart).
    BadCredentials,
    /// A required field was empty.
    Incomplete { field: &'static str },
    /// A one-time code or answer that does not match.
    WrongAnswer,
    /// A certificate that was not accepted, and why.
    Certificate(CertificateProblem),
    /// Not a mobile number the source accepts.
    NotAMobileNumber,
    /// A new code was asked for within a minute of the last one: nothing was sent.
    ResendTooSoon,
    /// The number, the client's address or the source had its share of messages for
    /// now: nothing was sent.
    SendLimit,
    /// A mobile number no configured operator serves.
    NoOperator,
}

/// Per-kind state of one attempt, sealed by `login` between steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttemptState {
    Password(password::State),
    Oidc(oidc::State),
    #[cfg(feature = "test-sources")]
    TestTwoStep(test_two_step::State),
    X509(x509::State),
    SmsOtp(Box<sms_otp::State>),
    Webauthn(webauthn::State),
    /// A passkey being registered from `/account` (no source advances it).
    WebauthnRegistration(Box<webauthn::RegistrationState>),
}

impl AttemptState {
    /// Whether there is nothing to keep: a form posted without a stored attempt begins
    /// again from the same state (the password form), so no row is written for it.
    pub fn is_stateless(&self) -> bool {
        match self {
            AttemptState::Password(_) => true,
            AttemptState::Oidc(_) => false,
            #[cfg(feature = "test-sources")]
            AttemptState::TestTwoStep(_) => false,
            AttemptState::X509(_) => false,
            AttemptState::SmsOtp(_) => false,
            AttemptState::Webauthn(_) | AttemptState::WebauthnRegistration(_) => false,
        }
    }
}

/// The first step of an attempt.
#[derive(Debug, Clone)]
pub struct Begin {
    pub step: Step,
    pub state: AttemptState,
}

/// What an attempt does after a step.
#[derive(Debug)]
pub enum Advance {
    Continue {
        step: Step,
        state: AttemptState,
    },
    /// Begin again, with this `login_hint` the person gave (the number a Mobile Connect
    /// operator asks about): `login` begins the source that serves it under a new
    /// handle, which an upstream redirect carries as its `state`.
    Restart {
        login_hint: String,
    },
    Verified(VerifiedIdentity),
    Refused(Refusal),
}

/// How `identity` may treat a source's verified identities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkPolicy {
    /// May a verified national id from this source link to an existing account?
    pub trusted_for_linking: bool,
    /// May a login no account knows create one? (Not for local passwords: their
    /// accounts exist before their logins.)
    pub creates_accounts: bool,
    /// Does a login whose verified `phone_number` is the verified phone of the
    /// browser's signed-in account count as that person's second factor (a step-up
    /// on the same session)? Only a source that proves control of the number.
    pub steps_up_by_phone: bool,
    /// Does a login with a verified `phone_number` go to the account whose verified
    /// phone that number is, whichever source verified it, before its own login is
    /// looked up? Only a source that proves control of the number.
    pub finds_by_verified_phone: bool,
    /// Does a login at this source that belongs to the browser's signed-in account (a
    /// credential registered to it) count as that person's second factor, on the same
    /// session, when the session was proven by other methods? Only a source whose
    /// credentials are registered to an account by its holder (passkeys).
    pub steps_up_by_own_credential: bool,
}

/// What the sources are built with, from the composition root.
pub struct SourceDeps<'a> {
    /// The outbound client for upstream calls (no redirects followed).
    pub http: &'a reqwest::Client,
    /// Portico's own issuer, for the callback URL `{issuer}/login/{id}/callback`.
    pub issuer: &'a str,
    pub clock: &'a Arc<dyn crate::clock::Clock>,
}

/// A configured identity source, built once at start-up.
#[derive(Debug, Clone)]
pub enum Source {
    Password(PasswordSource),
    Oidc(OidcSource),
    #[cfg(feature = "test-sources")]
    TestTwoStep(test_two_step::TestTwoStepSource),
    X509(Box<X509Source>),
    SmsOtp(Box<SmsOtpSource>),
    Webauthn(Box<WebauthnSource>),
}

impl Source {
    pub fn from_config(config: &SourceConfig, deps: &SourceDeps<'_>) -> Source {
        match &config.kind {
            SourceKindConfig::Password(_) => Source::Password(PasswordSource::new(config)),
            SourceKindConfig::Oidc(c) => Source::Oidc(OidcSource::new(config, c, deps)),
            #[cfg(feature = "test-sources")]
            SourceKindConfig::TestTwoStep(c) => {
                Source::TestTwoStep(test_two_step::TestTwoStepSource::new(config, c))
            }
            SourceKindConfig::X509(c) => Source::X509(Box::new(X509Source::new(config, c))),
            SourceKindConfig::SmsOtp(c) => {
                Source::SmsOtp(Box::new(SmsOtpSource::new(config, c, deps.clock)))
            }
            SourceKindConfig::Webauthn(_) => {
                Source::Webauthn(Box::new(WebauthnSource::new(config, deps)))
            }
        }
    }

    fn config(&self) -> &SourceConfig {
        match self {
            Source::Password(s) => &s.config,
            Source::Oidc(s) => &s.config,
            #[cfg(feature = "test-sources")]
            Source::TestTwoStep(s) => &s.config,
            Source::X509(s) => &s.config,
            Source::SmsOtp(s) => &s.config,
            Source::Webauthn(s) => &s.config,
        }
    }

    pub fn id(&self) -> &str {
        &self.config().id
    }

    pub fn display_name(&self) -> &DisplayName {
        &self.config().display_name
    }

    pub fn loa(&self) -> Loa {
        self.config().loa
    }

    pub fn link_policy(&self) -> LinkPolicy {
        match self {
            Source::Password(_) => LinkPolicy {
                trusted_for_linking: false,
                creates_accounts: false,
                steps_up_by_phone: false,
                finds_by_verified_phone: false,
                steps_up_by_own_credential: false,
            },
            Source::Oidc(s) => LinkPolicy {
                trusted_for_linking: s.kind.trusted_for_linking,
                creates_accounts: true,
                steps_up_by_phone: false,
                finds_by_verified_phone: false,
                steps_up_by_own_credential: false,
            },
            #[cfg(feature = "test-sources")]
            Source::TestTwoStep(s) => LinkPolicy {
                trusted_for_linking: s.kind.trusted_for_linking,
                creates_accounts: s.kind.creates_accounts,
                steps_up_by_phone: false,
                finds_by_verified_phone: false,
                steps_up_by_own_credential: false,
            },
            Source::X509(s) => LinkPolicy {
                trusted_for_linking: s.kind.trusted_for_linking,
                creates_accounts: s.kind.creates_accounts,
                steps_up_by_phone: false,
                finds_by_verified_phone: false,
                steps_up_by_own_credential: false,
            },
            // A number is not a national id: it links nothing; it finds the account
            // whose verified phone it is, or makes one.
            Source::SmsOtp(_) => LinkPolicy {
                trusted_for_linking: false,
                creates_accounts: true,
                steps_up_by_phone: true,
                finds_by_verified_phone: true,
                steps_up_by_own_credential: false,
            },
            // A passkey's login is written when it is registered to its account, and
            // used after another method it is that account's second factor.
            Source::Webauthn(_) => LinkPolicy {
                trusted_for_linking: false,
                creates_accounts: false,
                steps_up_by_phone: false,
                finds_by_verified_phone: false,
                steps_up_by_own_credential: true,
            },
        }
    }

    /// Whether this source can serve a request at this level with this `login_hint`:
    /// its level, and for a Mobile Connect operator a number within its prefixes.
    pub fn meets(&self, min_loa: Option<Loa>, login_hint: Option<&str>) -> bool {
        let serves = match self {
            Source::Oidc(s) => s.serves(login_hint),
            _ => true,
        };
        serves && min_loa.is_none_or(|min| self.loa() >= min)
    }

    /// Whether this is a Mobile Connect operator serving the number of this hint.
    pub fn serves_number(&self, login_hint: &str) -> bool {
        matches!(self, Source::Oidc(s) if s.serves_number(login_hint))
    }

    /// Whether the login page shows this source's first step itself (a form needing no
    /// stored state), rather than a button that begins an attempt.
    pub fn is_inline(&self) -> bool {
        matches!(self, Source::Password(_))
    }

    pub async fn begin(&self, ctx: &BeginContext<'_>) -> Result<Begin, Refusal> {
        match self {
            Source::Password(s) => Ok(s.begin(ctx)),
            Source::Oidc(s) => s.begin(ctx).await,
            #[cfg(feature = "test-sources")]
            Source::TestTwoStep(s) => Ok(s.begin(ctx)),
            Source::X509(s) => Ok(s.begin(ctx)),
            Source::SmsOtp(s) => Ok(s.begin(ctx)),
            Source::Webauthn(s) => s.begin(ctx),
        }
    }

    pub async fn advance(
        &self,
        services: &SourceServices<'_>,
        context: StepContext,
        state: AttemptState,
        input: Input<'_>,
    ) -> Advance {
        match (self, state) {
            (Source::Password(s), AttemptState::Password(_)) => s.advance(services, input).await,
            (Source::Oidc(s), AttemptState::Oidc(state)) => s.advance(state, input).await,
            #[cfg(feature = "test-sources")]
            (Source::TestTwoStep(s), AttemptState::TestTwoStep(state)) => s.advance(state, input),
            (Source::X509(s), AttemptState::X509(state)) => s.advance(services, state, input).await,
            (Source::SmsOtp(s), AttemptState::SmsOtp(state)) => {
                s.advance(services, context, *state, input).await
            }
            (Source::Webauthn(s), AttemptState::Webauthn(state)) => {
                s.advance(services, state, input).await
            }
            // State of another kind (the source was reconfigured mid-attempt).
            #[allow(unreachable_patterns)]
            _ => Advance::Refused(Refusal::Expired {
                source_id: self.id().to_owned(),
            }),
        }
    }
}

/// Every configured source, built once at start-up, in the configured order.
#[derive(Debug, Clone)]
pub struct Sources(Vec<Source>);

impl Sources {
    pub fn from_config(configs: &[SourceConfig], deps: &SourceDeps<'_>) -> Sources {
        Sources(
            configs
                .iter()
                .map(|c| Source::from_config(c, deps))
                .collect(),
        )
    }

    pub fn get(&self, id: &str) -> Option<&Source> {
        self.0.iter().find(|s| s.id() == id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Source> {
        self.0.iter()
    }

    /// The passkey source (the first, if several are configured): `/account` registers
    /// passkeys for it.
    pub fn webauthn(&self) -> Option<&WebauthnSource> {
        self.0.iter().find_map(|s| match s {
            Source::Webauthn(w) => Some(&**w),
            _ => None,
        })
    }

    /// The certificate sources, whose listeners and CRL refreshers run beside the server.
    pub fn x509(&self) -> impl Iterator<Item = &X509Source> {
        self.0.iter().filter_map(|s| match s {
            Source::X509(x) => Some(&**x),
            _ => None,
        })
    }
}
