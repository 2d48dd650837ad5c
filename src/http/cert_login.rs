//! Certificate login: the certificate listener's own routes, and the refusal pages on
//! the main origin.
//!
//! `GET {public_url}/certificate/{fresh}?handoff=H` reads the chain the TLS connection
//! carried, lets `login` hand the attempt on with it, and sends the browser back to
//! `/login/{id}/callback?handoff=H2` on the main origin, where the login finishes or
//! the refusal page below is shown. No cookie is read or set on this origin.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;

use super::errors::see_other;
use super::i18n::{self, Lang};
use super::pages::{self, CertRefusedPage};
use super::{AppState, forms};
use crate::app::App;
use crate::login::{self, Chooser};
use crate::model::message_id;
use crate::sources::{CertificateProblem, Input, PresentedCertificate};

/// What the listener knows of the connection a request came on.
#[derive(Debug, Clone)]
pub struct CertConnection {
    /// The peer's certificate chain as sent, leaf first (DER); empty when none.
    pub chain: Arc<Vec<Vec<u8>>>,
    pub peer: SocketAddr,
}

#[derive(Clone)]
struct CertState {
    app: AppState,
    source_id: Arc<str>,
}

/// The routes of one certificate source's listener.
pub fn router(services: Arc<App>, source_id: &str) -> Router {
    let state = CertState {
        app: AppState { services },
        source_id: source_id.into(),
    };
    Router::new()
        .route("/certificate/{fresh}", get(present))
        .route("/static/portico.css", get(pages::stylesheet))
        .route("/static/favicon.svg", get(pages::icon))
        .fallback(not_found)
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        // Each visit is a new connection, hence a new handshake and a new chance to
        // present the certificate.
        .layer(SetResponseHeaderLayer::overriding(
            header::CONNECTION,
            HeaderValue::from_static("close"),
        ))
        .with_state(state)
}

async fn not_found(State(s): State<CertState>, headers: HeaderMap) -> Response {
    let lang = i18n::negotiate(&headers, &[], s.app.services.config.default_language);
    super::login::error_page_for(&s.app, lang, crate::login::LoginError::AttemptGone)
}

/// `GET /certificate/{fresh}?handoff=H` on the certificate listener.
async fn present(
    State(s): State<CertState>,
    Extension(connection): Extension<CertConnection>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let app = &s.app;
    let lang = i18n::negotiate(&headers, &[], app.services.config.default_language);
    let params = forms::pairs(query.unwrap_or_default().as_bytes());
    let Some(handle) = forms::field(&params, "handoff").filter(|h| !h.is_empty()) else {
        return super::login::error_page_for(app, lang, crate::login::LoginError::AttemptGone);
    };
    tracing::debug!(peer = %connection.peer, certificates = connection.chain.len(), "certificate presented");
    let now = app.now();
    let presented = PresentedCertificate {
        chain: connection.chain.as_ref().clone(),
        now,
    };
    match login::handoff::hand_off(
        &app.services.login(),
        &s.source_id,
        handle,
        Input::Certificate(&presented),
        now,
    )
    .await
    {
        Ok(url) => see_other(&url),
        Err(e) => super::login::error_page_for(app, lang, e),
    }
}

fn title_and_message(problem: CertificateProblem) -> (&'static str, &'static str) {
    match problem {
        CertificateProblem::NoCertificate => (
            message_id("cert-no-certificate-title"),
            message_id("cert-no-certificate-message"),
        ),
        CertificateProblem::Expired => (
            message_id("cert-expired-title"),
            message_id("cert-expired-message"),
        ),
        CertificateProblem::NotYetValid => (
            message_id("cert-not-yet-valid-title"),
            message_id("cert-not-yet-valid-message"),
        ),
        CertificateProblem::UnknownIssuer => (
            message_id("cert-unknown-issuer-title"),
            message_id("cert-unknown-issuer-message"),
        ),
        CertificateProblem::WrongUsage => (
            message_id("cert-wrong-usage-title"),
            message_id("cert-wrong-usage-message"),
        ),
        CertificateProblem::Revoked => (
            message_id("cert-revoked-title"),
            message_id("cert-revoked-message"),
        ),
        CertificateProblem::RevocationUnknown => (
            message_id("cert-revocation-unknown-title"),
            message_id("cert-revocation-unknown-message"),
        ),
        CertificateProblem::NoIdentifier => (
            message_id("cert-no-identifier-title"),
            message_id("cert-no-identifier-message"),
        ),
    }
}

/// The one-line notice for a certificate refusal (where a page shows a notice).
pub fn notice(lang: Lang, problem: CertificateProblem) -> String {
    i18n::t_message(lang, title_and_message(problem).0)
}

/// The page for a refused certificate, on the main origin: what went wrong, what to
/// do, "Try again" (a new attempt, hence a fresh path on the listener) and "Use
/// another way" (the login page).
pub fn refused_page(
    lang: Lang,
    chooser: &Chooser,
    source_id: &str,
    problem: CertificateProblem,
) -> Response {
    let (title, message) = title_and_message(problem);
    let key = chooser.return_to.key();
    let try_again = pages::pending_page(&format!("/login/{source_id}"), key);
    let other_way = pages::pending_page("/login", key);
    pages::html_leading_to(
        StatusCode::FORBIDDEN,
        CertRefusedPage {
            lang,
            here: Some(&other_way),
            title: i18n::t_message(lang, title),
            message: i18n::t_message(lang, message),
            try_again: &try_again,
            other_way: &other_way,
        },
        chooser.redirect_origin.as_deref(),
    )
}
