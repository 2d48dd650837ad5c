//! Mapping protocol errors to HTTP: JSON for back-channel endpoints (RFC 6749 section
//! 5.2), an error redirect for the front channel once the redirect URI is verified, and
//! an HTML page when it is not.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::i18n::{Lang, t};
use super::pages::{self, ErrorPage};
use crate::oidc::authorize::AuthorizeError;
use crate::oidc::flow::FlowError;
use crate::oidc::{ErrorCode, OAuthError};

fn log(error: &OAuthError) {
    match error.code {
        ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable => {
            tracing::error!(error = error.code.as_str(), detail = ?error.detail, "{}", error.description)
        }
        _ => {
            tracing::info!(error = error.code.as_str(), detail = ?error.detail, "{}", error.description)
        }
    }
}

fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Headers every token-bearing or error JSON response carries (RFC 6749 section 5.1).
pub fn no_store(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// RFC 6749 section 5.2 error response; `invalid_client` answers 401 with a Basic
/// challenge.
pub fn oauth_json(error: OAuthError) -> Response {
    log(&error);
    let status = status_of(error.code);
    let mut response = (
        status,
        Json(json!({"error": error.code.as_str(), "error_description": error.description})),
    )
        .into_response();
    no_store(&mut response);
    if let Some(seconds) = error.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if error.code == ErrorCode::InvalidClient {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"portico\", charset=\"UTF-8\""),
        );
    }
    response
}

/// RFC 6750 section 3: errors of a protected resource, in `WWW-Authenticate`.
pub fn bearer_error(error: OAuthError) -> Response {
    let status = status_of(error.code);
    let challenge = format!(
        "Bearer realm=\"portico\", error=\"{}\", error_description=\"{}\"",
        error.code.as_str(),
        error.description.replace(['"', '\\'], "'")
    );
    let mut response = oauth_json(error);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_str(&challenge).unwrap_or_else(|_| HeaderValue::from_static("Bearer")),
    );
    response
}

/// 303 to a URL we built (a verified redirect URI or one of our pages).
pub fn see_other(url: &str) -> Response {
    let mut r = Redirect::to(url).into_response();
    *r.status_mut() = StatusCode::SEE_OTHER;
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The page for an error a portal caused or a failure of ours: what it means to a person
/// in `lang`, with the English `error_description` as a technical detail where it says
/// more than the message. `here`: the page's GET address, for the language switcher.
pub fn error_page(lang: Lang, here: Option<&str>, error: &OAuthError) -> Response {
    log(error);
    let (title, message, detail) = match error.code {
        ErrorCode::TemporarilyUnavailable => (
            t(lang, "error-unavailable-title"),
            t(lang, "error-unavailable-message"),
            None,
        ),
        ErrorCode::ServerError => (
            t(lang, "error-server-title"),
            t(lang, "error-server-message"),
            None,
        ),
        ErrorCode::InvalidClient => (
            t(lang, "error-unknown-portal-title"),
            t(lang, "error-unknown-portal-message"),
            None,
        ),
        _ => (
            t(lang, "error-invalid-link-title"),
            t(lang, "error-invalid-link-message"),
            Some(error.description.as_ref()),
        ),
    };
    // A page is for a person, not a client: no 401 challenge here.
    let status = match status_of(error.code) {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => StatusCode::BAD_REQUEST,
        other => other,
    };
    pages::html(
        status,
        ErrorPage {
            lang,
            here,
            title,
            message,
            detail,
            code: Some(error.code.as_str()),
        },
    )
}

pub fn authorize_error(
    lang: Lang,
    here: Option<&str>,
    error: AuthorizeError,
    issuer: &str,
) -> Response {
    match error {
        AuthorizeError::Page(e) => error_page(lang, here, &e),
        AuthorizeError::Redirect { target, error } => {
            log(&error);
            see_other(&target.with_error(&error, issuer))
        }
    }
}

pub fn flow_error(lang: Lang, here: Option<&str>, error: FlowError, issuer: &str) -> Response {
    let (status, title, message) = match error {
        FlowError::Authorize(e) => return authorize_error(lang, here, e, issuer),
        FlowError::Expired => (
            StatusCode::BAD_REQUEST,
            t(lang, "error-expired-title"),
            t(lang, "error-expired-message"),
        ),
        FlowError::WrongBrowser => (
            StatusCode::BAD_REQUEST,
            t(lang, "error-wrong-browser-title"),
            t(lang, "error-wrong-browser-message"),
        ),
        FlowError::NotYourSession => (
            StatusCode::FORBIDDEN,
            t(lang, "error-not-your-session-title"),
            t(lang, "error-not-your-session-message"),
        ),
    };
    pages::html(
        status,
        ErrorPage {
            lang,
            here,
            title,
            message,
            detail: None,
            code: None,
        },
    )
}

/// A form whose CSRF token is missing or wrong. It answers a POST: there is no GET
/// address to show it again in another language.
pub fn csrf_failure(lang: Lang) -> Response {
    tracing::info!("form refused: CSRF token missing or invalid");
    pages::html(
        StatusCode::FORBIDDEN,
        ErrorPage {
            lang,
            here: None,
            title: t(lang, "error-csrf-title"),
            message: t(lang, "error-csrf-message"),
            detail: None,
            code: Some("csrf_token_invalid"),
        },
    )
}
