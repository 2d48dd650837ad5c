//! `/login` and `/login/{source_id}`: the login page for a pending request (or the
//! account page), a source's own steps, and `/login/{source_id}/callback` where another
//! origin sends the browser back. Everything is decided by `login`; this file parses,
//! checks the CSRF token and renders.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::authorize::step_response;
use super::csrf::Browser;
use super::errors::{csrf_failure, error_page, flow_error, see_other};
use super::pages::{self, ErrorPage, FieldView, FormView, LoginPage, LoginStepPage, OfferView};
use super::{AppState, cookies, forms};
use crate::config::DisplayName;
use crate::ids::PendingId;
use crate::login::{self, Chooser, LoginError, Next, Notice, Outcome, ReturnTo, SignedInAs};
use crate::oidc::OAuthError;
use crate::oidc::flow::FlowError;
use crate::sources::{Form, Refusal, Rejection};

const PURPOSE: &str = "login";

/// Where a form or link says the login returns: `request=ID` (a pending request), or
/// `request=account` (the account page; pending ids are random and never that word).
fn return_to(pairs: &[(String, String)]) -> Option<ReturnTo> {
    match forms::field(pairs, "request").filter(|v| !v.is_empty())? {
        "account" => Some(ReturnTo::Account),
        id => Some(ReturnTo::Authorization(PendingId::new(id))),
    }
}

fn return_field(to: &ReturnTo) -> (&'static str, &str) {
    ("request", to.key())
}

/// The page language. (Catalogues come with the language negotiation.)
fn lang() -> &'static str {
    "en"
}

/// A catalogue text by id.
fn text(id: &str) -> String {
    match id {
        "source-password" => "Username and password",
        "login-username" => "Username",
        "login-password" => "Password",
        "login-code" => "Code",
        "login-submit" => "Sign in",
        other => other,
    }
    .to_owned()
}

fn name_of(display: &DisplayName) -> String {
    match display {
        DisplayName::Message(id) => text(id),
        DisplayName::Text { en, .. } => en.clone(),
    }
}

fn name_of_source(app: &AppState, source_id: &str) -> String {
    app.provider
        .sources
        .get(source_id)
        .map(|s| name_of(s.display_name()))
        .unwrap_or_else(|| source_id.to_owned())
}

fn notice_text(app: &AppState, notice: &Notice) -> String {
    let (source_id, what) = match notice {
        Notice::NoAccount { source_id } => (source_id.as_str(), "no account uses this login yet"),
        Notice::Refused(r) => (
            r.source_id(),
            match r {
                Refusal::Rejected {
                    reason: Rejection::BadCredentials,
                    ..
                } => "the username or password is incorrect",
                Refusal::Rejected {
                    reason: Rejection::Incomplete { .. },
                    ..
                } => "the form is incomplete",
                Refusal::Rejected {
                    reason: Rejection::WrongAnswer,
                    ..
                } => "the answer is not correct",
                Refusal::TooManyAttempts { .. } => "too many attempts; please start again",
                Refusal::Expired { .. } => "this sign-in attempt has expired; please start again",
                Refusal::Unavailable { .. } => "not available right now",
            },
        ),
    };
    format!("{}: {what}", name_of_source(app, source_id))
}

fn form_view(form: &Form) -> FormView {
    FormView {
        fields: form
            .fields
            .iter()
            .map(|f| FieldView {
                name: f.name.clone(),
                label: text(&f.label),
                input_type: f.kind.input_type(),
                autocomplete: f.autocomplete.clone(),
                value: f.value.clone(),
            })
            .collect(),
        submit: text(&form.submit),
    }
}

fn render_chooser(
    app: &AppState,
    browser: &Browser,
    chooser: &Chooser,
    notice: Option<&Notice>,
) -> Response {
    let csrf = browser.csrf_token(&app.provider.master, PURPOSE, chooser.return_to.key());
    let (return_name, return_value) = return_field(&chooser.return_to);
    pages::html(
        StatusCode::OK,
        LoginPage {
            lang: lang(),
            client_name: chooser.client_name.as_deref(),
            return_name,
            return_value,
            csrf: &csrf,
            notice: notice.map(|n| notice_text(app, n)),
            offers: chooser
                .offers
                .iter()
                .map(|o| OfferView {
                    source_id: o.source_id.clone(),
                    name: name_of(&o.display_name),
                    form: o.form.as_ref().map(form_view),
                })
                .collect(),
        },
    )
}

fn render(app: &AppState, browser: &Browser, outcome: Result<Outcome, LoginError>) -> Response {
    let issuer = app.provider.issuer();
    match outcome {
        Ok(Outcome::Choose { chooser, notice }) => {
            render_chooser(app, browser, &chooser, Some(&notice))
        }
        Ok(Outcome::Step(view)) => {
            let csrf = browser.csrf_token(&app.provider.master, PURPOSE, view.return_to.key());
            let (return_name, return_value) = return_field(&view.return_to);
            pages::html(
                StatusCode::OK,
                LoginStepPage {
                    lang: lang(),
                    source_id: &view.source_id,
                    source_name: &name_of(&view.display_name),
                    return_name,
                    return_value,
                    csrf: &csrf,
                    attempt: view.attempt.as_deref(),
                    notice: view.notice.as_ref().map(|n| notice_text(app, n)),
                    form: form_view(&view.form),
                },
            )
        }
        Ok(Outcome::Away(url)) => see_other(&url),
        Ok(Outcome::SignedIn {
            next,
            session_token,
        }) => {
            let mut response = match next {
                Next::Authorization(step) => step_response(&step),
                Next::AccountPage => see_other("/account"),
            };
            response.headers_mut().append(
                header::SET_COOKIE,
                cookies::set(cookies::SESSION, session_token.expose()),
            );
            response
        }
        Err(e) => login_error(e, issuer),
    }
}

fn login_error(error: LoginError, issuer: &str) -> Response {
    let (status, title, message) = match error {
        LoginError::Flow(e) => return flow_error(e, issuer),
        LoginError::WrongBrowser => return flow_error(FlowError::WrongBrowser, issuer),
        LoginError::Store(e) => return error_page(&e.into()),
        LoginError::NotOffered => {
            return error_page(&OAuthError::invalid_request(
                "that identity source is not offered for this request",
            ));
        }
        LoginError::AttemptGone => (
            StatusCode::BAD_REQUEST,
            "This sign-in attempt is no longer valid",
            "It was already completed, it expired, or the link was used twice. Go back to the portal and sign in again.",
        ),
        LoginError::SourceUnavailable { source_id, detail } => {
            tracing::error!(source = %source_id, %detail, "identity source unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is unavailable",
                "The sign-in service cannot check your credentials right now. Please try again in a few minutes.",
            )
        }
    };
    pages::html(
        status,
        ErrorPage {
            lang: lang(),
            title,
            message,
            code: None,
        },
    )
}

async fn signed_in_as(
    app: &AppState,
    headers: &HeaderMap,
) -> Result<Option<crate::store::Session>, Response> {
    cookies::session(&app.provider, headers, app.now())
        .await
        .map_err(|e| error_page(&e.into()))
}

fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

/// `GET /login?request=ID` (or `?return=account`): the sources for the request.
pub async fn page(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = forms::pairs(query.unwrap_or_default().as_bytes());
    let (Some(browser), Some(to)) = (Browser::from_headers(&headers), return_to(&query)) else {
        return flow_error(FlowError::WrongBrowser, app.provider.issuer());
    };
    match login::chooser(&app.provider, &to, &browser.binding(), app.now()).await {
        Ok(chooser) => render_chooser(&app, &browser, &chooser, None),
        Err(e) => login_error(e, app.provider.issuer()),
    }
}

/// `GET /login/{source_id}?request=ID`: begins an attempt at that source.
pub async fn start(
    State(app): State<AppState>,
    Path(source_id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = forms::pairs(query.unwrap_or_default().as_bytes());
    let (Some(browser), Some(to)) = (Browser::from_headers(&headers), return_to(&query)) else {
        return flow_error(FlowError::WrongBrowser, app.provider.issuer());
    };
    let outcome = login::start(
        &app.provider,
        &source_id,
        &to,
        &browser.binding(),
        app.now(),
    )
    .await;
    render(&app, &browser, outcome)
}

/// `POST /login`: the login page's form, naming its source in a field.
pub async fn submit(state: State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = forms::pairs(&body);
    let source = forms::field(&form, "source")
        .unwrap_or("password")
        .to_owned();
    submit_to(state, Path(source), headers, body).await
}

/// `POST /login/{source_id}`: a source's form.
pub async fn submit_to(
    State(app): State<AppState>,
    Path(source_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = forms::pairs(&body);
    let (Some(browser), Some(to)) = (Browser::from_headers(&headers), return_to(&form)) else {
        return csrf_failure();
    };
    if !browser.check_csrf(
        &app.provider.master,
        PURPOSE,
        to.key(),
        forms::field(&form, "csrf"),
    ) {
        return csrf_failure();
    }
    let current = match signed_in_as(&app, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let outcome = login::submit(
        &app.provider,
        &source_id,
        &to,
        &browser.binding(),
        forms::field(&form, "attempt").filter(|a| !a.is_empty()),
        &form,
        SignedInAs {
            current: current.as_ref(),
            user_agent: user_agent(&headers),
        },
        app.now(),
    )
    .await;
    render(&app, &browser, outcome)
}

/// `GET /login/{source_id}/callback`: another origin sends the browser back (a
/// top-level navigation, so the browser's SameSite=Lax cookie comes along).
pub async fn callback(
    State(app): State<AppState>,
    Path(source_id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = forms::pairs(query.unwrap_or_default().as_bytes());
    let Some(browser) = Browser::from_headers(&headers) else {
        return flow_error(FlowError::WrongBrowser, app.provider.issuer());
    };
    let current = match signed_in_as(&app, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let outcome = login::callback(
        &app.provider,
        &source_id,
        &params,
        &browser.binding(),
        SignedInAs {
            current: current.as_ref(),
            user_agent: user_agent(&headers),
        },
        app.now(),
    )
    .await;
    render(&app, &browser, outcome)
}
