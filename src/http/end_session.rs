//! `/end_session` (RP-Initiated Logout 1.0) and its confirmation form at `/logout`.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::csrf::Browser;
use super::errors::{csrf_failure, error_page, see_other};
use super::pages::{self, LoggedOutPage, LogoutConfirmPage};
use super::{AppState, cookies, forms};
use crate::oidc::OAuthError;
use crate::oidc::authorize::Params;
use crate::oidc::logout::{self, LogoutRequest};
use crate::store::Session;

const PURPOSE: &str = "logout";

pub async fn get(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    run(
        app,
        headers,
        forms::params(query.unwrap_or_default().as_bytes()),
        false,
    )
    .await
}

pub async fn post(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !forms::is_form(&headers) {
        return error_page(&OAuthError::invalid_request("the body must be a form"));
    }
    run(app, headers, forms::params(&body), true).await
}

/// `posted`: a portal's auto-submitted form is a cross-site POST, on which browsers do
/// not send the SameSite=Lax session cookie; its absence then proves nothing, so the
/// person is asked (the confirmation form is same-site and carries the cookie). Turning
/// the POST into a GET instead would put the `id_token_hint`, personal data, in the URL:
/// browser history and proxy logs, which a portal that POSTs means to avoid.
async fn run(app: AppState, headers: HeaderMap, params: Params, posted: bool) -> Response {
    let provider = &app.provider;
    let now = app.now();
    let request = match logout::validate(provider, &params).await {
        Ok(r) => r,
        Err(e) => return error_page(&e),
    };
    let session = match cookies::session(provider, &headers, now).await {
        Ok(s) => s,
        Err(e) => return error_page(&e.into()),
    };
    match session {
        None if posted => confirm(&app, &headers, &request),
        None => signed_out(&request, &[]),
        Some(s) if request.is_from_session(provider, &s) => perform(&app, &s, &request).await,
        Some(_) => confirm(&app, &headers, &request),
    }
}

/// The request cannot be tied to this session's portal: ask the person. The form is bound
/// to a cookie of its own, never to a new browser cookie (`Browser::for_logout_or_new`).
fn confirm(app: &AppState, headers: &HeaderMap, request: &LogoutRequest) -> Response {
    let browser = Browser::for_logout_or_new(headers);
    let client_id = request
        .client
        .as_ref()
        .map(|c| c.client_id.to_string())
        .unwrap_or_default();
    let csrf = browser.csrf_token(&app.provider.master, PURPOSE, &client_id);
    let mut response = pages::html(
        StatusCode::OK,
        LogoutConfirmPage {
            lang: pages::lang(&request.ui_locales),
            client_name: request.client.as_ref().map(|c| c.name.as_str()),
            client_id: &client_id,
            redirect_uri: request
                .redirect
                .as_ref()
                .map(|r| r.uri())
                .unwrap_or_default(),
            state: request.state.as_deref().unwrap_or_default(),
            csrf: &csrf,
            redirect_refused: request.redirect_refused,
        },
    );
    if browser.is_new {
        response
            .headers_mut()
            .append(header::SET_COOKIE, browser.set_cookie());
    }
    response
}

/// The confirmation form. Once answered, its cookie is cleared (not on a forged post,
/// which must not spoil the real form).
pub async fn confirmed(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = forms::pairs(&body);
    let field = |name| forms::field(&form, name);
    let client_id = field("client_id").unwrap_or_default();
    let Some(browser) = Browser::for_logout(&headers) else {
        return csrf_failure();
    };
    if !browser.check_csrf(&app.provider.master, PURPOSE, client_id, field("csrf")) {
        return csrf_failure();
    }
    let mut response = answer(&app, &headers, &form).await;
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookies::clear(cookies::LOGOUT));
    response
}

async fn answer(app: &AppState, headers: &HeaderMap, form: &[(String, String)]) -> Response {
    let provider = &app.provider;
    let now = app.now();
    let field = |name| forms::field(form, name);
    // Validated again: the hidden fields came back through the browser.
    let kept = ["client_id", "post_logout_redirect_uri", "state"];
    let params = Params::from_pairs(
        form.iter()
            .filter(|(k, v)| kept.contains(&k.as_str()) && !v.is_empty())
            .cloned(),
    );
    let request = match logout::validate(provider, &params).await {
        Ok(r) => r,
        Err(e) => return error_page(&e),
    };
    if field("decision") != Some("logout") {
        return pages::html(
            StatusCode::OK,
            LoggedOutPage {
                lang: "en",
                title: "You are still signed in",
                message: "Nothing was changed. You can close this page.",
                frontchannel: &[],
                redirect: None,
            },
        );
    }
    match cookies::session(provider, headers, now).await {
        Ok(Some(s)) => perform(app, &s, &request).await,
        Ok(None) => signed_out(&request, &[]),
        Err(e) => error_page(&e.into()),
    }
}

async fn perform(app: &AppState, session: &Session, request: &LogoutRequest) -> Response {
    match logout::end_session(&app.provider, session, app.now()).await {
        Ok(frontchannel) => signed_out(request, &frontchannel),
        Err(e) => error_page(&e),
    }
}

/// After logout: front-channel iframes when portals want them, then back to the portal
/// when it gave a registered URI; the session cookie is cleared either way.
pub fn signed_out(request: &LogoutRequest, frontchannel: &[String]) -> Response {
    let redirect = request.redirect.as_ref().map(|r| r.url());
    let mut response = if frontchannel.is_empty() && redirect.is_some() {
        see_other(redirect.as_deref().unwrap_or_default())
    } else {
        logged_out_page(frontchannel, redirect.as_deref())
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookies::clear(cookies::SESSION));
    response
}

pub fn logged_out_page(frontchannel: &[String], redirect: Option<&str>) -> Response {
    let origins: Vec<String> = frontchannel
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .map(|u| u.origin().ascii_serialization())
        .collect();
    pages::html_framing(
        StatusCode::OK,
        LoggedOutPage {
            lang: "en",
            title: "You are signed out",
            message: "Your session has ended at Portico and at the portals you used with it.",
            frontchannel,
            redirect,
        },
        &origins,
    )
}
