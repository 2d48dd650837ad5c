//! `POST /login/{source_id}/conditional`: the login page's script asks for a passkey
//! attempt for its username field's autofill (WebAuthn conditional mediation). Form
//! fields `request` and `csrf` (the login page's token); the answer is JSON with the
//! request options (`mediation: "conditional"`), the attempt's handle and where the
//! assertion goes, which the script posts there exactly as the passkey button's form
//! does. No person reads these answers (the script falls back to the button on any
//! refusal), so a refusal is a status and a machine code, not a catalogue text.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::csrf::Browser;
use super::{AppState, forms};
use crate::login::{self, LoginError};

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    // Options with a challenge, and a handle good once: never from a cache.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn refused(status: StatusCode, code: &str) -> Response {
    answer(status, json!({ "error": code }))
}

pub async fn begin(
    State(app): State<AppState>,
    Path(source_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = forms::pairs(&body);
    let (Some(browser), Some(to)) = (
        Browser::from_headers(&headers),
        super::login::return_to(&form),
    ) else {
        return refused(StatusCode::FORBIDDEN, "csrf_token_invalid");
    };
    if !browser.check_csrf(
        &app.services.master,
        super::login::PURPOSE,
        to.key(),
        forms::field(&form, "csrf"),
    ) {
        tracing::info!("conditional passkey refused: CSRF token missing or invalid");
        return refused(StatusCode::FORBIDDEN, "csrf_token_invalid");
    }
    let started = login::start_conditional(
        &app.services.login(&super::i18n::SmsCatalogue),
        &source_id,
        &to,
        &browser.binding(),
        app.now(),
    )
    .await;
    match started {
        Ok(view) => answer(
            StatusCode::OK,
            json!({
                "options": view.webauthn,
                "attempt": view.attempt,
                "action": format!("/login/{}", view.source_id),
            }),
        ),
        Err(LoginError::NotOffered) => {
            tracing::info!(source = %source_id, "conditional passkey refused: the source is not offered for this request");
            refused(StatusCode::BAD_REQUEST, "source_not_offered")
        }
        Err(LoginError::Flow(_) | LoginError::WrongBrowser | LoginError::AttemptGone) => {
            refused(StatusCode::BAD_REQUEST, "login_gone")
        }
        Err(LoginError::SourceUnavailable { source_id, detail }) => {
            tracing::error!(source = %source_id, %detail, "identity source unavailable");
            refused(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
        }
        Err(LoginError::Store(e)) => {
            tracing::error!(error = ?e, "conditional passkey: store failure");
            refused(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
        }
    }
}
