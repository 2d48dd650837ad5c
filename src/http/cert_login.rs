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
    let now = app.now();
    let chain = match proxy(app, &s.source_id) {
        Some(proxy) => match from_proxy(&proxy, &connection, &headers) {
            Ok(chain) => chain,
            Err(()) => {
                let detail = format!(
                    "source={} peer={} header={}",
                    s.source_id,
                    connection.peer.ip(),
                    proxy.header
                );
                if let Err(e) = app
                    .services
                    .store
                    .audit()
                    .record(now, "login_certificate_header_refused", None, None, &detail)
                    .await
                {
                    tracing::warn!(error = %e, "auditing a refused certificate header failed");
                }
                Vec::new()
            }
        },
        None => connection.chain.as_ref().clone(),
    };
    tracing::debug!(peer = %connection.peer, certificates = chain.len(), "certificate presented");
    let presented = PresentedCertificate { chain, now };
    match login::handoff::hand_off(
        &app.services.login(&super::i18n::SmsCatalogue),
        &s.source_id,
        handle,
        // No address: the listener's peer may be its TLS-terminating proxy, and the
        // certificate step counts none (the main origin's callback runs under the
        // address counters).
        crate::sources::StepContext::default(),
        Input::Certificate(&presented),
        now,
    )
    .await
    {
        Ok(url) => see_other(&url),
        Err(e) => super::login::error_page_for(app, lang, e),
    }
}

fn proxy(app: &AppState, source_id: &str) -> Option<crate::config::ProxyConfig> {
    match app.services.sources.get(source_id) {
        Some(crate::sources::Source::X509(x)) => match &x.kind.mode {
            crate::config::ListenerMode::Proxy(p) => Some(p.clone()),
            crate::config::ListenerMode::Tls { .. } => None,
        },
        _ => None,
    }
}

/// The chain a trusted proxy passed in its header. From any other address the header
/// is not believed (anyone can send one): `Err`, and the request has no certificate.
fn from_proxy(
    proxy: &crate::config::ProxyConfig,
    connection: &CertConnection,
    headers: &HeaderMap,
) -> Result<Vec<Vec<u8>>, ()> {
    let value = headers
        .get(proxy.header.as_str())
        .map(|v| v.as_bytes())
        .filter(|v| !v.is_empty());
    let trusted = proxy
        .trusted_proxies
        .iter()
        .any(|net| net.contains(connection.peer.ip()));
    match (value, trusted) {
        (Some(value), true) => Ok(pem_chain(&percent_decode(value))),
        (Some(_), false) => {
            tracing::warn!(peer = %connection.peer, header = %proxy.header,
                "a client-certificate header from an address that is not a trusted proxy; ignored");
            Err(())
        }
        (None, _) => Ok(Vec::new()),
    }
}

/// `%XX` decoded (nginx's `$ssl_client_escaped_cert`); `+` stays `+` (base64).
fn percent_decode(value: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        match (
            value[i],
            value.get(i + 1).copied().and_then(hex),
            value.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(h << 4 | l);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The certificates of a PEM text, leaf first (nothing when it holds none).
fn pem_chain(pem: &[u8]) -> Vec<Vec<u8>> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .map(|c| c.as_ref().to_vec())
        .collect()
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

#[cfg(test)]
mod tests {
    #[test]
    fn nginx_escaped_certificates_decode() {
        assert_eq!(
            super::percent_decode(b"-----BEGIN%20CERTIFICATE-----%0AMII+/a%3D%0A"),
            b"-----BEGIN CERTIFICATE-----\nMII+/a=\n"
        );
        assert_eq!(super::percent_decode(b"100%"), b"100%", "a stray % stays");
        assert!(super::pem_chain(b"not a certificate").is_empty());
    }
}
