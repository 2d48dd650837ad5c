//! `/login`: the sign-in page for a pending authorization, and its form.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::authorize::step_response;
use super::csrf::Browser;
use super::errors::{csrf_failure, flow_error};
use super::i18n::{self, Lang};
use super::pages::{self, LoginPage};
use super::{AppState, cookies, forms};
use crate::ids::PendingId;
use crate::oidc::flow::{self, FlowError, LoginOutcome, LoginView};
use crate::secret::Secret;
use crate::sources::Callback;

const PURPOSE: &str = "login";

#[derive(Deserialize)]
pub struct PageQuery {
    request: String,
}

fn render(
    app: &AppState,
    lang: Lang,
    browser: &Browser,
    view: &LoginView,
    username: &str,
    error: Option<String>,
) -> Response {
    let csrf = browser.csrf_token(&app.provider.master, PURPOSE, view.pending_id.as_str());
    // After a POST too: the GET form of the page, which shows the same request.
    let here = pages::pending_page("/login", view.pending_id.as_str());
    pages::html(
        StatusCode::OK,
        LoginPage {
            lang,
            here: Some(&here),
            client_name: &view.client_name,
            for_account: view.for_account,
            request_id: view.pending_id.as_str(),
            csrf: &csrf,
            username,
            error,
            sources: &view.sources,
        },
    )
}

pub async fn page(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let issuer = app.provider.issuer();
    let default = app.provider.config.default_language;
    let here = pages::pending_page("/login", &q.request);
    let lang = i18n::negotiate(&headers, &[], default);
    let Some(browser) = Browser::from_headers(&headers) else {
        return flow_error(lang, Some(&here), FlowError::WrongBrowser, issuer);
    };
    let id = PendingId::new(q.request);
    match flow::login_view(&app.provider, &id, &browser.binding(), app.now()).await {
        Ok(view) => {
            let lang = i18n::negotiate(&headers, &view.ui_locales, default);
            let hint = view.login_hint.clone().unwrap_or_default();
            render(&app, lang, &browser, &view, &hint, None)
        }
        Err(e) => flow_error(lang, Some(&here), e, issuer),
    }
}

pub async fn submit(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let provider = &app.provider;
    let issuer = provider.issuer();
    let now = app.now();
    let default = provider.config.default_language;
    let lang = i18n::negotiate(&headers, &[], default);
    let form = forms::pairs(&body);
    let field = |name| forms::field(&form, name);
    let (Some(browser), Some(request)) = (Browser::from_headers(&headers), field("request")) else {
        return csrf_failure(lang);
    };
    if !browser.check_csrf(&provider.master, PURPOSE, request, field("csrf")) {
        return csrf_failure(lang);
    }
    let here = pages::pending_page("/login", request);
    let id = PendingId::new(request);
    let username = field("username").unwrap_or_default().to_owned();
    let callback = Callback::UsernamePassword {
        username: username.clone(),
        password: Secret::new(field("password").unwrap_or_default()),
    };
    let current = match cookies::session(provider, &headers, now).await {
        Ok(s) => s,
        Err(e) => return flow_error(lang, Some(&here), e.into(), issuer),
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let source = field("source").unwrap_or("password");
    match flow::login(
        provider,
        &id,
        &browser.binding(),
        source,
        callback,
        current.as_ref(),
        user_agent,
        now,
    )
    .await
    {
        Ok(LoginOutcome::SignedIn {
            step,
            session_token,
        }) => {
            let mut response = step_response(&step);
            response.headers_mut().append(
                header::SET_COOKIE,
                cookies::set(cookies::SESSION, session_token.expose()),
            );
            response
        }
        Ok(LoginOutcome::Refused { view, refusal }) => {
            tracing::info!(source, "login refused: {refusal}");
            let lang = i18n::negotiate(&headers, &view.ui_locales, default);
            let message = pages::refusal(lang, &refusal);
            render(&app, lang, &browser, &view, &username, Some(message))
        }
        Err(e) => flow_error(lang, Some(&here), e, issuer),
    }
}
