//! HTTP: routes, extractors, pages and the mapping of protocol errors to responses.
//! Handlers stay thin: they translate HTTP into calls on `oidc` and `identity`.

mod account;
mod account_links;
mod authorize;
pub mod cert_login;
mod client_address;
mod client_auth;
mod consent;
mod cookies;
mod csrf;
mod discovery;
mod end_session;
mod errors;
mod forms;
mod health;
mod i18n;
mod introspect;
mod login;
mod pages;
mod passkey_autofill;
mod passkeys;
mod token;
mod userinfo;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::app::App;

pub use pages::format_time;

#[derive(Clone)]
pub struct AppState {
    pub services: Arc<App>,
}

impl AppState {
    pub fn now(&self) -> i64 {
        self.services.now()
    }
}

/// Every route of the provider.
pub fn router(services: Arc<App>) -> Router {
    let hsts = strict_transport_security(&services.config.issuer);
    let state = AppState { services };
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration),
        )
        .route("/jwks", get(discovery::jwks))
        .route("/authorize", get(authorize::get).post(authorize::post))
        .route("/login", get(login::page).post(login::submit))
        .route(
            "/login/{source_id}",
            get(login::start).post(login::submit_to),
        )
        .route("/login/{source_id}/callback", get(login::callback))
        .route(
            "/login/{source_id}/conditional",
            axum::routing::post(passkey_autofill::begin),
        )
        .route("/consent", get(consent::page).post(consent::submit))
        .route("/token", axum::routing::post(token::token))
        .route("/introspect", axum::routing::post(introspect::introspect))
        .route("/revoke", axum::routing::post(introspect::revoke))
        .route("/userinfo", get(userinfo::get).post(userinfo::post))
        .route(
            "/end_session",
            get(end_session::get).post(end_session::post),
        )
        .route("/logout", axum::routing::post(end_session::confirmed))
        .route("/account", get(account::page))
        .route("/account/sessions/end", axum::routing::post(account::end))
        .route("/account/link", axum::routing::post(account_links::link))
        .route(
            "/account/logins/remove",
            axum::routing::post(account_links::remove),
        )
        .route(
            "/account/consents/withdraw",
            axum::routing::post(account::withdraw),
        )
        .route(
            "/account/passkeys/new",
            axum::routing::post(passkeys::begin),
        )
        .route(
            "/account/passkeys/register",
            axum::routing::post(passkeys::register),
        )
        .route(
            "/account/passkeys/rename",
            axum::routing::post(passkeys::rename),
        )
        .route(
            "/account/passkeys/remove",
            axum::routing::post(passkeys::remove),
        )
        .route("/language", get(i18n::switch))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/static/portico.css", get(pages::stylesheet))
        .route("/static/favicon.svg", get(pages::icon))
        .route("/static/passkey.js", get(pages::passkey_script))
        .route("/favicon.ico", get(pages::icon))
        .fallback(pages::not_found)
        .layer(RequestBodyLimitLayer::new(64 * 1024))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            hsts,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                // The path only: queries carry codes and states.
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
            }),
        )
        .with_state(state)
}

/// `Strict-Transport-Security` for an https issuer (RFC 6797): a browser that has seen
/// Portico once never speaks plain http to it or its subdomains again, so a network
/// attacker cannot strip TLS from a later login. `None` for an http issuer, which the
/// configuration allows only on localhost: browsers ignore the header over http
/// (RFC 6797 section 8.1), and pinning localhost to https would break every other
/// development server on it.
fn strict_transport_security(issuer: &url::Url) -> Option<HeaderValue> {
    (issuer.scheme() == "https")
        .then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains"))
}

#[cfg(test)]
mod tests {
    use super::strict_transport_security;

    #[test]
    fn hsts_only_for_an_https_issuer() {
        let https = url::Url::parse("https://id.example.gov").unwrap();
        assert_eq!(
            strict_transport_security(&https).unwrap(),
            "max-age=31536000; includeSubDomains"
        );
        let http = url::Url::parse("http://localhost:8080").unwrap();
        assert!(strict_transport_security(&http).is_none());
    }
}
