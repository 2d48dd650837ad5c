//! `/end_session` (RP-Initiated Logout 1.0) and its confirmation form at `/logout`.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::csrf::Browser;
use super::errors::{csrf_failure, error_page, see_other};
use super::i18n::{self, Lang};
use super::pages::{self, LoggedOutPage, LogoutConfirmPage};
use super::{AppState, cookies, forms};
use crate::model::Session;
use crate::oidc::OAuthError;
use crate::oidc::authorize::Params;
use crate::oidc::logout::{self, LogoutRequest};

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
        let lang = i18n::negotiate(&headers, &[], app.services.config.default_language);
        let error = OAuthError::invalid_request("the body must be a form");
        return error_page(lang, None, &error);
    }
    run(app, headers, forms::params(&body), true).await
}

/// `posted`: a portal's auto-submitted form is a cross-site POST, on which browsers do
/// not send the SameSite=Lax session cookie; its absence then proves nothing, so the
/// person is asked (the confirmation form is same-site and carries the cookie). Turning
/// the POST into a GET instead would put the `id_token_hint`, personal data, in the URL:
/// browser history and proxy logs, which a portal that POSTs means to avoid.
async fn run(app: AppState, headers: HeaderMap, params: Params, posted: bool) -> Response {
    let provider = &app.services;
    let now = app.now();
    let default = provider.config.default_language;
    let request = match logout::validate(&provider.keys, &provider.store, &params, app.now()).await
    {
        Ok(r) => r,
        Err(e) => return error_page(i18n::negotiate(&headers, &[], default), None, &e),
    };
    let lang = i18n::negotiate(&headers, &request.ui_locales, default);
    let session = match cookies::session(provider, &headers, now).await {
        Ok(s) => s,
        Err(e) => return error_page(lang, None, &e.into()),
    };
    match session {
        None if posted => confirm(&app, lang, &headers, &request),
        None => signed_out(lang, &request, &[]),
        Some(s) if request.is_from_session(&provider.issuer, &s) => {
            perform(&app, lang, &s, &request).await
        }
        Some(_) => confirm(&app, lang, &headers, &request),
    }
}

/// The request cannot be tied to this session's portal: ask the person. The form is bound
/// to a cookie of its own, never to a new browser cookie (`Browser::for_logout_or_new`).
fn confirm(app: &AppState, lang: Lang, headers: &HeaderMap, request: &LogoutRequest) -> Response {
    let browser = Browser::for_logout_or_new(headers);
    let client_id = request
        .client
        .as_ref()
        .map(|c| c.client_id.to_string())
        .unwrap_or_default();
    let csrf = browser.csrf_token(&app.services.master, PURPOSE, &client_id);
    let here = confirmation_address(request);
    let ui_locales = request.ui_locales.join(" ");
    // The confirmed logout may redirect straight to the portal's post-logout URI.
    let leads_to = request.redirect.as_ref().map(|r| r.origin());
    let mut response = pages::html_leading_to(
        StatusCode::OK,
        LogoutConfirmPage {
            lang,
            here: Some(&here),
            ui_locales: &ui_locales,
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
        leads_to.as_deref(),
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
    let lang = i18n::negotiate(&headers, &[], app.services.config.default_language);
    let Some(browser) = Browser::for_logout(&headers) else {
        return csrf_failure(lang);
    };
    if !browser.check_csrf(&app.services.master, PURPOSE, client_id, field("csrf")) {
        return csrf_failure(lang);
    }
    let mut response = answer(&app, &headers, &form).await;
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookies::clear(cookies::LOGOUT));
    response
}

async fn answer(app: &AppState, headers: &HeaderMap, form: &[(String, String)]) -> Response {
    let provider = &app.services;
    let now = app.now();
    let field = |name| forms::field(form, name);
    // Validated again: the hidden fields came back through the browser.
    let kept = [
        "client_id",
        "post_logout_redirect_uri",
        "state",
        "ui_locales",
    ];
    let params = Params::from_pairs(
        form.iter()
            .filter(|(k, v)| kept.contains(&k.as_str()) && !v.is_empty())
            .cloned(),
    );
    let default = provider.config.default_language;
    let request = match logout::validate(&provider.keys, &provider.store, &params, app.now()).await
    {
        Ok(r) => r,
        Err(e) => return error_page(i18n::negotiate(headers, &[], default), None, &e),
    };
    let lang = i18n::negotiate(headers, &request.ui_locales, default);
    if field("decision") != Some("logout") {
        return pages::html(
            StatusCode::OK,
            LoggedOutPage {
                lang,
                here: Some("/account"),
                title: i18n::t(lang, "still-signed-in-title"),
                message: i18n::t(lang, "still-signed-in-message"),
                frontchannel: &[],
                redirect: None,
            },
        );
    }
    match cookies::session(provider, headers, now).await {
        Ok(Some(s)) => perform(app, lang, &s, &request).await,
        Ok(None) => signed_out(lang, &request, &[]),
        Err(e) => error_page(lang, None, &e.into()),
    }
}

async fn perform(
    app: &AppState,
    lang: Lang,
    session: &Session,
    request: &LogoutRequest,
) -> Response {
    match logout::end_session(
        &app.services.store,
        &app.services.tokens,
        &app.services.backchannel,
        session,
        app.now(),
    )
    .await
    {
        Ok(frontchannel) => signed_out(lang, request, &frontchannel),
        Err(e) => error_page(lang, None, &e),
    }
}

/// The confirmation's GET address, for the language switcher: the same request without
/// its `id_token_hint` (personal data, kept out of URLs), which asks again.
fn confirmation_address(request: &LogoutRequest) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(client) = &request.client {
        query.append_pair("client_id", client.client_id.as_str());
    }
    if let Some(redirect) = &request.redirect {
        query.append_pair("post_logout_redirect_uri", redirect.uri());
    }
    if let Some(state) = &request.state {
        query.append_pair("state", state);
    }
    if !request.ui_locales.is_empty() {
        query.append_pair("ui_locales", &request.ui_locales.join(" "));
    }
    format!("/end_session?{}", query.finish())
}

/// After logout: front-channel iframes when portals want them, then back to the portal
/// when it gave a registered URI; the session cookie is cleared either way.
pub fn signed_out(lang: Lang, request: &LogoutRequest, frontchannel: &[String]) -> Response {
    let redirect = request.redirect.as_ref().map(|r| r.url());
    let mut response = if frontchannel.is_empty() && redirect.is_some() {
        see_other(redirect.as_deref().unwrap_or_default())
    } else {
        logged_out_page(lang, frontchannel, redirect.as_deref())
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookies::clear(cookies::SESSION));
    response
}

pub fn logged_out_page(lang: Lang, frontchannel: &[String], redirect: Option<&str>) -> Response {
    let origins: Vec<String> = frontchannel
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .map(|u| u.origin().ascii_serialization())
        .collect();
    pages::html_framing(
        StatusCode::OK,
        LoggedOutPage {
            lang,
            // With no session, `/end_session` shows this page again.
            here: Some("/end_session"),
            title: i18n::t(lang, "logged-out-title"),
            message: i18n::t(lang, "logged-out-message"),
            frontchannel,
            redirect,
        },
        &origins,
    )
}
