//! What `login` answers the pages: the login page, a source's step, another origin, or
//! a finished login.

use super::ReturnTo;
use crate::config::DisplayName;
use crate::model::Session;
use crate::oidc::flow;
use crate::secret::Secret;
use crate::sources::{Form, Refusal};

/// A source offered on the login page.
#[derive(Debug, Clone)]
pub struct Offer {
    pub source_id: String,
    pub display_name: DisplayName,
    /// The form shown on the page itself (a source whose first step is a form with no
    /// state); otherwise the page links to `/login/{source_id}`.
    pub form: Option<Form>,
}

/// The login page: who asks, and the sources that can meet the request.
#[derive(Debug, Clone)]
pub struct Chooser {
    pub return_to: ReturnTo,
    /// The portal's name; `None` for the account page.
    pub client_name: Option<String>,
    pub ui_locales: Vec<String>,
    /// Where the login leads (the portal's redirect origin), for the page's CSP.
    pub redirect_origin: Option<String>,
    pub offers: Vec<Offer>,
}

/// Why the person is shown a page again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Refused(Refusal),
    /// The login was right, but no account has it and the source may not make one.
    NoAccount {
        source_id: String,
    },
    /// The login's number is the verified phone of several accounts: none was signed
    /// in, nothing was made.
    PhoneAmbiguous {
        source_id: String,
    },
    /// Too many failed logins for this account or from this address: try again at
    /// `until` (unix seconds). Nothing was checked.
    TryLater {
        until: i64,
    },
    /// The login to link belongs to another account: nothing was linked or merged.
    LinkedElsewhere {
        source_id: String,
    },
}

/// One source's form step, on a page of its own.
#[derive(Debug, Clone)]
pub struct StepView {
    pub return_to: ReturnTo,
    pub source_id: String,
    pub display_name: DisplayName,
    pub form: Form,
    /// The attempt's handle, posted back with the form.
    pub attempt: Option<String>,
    pub notice: Option<Notice>,
    pub ui_locales: Vec<String>,
    /// As [`Chooser::redirect_origin`].
    pub redirect_origin: Option<String>,
    /// A WebAuthn step's options (`PublicKeyCredentialRequestOptions` as JSON): the page
    /// runs the ceremony and posts the credential as the `credential` field.
    pub webauthn: Option<serde_json::Value>,
}

/// What the browser is shown or sent to next.
#[derive(Debug)]
pub enum Outcome {
    /// The login page again, saying why.
    Choose { chooser: Chooser, notice: Notice },
    /// A source's form.
    Step(StepView),
    /// Another origin (an upstream provider, the certificate listener).
    Away(String),
    /// Signed in: set the session cookie and go on.
    SignedIn { next: Next, session_token: Secret },
    /// A login at the source was linked to the signed-in account (or was already its).
    Linked { source_id: String },
}

/// Where a finished login goes.
#[derive(Debug)]
pub enum Next {
    Authorization(flow::Step),
    AccountPage,
}

/// Who is signing in from where: the browser's current session (a re-login keeps it)
/// and its user agent.
#[derive(Clone, Copy)]
pub struct SignedInAs<'a> {
    pub current: Option<&'a Session>,
    pub user_agent: Option<&'a str>,
    /// The client's address (the socket's peer, or what a trusted proxy says).
    pub address: Option<std::net::IpAddr>,
}
