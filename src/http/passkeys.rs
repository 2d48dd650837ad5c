//! Passkeys in the browser: the sign-in step's page, and `/account`'s forms to register,
//! rename and remove them (each with the account page's CSRF token, each audited). A
//! registration needs a sign-in within the last ten minutes.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::csrf::Browser;
use super::errors::{csrf_failure, error_page, see_other};
use super::i18n::{self, Lang};
use super::pages::{self, ErrorPage};
use super::{AppState, cookies, forms};
use crate::login::StepView;
use crate::login::passkey_registration;
use crate::model::{Session, message_id};
use crate::oidc::OAuthError;
use crate::sources::Source;
use crate::sources::webauthn::{RegistrationError, RegistrationState};

/// The account page's forms share its CSRF purpose (bound to the session).
const PURPOSE: &str = "account";
/// How recent a sign-in must be to register a passkey.
pub const REGISTRATION_WINDOW_SECS: i64 = 600;
/// How long a registration's options are good for.
const REGISTRATION_TTL_SECS: i64 = 300;

pub fn is_passkey(app: &AppState, source_id: &str) -> bool {
    matches!(
        app.services.sources.get(source_id),
        Some(Source::Webauthn(_))
    )
}

/// Options as they go into a `<script type="application/json">`: `<` escaped, so no
/// text in them (an account's name) can close the element.
fn json_for_script(value: &serde_json::Value) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
}

#[derive(Template)]
#[template(path = "passkey_login.html")]
struct PasskeyLoginPage<'a> {
    lang: Lang,
    here: Option<&'a str>,
    source_id: &'a str,
    source_name: &'a str,
    request_id: &'a str,
    csrf: &'a str,
    attempt: &'a str,
    notice: Option<String>,
    options: String,
}

/// The WebAuthn step of a login: the script asks for a passkey and posts it.
pub fn login_step(
    lang: Lang,
    here: &str,
    view: &StepView,
    options: &serde_json::Value,
    csrf: &str,
    notice: Option<String>,
) -> Response {
    pages::html_with_script(
        StatusCode::OK,
        PasskeyLoginPage {
            lang,
            here: Some(here),
            source_id: &view.source_id,
            source_name: &pages::display_name(lang, &view.display_name),
            request_id: view.return_to.key(),
            csrf,
            attempt: view.attempt.as_deref().unwrap_or_default(),
            notice,
            options: json_for_script(options),
        },
        view.redirect_origin.as_deref(),
    )
}

#[derive(Template)]
#[template(path = "passkey_register.html")]
struct PasskeyRegisterPage<'a> {
    lang: Lang,
    here: Option<&'a str>,
    csrf: &'a str,
    handle: &'a str,
    options: String,
}

/// A posted `/account` form: the session, the browser, and a valid CSRF token, or the
/// response to give instead.
struct Posted {
    lang: Lang,
    session: Session,
    browser: Browser,
    form: Vec<(String, String)>,
}

async fn posted(app: &AppState, headers: &HeaderMap, body: &Bytes) -> Result<Posted, Response> {
    let provider = &app.services;
    let lang = i18n::negotiate(headers, &[], provider.config.default_language);
    let form = forms::pairs(body);
    let session = match cookies::session(provider, headers, app.now()).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(see_other("/account")),
        Err(e) => return Err(error_page(lang, None, &e.into())),
    };
    let Some(browser) = Browser::from_headers(headers) else {
        return Err(csrf_failure(lang));
    };
    if !browser.check_csrf(
        &provider.master,
        PURPOSE,
        session.id.as_str(),
        forms::field(&form, "csrf"),
    ) {
        return Err(csrf_failure(lang));
    }
    Ok(Posted {
        lang,
        session,
        browser,
        form,
    })
}

fn message_page(lang: Lang, status: StatusCode, title: &str, message: &str) -> Response {
    pages::html(
        status,
        ErrorPage {
            lang,
            here: Some("/account"),
            title: i18n::t_message(lang, title),
            message: i18n::t_message(lang, message),
            detail: None,
            code: None,
        },
    )
}

/// `POST /account/passkeys/new`: the registration's options, after a recent sign-in.
pub async fn begin(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let p = match posted(&app, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let provider = &app.services;
    let now = app.now();
    let Some(source) = provider.sources.webauthn() else {
        return see_other("/account");
    };
    if now - p.session.auth_time > REGISTRATION_WINDOW_SECS {
        return message_page(
            p.lang,
            StatusCode::FORBIDDEN,
            message_id("passkey-reauth-title"),
            message_id("passkey-reauth-message"),
        );
    }
    let account_id = p.session.account_id.as_str();
    let result = async {
        let account = provider
            .store
            .accounts()
            .get(&p.session.account_id)
            .await?
            .ok_or_else(|| OAuthError::invalid_request("the account no longer exists"))?;
        let user_name = account.text("name").unwrap_or(account_id).to_owned();
        let registration = source
            .begin_registration(&provider.store, account_id, &user_name)
            .await
            .map_err(|e| OAuthError::new(crate::oidc::ErrorCode::ServerError, e.to_string()))?;
        let state = RegistrationState {
            account_id: account_id.to_owned(),
            ceremony: registration.state,
        };
        let handle = passkey_registration::keep(
            &provider.store,
            &provider.master,
            source.config.id.as_str(),
            &p.browser.binding(),
            state,
            registration.options.clone(),
            now,
            now + REGISTRATION_TTL_SECS,
        )
        .await?;
        Ok::<_, OAuthError>((handle, registration.options))
    }
    .await;
    let (handle, options) = match result {
        Ok(r) => r,
        Err(e) => return error_page(p.lang, Some("/account"), &e),
    };
    let csrf = p
        .browser
        .csrf_token(&provider.master, PURPOSE, p.session.id.as_str());
    pages::html_with_script(
        StatusCode::OK,
        PasskeyRegisterPage {
            lang: p.lang,
            here: Some("/account"),
            csrf: &csrf,
            handle: &handle,
            options: json_for_script(&options),
        },
        None,
    )
}

fn passkey_name(form: &[(String, String)], lang: Lang) -> String {
    let name: String = forms::field(form, "name")
        .unwrap_or_default()
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    if name.is_empty() {
        i18n::t(lang, "passkey-default-name")
    } else {
        name
    }
}

/// `POST /account/passkeys/register`: the credential the browser made.
pub async fn register(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let p = match posted(&app, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let provider = &app.services;
    let now = app.now();
    let Some(source) = provider.sources.webauthn() else {
        return see_other("/account");
    };
    let handle = forms::field(&p.form, "handle").unwrap_or_default();
    let taken = passkey_registration::take(
        &provider.store,
        &provider.master,
        handle,
        &p.browser.binding(),
        now,
    )
    .await;
    let state = match taken {
        Ok(Some(state)) if state.account_id == p.session.account_id.as_str() => state,
        Ok(_) => {
            return message_page(
                p.lang,
                StatusCode::BAD_REQUEST,
                message_id("passkey-failed-title"),
                message_id("passkey-expired"),
            );
        }
        Err(e) => return error_page(p.lang, Some("/account"), &e.into()),
    };
    let credential: serde_json::Value =
        serde_json::from_str(forms::field(&p.form, "credential").unwrap_or_default())
            .unwrap_or(serde_json::Value::Null);
    let name = passkey_name(&p.form, p.lang);
    let account_id = p.session.account_id.as_str();
    match source
        .finish_registration(
            &provider.store,
            account_id,
            state.ceremony,
            &credential,
            &name,
        )
        .await
    {
        Ok(id) => {
            let detail = format!("passkey={id} source={}", source.config.id);
            let audit = provider.store.audit();
            match audit
                .record(now, "passkey_registered", Some(account_id), None, &detail)
                .await
            {
                Ok(()) => see_other("/account"),
                Err(e) => error_page(p.lang, Some("/account"), &e.into()),
            }
        }
        Err(RegistrationError::Invalid(detail)) => {
            tracing::info!(%detail, "passkey registration refused");
            message_page(
                p.lang,
                StatusCode::BAD_REQUEST,
                message_id("passkey-failed-title"),
                message_id("passkey-invalid"),
            )
        }
        Err(RegistrationError::Duplicate) => message_page(
            p.lang,
            StatusCode::CONFLICT,
            message_id("passkey-failed-title"),
            message_id("passkey-duplicate"),
        ),
        Err(RegistrationError::Store(e)) => error_page(p.lang, Some("/account"), &e.into()),
        Err(RegistrationError::Internal(e)) => error_page(
            p.lang,
            Some("/account"),
            &OAuthError::new(crate::oidc::ErrorCode::ServerError, e),
        ),
    }
}

/// `POST /account/passkeys/rename`.
pub async fn rename(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let p = match posted(&app, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let id = forms::field(&p.form, "passkey").unwrap_or_default();
    let name = passkey_name(&p.form, p.lang);
    let account_id = p.session.account_id.as_str();
    let store = &app.services.store;
    let result = async {
        if store.passkeys().rename(account_id, id, &name).await? {
            let detail = format!("passkey={id}");
            let audit = store.audit();
            audit
                .record(
                    app.now(),
                    "passkey_renamed",
                    Some(account_id),
                    None,
                    &detail,
                )
                .await?;
        }
        Ok::<_, crate::store::StoreError>(())
    }
    .await;
    match result {
        Ok(()) => see_other("/account"),
        Err(e) => error_page(p.lang, Some("/account"), &e.into()),
    }
}

/// `POST /account/passkeys/remove`.
pub async fn remove(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let p = match posted(&app, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let id = forms::field(&p.form, "passkey").unwrap_or_default();
    let account_id = p.session.account_id.as_str();
    let store = &app.services.store;
    let result = async {
        if store.passkeys().remove(account_id, id).await? {
            let detail = format!("passkey={id}");
            let audit = store.audit();
            audit
                .record(
                    app.now(),
                    "passkey_removed",
                    Some(account_id),
                    None,
                    &detail,
                )
                .await?;
        }
        Ok::<_, crate::store::StoreError>(())
    }
    .await;
    match result {
        Ok(()) => see_other("/account"),
        Err(e) => error_page(p.lang, Some("/account"), &e.into()),
    }
}

/// One passkey on the account page.
pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
}

/// The account's passkeys for `/account`; `None` when no passkey source is configured.
pub async fn rows(
    app: &AppState,
    account_id: &str,
) -> Result<Option<Vec<PasskeyRow>>, crate::store::StoreError> {
    if app.services.sources.webauthn().is_none() {
        return Ok(None);
    }
    let stored = app.services.store.passkeys().of_account(account_id).await?;
    Ok(Some(
        stored
            .into_iter()
            .map(|p| PasskeyRow {
                id: p.id,
                name: p.name,
                created: pages::format_time(p.created_at),
                last_used: p.last_used_at.map(pages::format_time),
            })
            .collect(),
    ))
}
