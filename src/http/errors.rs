//! Mapping protocol errors to HTTP: JSON for back-channel endpoints (RFC 6749 section
//! 5.2), an error redirect for the front channel once the redirect URI is verified, and
//! an HTML page when it is not.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

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

pub fn error_page(error: &OAuthError) -> Response {
    log(error);
    let (title, message): (&str, &str) = match error.code {
        ErrorCode::TemporarilyUnavailable => (
            "Sign-in is unavailable",
            "The sign-in service cannot reach its database right now. Please try again in a few minutes.",
        ),
        ErrorCode::ServerError => (
            "Something went wrong",
            "The sign-in service could not complete your request.",
        ),
        ErrorCode::InvalidClient => (
            "Unknown portal",
            "The portal that sent you here is not registered with this sign-in service.",
        ),
        _ => ("This sign-in link is not valid", &error.description),
    };
    // A page is for a person, not a client: no 401 challenge here.
    let status = match status_of(error.code) {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => StatusCode::BAD_REQUEST,
        other => other,
    };
    pages::html(
        status,
        ErrorPage {
            lang: "en",
            title,
            message,
            code: Some(error.code.as_str()),
        },
    )
}

pub fn authorize_error(error: AuthorizeError, issuer: &str) -> Response {
    match error {
        AuthorizeError::Page(e) => error_page(&e),
        AuthorizeError::Redirect { target, error } => {
            log(&error);
            see_other(&target.with_error(&error, issuer))
        }
    }
}

pub fn flow_error(error: FlowError, issuer: &str) -> Response {
    let (status, title, message) = match error {
        FlowError::Authorize(e) => return authorize_error(e, issuer),
        FlowError::Expired => (
            StatusCode::BAD_REQUEST,
            "This sign-in has expired",
            "The sign-in request is no longer valid: it took too long, or it was already completed.",
        ),
        FlowError::WrongBrowser => (
            StatusCode::BAD_REQUEST,
            "This sign-in belongs to another browser",
            "The sign-in request was started in another browser, or your browser blocks cookies.",
        ),
        FlowError::NotYourSession => (
            StatusCode::FORBIDDEN,
            "Please sign in again",
            "This consent page belongs to another sign-in session.",
        ),
    };
    pages::html(
        status,
        ErrorPage {
            lang: "en",
            title,
            message,
            code: None,
        },
    )
}

/// A form whose CSRF token is missing or wrong.
pub fn csrf_failure() -> Response {
    tracing::info!("form refused: CSRF token missing or invalid");
    pages::html(
        StatusCode::FORBIDDEN,
        ErrorPage {
            lang: "en",
            title: "The form could not be accepted",
            message: "The form's security token is missing or invalid (CSRF). Go back, reload the page and try again.",
            code: Some("csrf_token_invalid"),
        },
    )
}
