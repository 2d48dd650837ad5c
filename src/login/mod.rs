//! Login: drives the identity sources for a pending request, the way node
//! `oidc-services`'s interactions and Hydra's login accept do. `oidc` ends a request
//! that needs a login as [`flow::Step::Login`] with its requirements; this module offers
//! the sources that can meet them (and refuses to start the others), begins one,
//! advances it with what comes back until it answers a verified identity or a refusal,
//! hands the identity to `identity` for an account and a session, and asks `oidc` to
//! finish the request with that session ([`flow::finish_login`]). A login for the
//! account page is the same, returning to [`ReturnTo::Account`].

mod attempts;
mod callback;
mod chooser;
mod conditional;
pub mod handoff;
mod outcome;
pub mod passkey_registration;
mod present;
mod steps;
mod throttle;
mod webauthn_step;

use serde::{Deserialize, Serialize};

use crate::config::{BruteForceConfig, SessionConfig};
use crate::crypto::MasterKey;
use crate::ids::PendingId;
use crate::oidc::backchannel::Backchannel;
use crate::oidc::flow::{self, FlowError, LoginRequirements};
use crate::oidc::revocation::AccessTokens;
use crate::sources::{Source, SourceServices, Sources};
use crate::store::Store;
use crate::store::StoreError;

pub use attempts::{MAX_TRIES, context as attempt_sealing_context};
pub use callback::callback;
pub use chooser::chooser;
use chooser::chooser_for;
pub use conditional::start_conditional;
pub use outcome::{Chooser, Next, Notice, Offer, Outcome, SignedInAs, StepView};
use present::{At, refused};
pub use steps::{start, submit};

/// Where a login goes once it succeeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnTo {
    /// Finish this pending authorization request.
    Authorization(PendingId),
    /// The account page's own login.
    Account,
    /// Linking another login to this signed-in account (from `/account`).
    Link(String),
}

impl ReturnTo {
    /// What CSRF tokens of the login forms are bound to.
    pub fn key(&self) -> &str {
        match self {
            ReturnTo::Authorization(id) => id.as_str(),
            ReturnTo::Account => "account",
            ReturnTo::Link(_) => "link",
        }
    }
}

#[derive(Debug)]
pub enum LoginError {
    /// The pending request cannot go on (expired, another browser's, invalid now).
    Flow(FlowError),
    /// The source is not configured, or cannot meet this request.
    NotOffered,
    /// The attempt is unknown, finished or replayed.
    AttemptGone,
    /// The attempt was begun in another browser.
    WrongBrowser,
    /// The source cannot check anything now (a database or hashing failure, an
    /// upstream down): an outage, never "wrong password".
    SourceUnavailable {
        source_id: String,
        detail: String,
    },
    Store(StoreError),
}

impl From<StoreError> for LoginError {
    fn from(e: StoreError) -> Self {
        LoginError::Store(e)
    }
}

impl From<FlowError> for LoginError {
    fn from(e: FlowError) -> Self {
        LoginError::Flow(e)
    }
}

/// What a login uses: the authorization flow it finishes, the sources and what they
/// use, the secrets that seal attempts, and what ending a displaced session needs.
pub struct LoginServices<'a> {
    pub flow: crate::oidc::flow::FlowServices<'a>,
    pub sources: &'a Sources,
    pub source: SourceServices<'a>,
    pub secrets: &'a MasterKey,
    pub tokens: &'a AccessTokens,
    pub backchannel: &'a Backchannel,
    pub session: &'a SessionConfig,
    pub brute_force: &'a BruteForceConfig,
}

impl LoginServices<'_> {
    fn store(&self) -> &Store {
        self.flow.store
    }
}

/// What the login must meet, and for whom it is.
async fn context(
    services: &LoginServices<'_>,
    return_to: &ReturnTo,
    browser_binding: &str,
    now: i64,
) -> Result<(Option<String>, LoginRequirements), LoginError> {
    match return_to {
        ReturnTo::Authorization(id) => {
            let c = flow::login_context(&services.flow, id, browser_binding, now).await?;
            Ok((Some(c.client_name), c.requirements))
        }
        ReturnTo::Account | ReturnTo::Link(_) => Ok((None, LoginRequirements::default())),
    }
}

/// The sources that can meet the requirements (to link: those that make logins of
/// their own, [`linkable`]).
fn eligible<'a>(
    services: &'a LoginServices<'a>,
    return_to: &'a ReturnTo,
    req: &'a LoginRequirements,
) -> impl Iterator<Item = &'a Source> + 'a {
    services
        .sources
        .iter()
        .filter(move |s| s.meets(req.min_loa, req.login_hint.as_deref()) && serves(return_to, s))
}

fn offered<'a>(
    services: &'a LoginServices<'a>,
    return_to: &ReturnTo,
    req: &LoginRequirements,
    source_id: &str,
) -> Result<&'a Source, LoginError> {
    services
        .sources
        .get(source_id)
        .filter(|s| s.meets(req.min_loa, req.login_hint.as_deref()) && serves(return_to, s))
        .ok_or(LoginError::NotOffered)
}

fn serves(return_to: &ReturnTo, source: &Source) -> bool {
    !matches!(return_to, ReturnTo::Link(_)) || linkable(source)
}

/// Whether a login at the source can be linked to an account from `/account`: a source
/// whose logins may make accounts (an upstream provider, a certificate), not one that
/// only checks accounts Portico already has (password). A mobile number is not linked
/// this way (numbers are recycled; it serves as a second factor instead), and a link
/// is carried only by sources that go to another origin and back, whose return the
/// callback finishes.
pub fn linkable(source: &Source) -> bool {
    source.link_policy().creates_accounts && matches!(source, Source::Oidc(_) | Source::X509(_))
}

fn callback_url(services: &LoginServices<'_>, source_id: &str) -> String {
    format!("{}/login/{source_id}/callback", services.flow.issuer.url())
}
