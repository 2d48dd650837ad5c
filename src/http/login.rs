//! `/login` and `/login/{source_id}`: the login page for a pending request (or the
//! account page), a source's own steps, and `/login/{source_id}/callback` where another
//! origin sends the browser back. Everything is decided by `login`; this file parses,
//! checks the CSRF token and renders.

use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use super::authorize::step_response;
use super::csrf::Browser;
use super::errors::{csrf_failure, error_page, flow_error, see_other};
use super::i18n::{self, Lang, t, t_args};
use super::pages::{self, ErrorPage, FieldView, FormView, LoginPage, LoginStepPage, OfferView};
use super::{AppState, cookies, forms};
use crate::ids::PendingId;
use crate::login::{self, Chooser, LoginError, Next, Notice, Outcome, ReturnTo, SignedInAs};
use crate::oidc::flow::FlowError;
use crate::sources::{Form, Refusal, Rejection, UpstreamFailure};

pub(super) const PURPOSE: &str = "login";

/// Where a form or link says the login returns: `request=ID` (a pending request), or
/// `request=account` (the account page; pending ids are random and never that word).
pub(super) fn return_to(pairs: &[(String, String)]) -> Option<ReturnTo> {
    match forms::field(pairs, "request").filter(|v| !v.is_empty())? {
        "account" => Some(ReturnTo::Account),
        id => Some(ReturnTo::Authorization(PendingId::new(id))),
    }
}

/// The page's language: the switcher, then the portal's `ui_locales`, then the browser.
fn lang(app: &AppState, headers: &HeaderMap, ui_locales: &[String]) -> Lang {
    i18n::negotiate(headers, ui_locales, app.services.config.default_language)
}

/// The GET address that shows a login page again (for the language switcher).
fn here(to: &ReturnTo) -> String {
    pages::pending_page("/login", to.key())
}

fn name_of_source(app: &AppState, lang: Lang, source_id: &str) -> String {
    app.services
        .sources
        .get(source_id)
        .map(|s| pages::display_name(lang, s.display_name()))
        .unwrap_or_else(|| source_id.to_owned())
}

fn notice_text(app: &AppState, lang: Lang, notice: &Notice) -> String {
    let source_id = match notice {
        Notice::NoAccount { source_id }
        | Notice::PhoneAmbiguous { source_id }
        | Notice::LinkedElsewhere { source_id } => source_id.as_str(),
        Notice::Refused(r) => r.source_id(),
        // Names no source: the counters are the account's and the address's.
        Notice::TryLater { .. } => "",
    };
    let source = || -> [(&'static str, fluent_templates::fluent_bundle::FluentValue<'static>); 1] {
        [("source", name_of_source(app, lang, source_id).into())]
    };
    match notice {
        Notice::TryLater { until } => {
            let minutes = ((until - app.now()).max(1) + 59) / 60;
            t_args(lang, "login-try-later", &[("minutes", minutes.into())])
        }
        Notice::NoAccount { .. } => t_args(lang, "login-no-account", &source()),
        Notice::PhoneAmbiguous { .. } => t_args(lang, "login-phone-ambiguous", &source()),
        Notice::LinkedElsewhere { .. } => t_args(lang, "account-link-elsewhere", &source()),
        Notice::Refused(Refusal::Rejected { reason, .. }) => match reason {
            Rejection::BadCredentials => t_args(lang, "refusal-rejected-password", &source()),
            Rejection::WrongAnswer => t_args(lang, "refusal-wrong-answer", &source()),
            Rejection::Certificate(problem) => super::cert_login::notice(lang, *problem),
            Rejection::NotAMobileNumber => t(lang, "refusal-not-a-mobile-number"),
            Rejection::ResendTooSoon => t(lang, "refusal-resend-too-soon"),
            Rejection::SendLimit => t(lang, "refusal-send-limit"),
            Rejection::NoOperator => t(lang, "refusal-no-operator"),
            Rejection::Incomplete { field } => {
                let field = match *field {
                    "password" => t(lang, "refusal-field-password"),
                    "phone" | "msisdn" => t(lang, "refusal-field-phone"),
                    _ => t(lang, "refusal-field-username"),
                };
                let [source] = source();
                t_args(
                    lang,
                    "refusal-incomplete",
                    &[source, ("field", field.into())],
                )
            }
        },
        Notice::Refused(Refusal::TooManyAttempts { .. }) => {
            t_args(lang, "refusal-too-many-attempts", &source())
        }
        Notice::Refused(Refusal::Expired { .. }) => t_args(lang, "refusal-expired", &source()),
        Notice::Refused(Refusal::Unavailable { .. }) => {
            t_args(lang, "refusal-unavailable", &source())
        }
        Notice::Refused(Refusal::Upstream { failure, .. }) => match failure {
            UpstreamFailure::Cancelled => t_args(lang, "refusal-upstream-cancelled", &source()),
            UpstreamFailure::Timeout => t_args(lang, "refusal-upstream-timeout", &source()),
            UpstreamFailure::Unreachable => t_args(lang, "refusal-upstream-unreachable", &source()),
            UpstreamFailure::BadSignature => {
                t_args(lang, "refusal-upstream-bad-signature", &source())
            }
            UpstreamFailure::WrongNonce => t_args(lang, "refusal-upstream-wrong-nonce", &source()),
            UpstreamFailure::WrongIssuer => {
                t_args(lang, "refusal-upstream-wrong-issuer", &source())
            }
            UpstreamFailure::Error => t_args(lang, "refusal-upstream-error", &source()),
            UpstreamFailure::Invalid => t_args(lang, "refusal-upstream-invalid", &source()),
        },
    }
}

fn form_view(lang: Lang, form: &Form) -> FormView {
    form_view_with(lang, form, false)
}

/// `autofill`: a passkey is offered on this page, so a username field also lists the
/// person's passkeys (`autocomplete="username webauthn"`, WebAuthn conditional UI).
fn form_view_with(lang: Lang, form: &Form, autofill: bool) -> FormView {
    FormView {
        fields: form
            .fields
            .iter()
            .map(|f| FieldView {
                name: f.name.clone(),
                label: i18n::t_message(lang, &f.label),
                input_type: f.kind.input_type(),
                autocomplete: if autofill && f.autocomplete == "username" {
                    "username webauthn".to_owned()
                } else {
                    f.autocomplete.clone()
                },
                value: f.value.clone(),
                input_mode: f.kind.input_mode().unwrap_or_default(),
            })
            .collect(),
        submit: i18n::t_message(lang, &form.submit),
        secondary: form.secondary.as_ref().map(|s| i18n::t_message(lang, s)),
    }
}

fn render_chooser(
    app: &AppState,
    headers: &HeaderMap,
    browser: &Browser,
    chooser: &Chooser,
    notice: Option<&Notice>,
) -> Response {
    let lang = lang(app, headers, &chooser.ui_locales);
    let csrf = browser.csrf_token(&app.services.master, PURPOSE, chooser.return_to.key());
    let here = here(&chooser.return_to);
    let passkey = |id: &str| super::passkeys::is_passkey(app, id);
    let script = chooser.offers.iter().any(|o| passkey(&o.source_id));
    let autofill = chooser
        .offers
        .iter()
        .find(|o| passkey(&o.source_id))
        .map(|o| o.source_id.clone());
    let html = if script {
        pages::html_with_autofill_script
    } else {
        pages::html_leading_to
    };
    html(
        StatusCode::OK,
        LoginPage {
            lang,
            here: Some(&here),
            client_name: chooser.client_name.as_deref(),
            request_id: chooser.return_to.key(),
            csrf: &csrf,
            notice: notice.map(|n| notice_text(app, lang, n)),
            offers: chooser
                .offers
                .iter()
                .map(|o| OfferView {
                    source_id: o.source_id.clone(),
                    name: pages::display_name(lang, &o.display_name),
                    form: o.form.as_ref().map(|f| form_view_with(lang, f, script)),
                    passkey: passkey(&o.source_id),
                })
                .collect(),
            script,
            autofill,
        },
        chooser.redirect_origin.as_deref(),
    )
}

pub(super) fn render(
    app: &AppState,
    headers: &HeaderMap,
    browser: &Browser,
    outcome: Result<Outcome, LoginError>,
) -> Response {
    let issuer = app.services.issuer_url();
    match outcome {
        // Linking from /account failed: say why, and lead back to the account page.
        Ok(Outcome::Choose {
            chooser:
                Chooser {
                    return_to: ReturnTo::Link(_),
                    ..
                },
            notice,
        }) => {
            // Not the login page: its forms and links lead back to a pending request.
            let lang = lang(app, headers, &[]);
            let status = match notice {
                Notice::TryLater { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::OK,
            };
            pages::html(
                status,
                ErrorPage {
                    lang,
                    here: None,
                    title: t(lang, "account-link-failed-title"),
                    message: notice_text(app, lang, &notice),
                    detail: None,
                    code: None,
                },
            )
        }
        Ok(Outcome::Choose {
            chooser,
            notice:
                Notice::Refused(Refusal::Rejected {
                    source_id,
                    reason: Rejection::Certificate(problem),
                }),
        }) => super::cert_login::refused_page(
            lang(app, headers, &chooser.ui_locales),
            &chooser,
            &source_id,
            problem,
        ),
        Ok(Outcome::Choose {
            chooser,
            notice: notice @ Notice::TryLater { until },
        }) => {
            // RFC 6585 section 4 and RFC 9110 section 10.2.3.
            let mut response = render_chooser(app, headers, browser, &chooser, Some(&notice));
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            let seconds = (until - app.now()).max(1);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            response
        }
        Ok(Outcome::Choose { chooser, notice }) => {
            render_chooser(app, headers, browser, &chooser, Some(&notice))
        }
        Ok(Outcome::Linked { .. }) => see_other("/account"),
        Ok(Outcome::Step(view)) => {
            let lang = lang(app, headers, &view.ui_locales);
            let csrf = browser.csrf_token(&app.services.master, PURPOSE, view.return_to.key());
            if let Some(options) = &view.webauthn {
                let notice = view.notice.as_ref().map(|n| notice_text(app, lang, n));
                return super::passkeys::login_step(
                    lang,
                    &here(&view.return_to),
                    &view,
                    options,
                    &csrf,
                    notice,
                );
            }
            // A step has no GET address of its own: the switcher goes back to the login page.
            let here = here(&view.return_to);
            pages::html_leading_to(
                StatusCode::OK,
                LoginStepPage {
                    lang,
                    here: Some(&here),
                    source_id: &view.source_id,
                    source_name: &pages::display_name(lang, &view.display_name),
                    request_id: view.return_to.key(),
                    csrf: &csrf,
                    attempt: view.attempt.as_deref(),
                    notice: view.notice.as_ref().map(|n| notice_text(app, lang, n)),
                    form: form_view(lang, &view.form),
                },
                view.redirect_origin.as_deref(),
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
        Err(e) => login_error(app, lang(app, headers, &[]), e, issuer),
    }
}

/// The page for a login that cannot go on (also on the certificate listener).
pub(super) fn error_page_for(app: &AppState, lang: Lang, error: LoginError) -> Response {
    login_error(app, lang, error, app.services.issuer_url())
}

fn login_error(app: &AppState, lang: Lang, error: LoginError, issuer: &str) -> Response {
    let (status, title, message) = match error {
        LoginError::Flow(e) => return flow_error(lang, None, e, issuer),
        LoginError::WrongBrowser => return flow_error(lang, None, FlowError::WrongBrowser, issuer),
        LoginError::Store(e) => return error_page(lang, None, &e.into()),
        LoginError::NotOffered => {
            tracing::info!("login refused: the source is not offered for this request");
            (
                StatusCode::BAD_REQUEST,
                t(lang, "error-source-not-offered-title"),
                t(lang, "error-source-not-offered-message"),
            )
        }
        LoginError::AttemptGone => (
            StatusCode::BAD_REQUEST,
            t(lang, "error-attempt-gone-title"),
            t(lang, "error-attempt-gone-message"),
        ),
        LoginError::SourceUnavailable { source_id, detail } => {
            tracing::error!(source = %source_id, %detail, "identity source unavailable");
            let source = name_of_source(app, lang, &source_id);
            let mut response = pages::html(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorPage {
                    lang,
                    here: None,
                    title: t(lang, "error-unavailable-title"),
                    message: t_args(lang, "login-outage", &[("source", source.into())]),
                    detail: None,
                    code: None,
                },
            );
            // RFC 9110 section 10.2.3. An outage is usually a full password queue: by
            // the queue's timeout every hash now waiting has run or been refused.
            let seconds = app.services.config.password.queue_timeout.as_secs().max(1);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            return response;
        }
    };
    pages::html(
        status,
        ErrorPage {
            lang,
            here: None,
            title,
            message,
            detail: None,
            code: None,
        },
    )
}

async fn signed_in_as(
    app: &AppState,
    headers: &HeaderMap,
) -> Result<Option<crate::model::Session>, Response> {
    cookies::session(&app.services, headers, app.now())
        .await
        .map_err(|e| error_page(lang(app, headers, &[]), None, &e.into()))
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
        let lang = lang(&app, &headers, &[]);
        return flow_error(
            lang,
            None,
            FlowError::WrongBrowser,
            app.services.issuer_url(),
        );
    };
    match login::chooser(
        &app.services.login(&super::i18n::SmsCatalogue),
        &to,
        &browser.binding(),
        app.now(),
    )
    .await
    {
        Ok(chooser) => render_chooser(&app, &headers, &browser, &chooser, None),
        Err(e) => login_error(
            &app,
            lang(&app, &headers, &[]),
            e,
            app.services.issuer_url(),
        ),
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
        let lang = lang(&app, &headers, &[]);
        return flow_error(
            lang,
            None,
            FlowError::WrongBrowser,
            app.services.issuer_url(),
        );
    };
    let outcome = login::start(
        &app.services.login(&super::i18n::SmsCatalogue),
        &source_id,
        &to,
        &browser.binding(),
        app.now(),
    )
    .await;
    render(&app, &headers, &browser, outcome)
}

/// `POST /login`: the login page's form, naming its source in a field.
pub async fn submit(
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = forms::pairs(&body);
    let source = forms::field(&form, "source")
        .unwrap_or("password")
        .to_owned();
    submit_to(state, Path(source), peer, headers, body).await
}

/// Where the request comes from (see `client_address`).
fn address(app: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Option<std::net::IpAddr> {
    super::client_address::client_address(
        Some(peer),
        headers,
        &app.services.config.server.trusted_proxies,
    )
}

/// `POST /login/{source_id}`: a source's form.
pub async fn submit_to(
    State(app): State<AppState>,
    Path(source_id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = forms::pairs(&body);
    let (Some(browser), Some(to)) = (Browser::from_headers(&headers), return_to(&form)) else {
        return csrf_failure(lang(&app, &headers, &[]));
    };
    if !browser.check_csrf(
        &app.services.master,
        PURPOSE,
        to.key(),
        forms::field(&form, "csrf"),
    ) {
        return csrf_failure(lang(&app, &headers, &[]));
    }
    let current = match signed_in_as(&app, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let outcome = login::submit(
        &app.services.login(&super::i18n::SmsCatalogue),
        &source_id,
        &to,
        &browser.binding(),
        forms::field(&form, "attempt").filter(|a| !a.is_empty()),
        &form,
        SignedInAs {
            current: current.as_ref(),
            user_agent: user_agent(&headers),
            address: address(&app, peer, &headers),
        },
        app.now(),
    )
    .await;
    render(&app, &headers, &browser, outcome)
}

/// `GET /login/{source_id}/callback`: another origin sends the browser back (a
/// top-level navigation, so the browser's SameSite=Lax cookie comes along).
pub async fn callback(
    State(app): State<AppState>,
    Path(source_id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = forms::pairs(query.unwrap_or_default().as_bytes());
    let Some(browser) = Browser::from_headers(&headers) else {
        let lang = lang(&app, &headers, &[]);
        return flow_error(
            lang,
            None,
            FlowError::WrongBrowser,
            app.services.issuer_url(),
        );
    };
    let current = match signed_in_as(&app, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let outcome = login::callback(
        &app.services.login(&super::i18n::SmsCatalogue),
        &source_id,
        &params,
        &browser.binding(),
        SignedInAs {
            current: current.as_ref(),
            user_agent: user_agent(&headers),
            address: address(&app, peer, &headers),
        },
        app.now(),
    )
    .await;
    match outcome {
        // Replayed, finished or expired: the page names the source (a configured one
        // only: the path is anyone's text). Nothing was signed in.
        Err(LoginError::AttemptGone) if app.services.sources.get(&source_id).is_some() => {
            tracing::info!(source = %source_id, "login callback for an attempt that is gone (finished, expired or replayed)");
            let lang = lang(&app, &headers, &[]);
            let source = name_of_source(&app, lang, &source_id);
            pages::html(
                StatusCode::BAD_REQUEST,
                ErrorPage {
                    lang,
                    here: None,
                    title: t(lang, "error-attempt-gone-title"),
                    message: t_args(
                        lang,
                        "error-callback-gone-message",
                        &[("source", source.into())],
                    ),
                    detail: None,
                    code: None,
                },
            )
        }
        outcome => render(&app, &headers, &browser, outcome),
    }
}
