//! `/authorize` (GET and POST, OIDC Core section 3.1.2.1).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;

use super::csrf::Browser;
use super::errors::{authorize_error, error_page, see_other};
use super::{AppState, cookies, forms};
use crate::oidc::OAuthError;
use crate::oidc::authorize::Params;
use crate::oidc::flow::{self, Step};

pub async fn get(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = forms::params(query.unwrap_or_default().as_bytes());
    run(app, headers, params).await
}

pub async fn post(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !forms::is_form(&headers) {
        return error_page(&OAuthError::invalid_request(
            "POST to /authorize must be application/x-www-form-urlencoded",
        ));
    }
    run(app, headers, forms::params(&body)).await
}

async fn run(app: AppState, headers: HeaderMap, params: Params) -> Response {
    let provider = &app.provider;
    let now = app.now();
    let browser = Browser::from_headers_or_new(&headers);
    let session = match cookies::session(provider, &headers, now).await {
        Ok(s) => s,
        Err(e) => return error_page(&e.into()),
    };
    let mut response =
        match flow::authorize(provider, params, session.as_ref(), &browser.binding(), now).await {
            Ok(step) => step_response(&step),
            Err(e) => authorize_error(e, provider.issuer()),
        };
    if browser.is_new {
        response
            .headers_mut()
            .append(header::SET_COOKIE, browser.set_cookie());
    }
    response
}

/// The redirect for the next step of the flow.
pub fn step_response(step: &Step) -> Response {
    match step {
        Step::Login(id) => see_other(&format!("/login?request={id}")),
        Step::Consent(id) => see_other(&format!("/consent?request={id}")),
        Step::Redirect(url) => see_other(url),
    }
}
