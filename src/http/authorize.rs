//! `/authorize` (GET and POST, OIDC Core section 3.1.2.1).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;

use super::csrf::Browser;
use super::errors::{authorize_error, error_page, see_other};
use super::{AppState, cookies, forms, i18n};
use crate::oidc::OAuthError;
use crate::oidc::authorize::Params;
use crate::oidc::flow::{self, Step};

pub async fn get(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let params = forms::params(query.as_bytes());
    // An error page shows again, in the other language, at the same address.
    let here = format!("/authorize?{query}");
    run(app, headers, params, Some(&here)).await
}

pub async fn post(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !forms::is_form(&headers) {
        let lang = i18n::negotiate(&headers, &[], app.services.config.default_language);
        let error = OAuthError::invalid_request(
            "POST to /authorize must be application/x-www-form-urlencoded",
        );
        return error_page(lang, None, &error);
    }
    run(app, headers, forms::params(&body), None).await
}

/// An error page here is in the language of the portal's `ui_locales` when it is one
/// that the request got as far as stating.
async fn run(app: AppState, headers: HeaderMap, params: Params, here: Option<&str>) -> Response {
    let provider = &app.services;
    let now = app.now();
    let ui_locales = i18n::split_ui_locales(params.get("ui_locales").ok().flatten());
    let lang = i18n::negotiate(&headers, &ui_locales, provider.config.default_language);
    let browser = Browser::from_headers_or_new(&headers);
    let session = match cookies::session(provider, &headers, now).await {
        Ok(s) => s,
        Err(e) => return error_page(lang, here, &e.into()),
    };
    let mut response = match flow::authorize(
        &provider.flow(),
        params,
        session.as_ref(),
        &browser.binding(),
        now,
    )
    .await
    {
        Ok(step) => step_response(&step),
        Err(e) => authorize_error(lang, here, e, provider.issuer_url()),
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
