//! `/account`: the person's active sessions (device, time, portals), each of which can
//! be ended here, with the same logout notices as `/end_session`; and the portals they
//! have consented to (what each may receive, since when), whose access can be
//! withdrawn here.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::csrf::Browser;
use super::end_session::logged_out_page;
use super::errors::{csrf_failure, error_page, see_other};
use super::pages::{self, AccountPage, ConsentRow, SessionRow, format_time};
use super::{AppState, cookies, forms, i18n};
use crate::ids::SessionId;
use crate::oidc::{OAuthError, logout};

const PURPOSE: &str = "account";

pub async fn page(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let provider = &app.services;
    let now = app.now();
    let lang = i18n::negotiate(&headers, &[], provider.config.default_language);
    let here = Some("/account");
    let session = match cookies::session(provider, &headers, now).await {
        Ok(s) => s,
        Err(e) => return error_page(lang, here, &e.into()),
    };
    let browser = Browser::from_headers_or_new(&headers);
    let Some(session) = session else {
        // Not signed in: sign in for the account page itself.
        let mut response = see_other("/login?request=account");
        if browser.is_new {
            response
                .headers_mut()
                .append(header::SET_COOKIE, browser.set_cookie());
        }
        return response;
    };
    let store = &provider.store;
    let result = async {
        let account = store
            .accounts()
            .get(&session.account_id)
            .await?
            .ok_or_else(|| OAuthError::invalid_request("the account no longer exists"))?;
        let idle = provider.config.session.idle_timeout.as_secs() as i64;
        let mut rows = Vec::new();
        for s in store
            .sessions()
            .live_for_account(&session.account_id, now, idle)
            .await?
        {
            let portals = store
                .session_clients()
                .of_session(&SessionId::new(&s.id))
                .await?
                .into_iter()
                .map(|p| p.client_name)
                .collect();
            rows.push(SessionRow {
                current: s.id == session.id.as_str(),
                device: s.user_agent,
                signed_in: format_time(s.created_at),
                last_used: format_time(s.last_seen_at),
                source: provider
                    .sources
                    .get(&s.source_id)
                    .map(|src| pages::display_name(lang, src.display_name()))
                    .unwrap_or(s.source_id),
                portals,
                id: s.id,
            });
        }
        let consents = store
            .consents()
            .of_account(&session.account_id)
            .await?
            .into_iter()
            .map(|c| ConsentRow {
                name: c.client_name,
                scopes: c
                    .scopes
                    .iter()
                    .map(|s| pages::describe_scope(lang, s))
                    .collect(),
                since: format_time(c.since),
                client_id: c.client_id,
            })
            .collect();
        let passkeys = super::passkeys::rows(&app, session.account_id.as_str()).await?;
        let links =
            super::account_links::rows(store, &provider.sources, lang, session.account_id.as_str())
                .await?;
        Ok::<_, OAuthError>((account, rows, consents, passkeys, links))
    }
    .await;
    let (account, rows, consents, passkeys, (logins, link_offers)) = match result {
        Ok(r) => r,
        Err(e) => return error_page(lang, here, &e),
    };
    let csrf = browser.csrf_token(&provider.master, PURPOSE, session.id.as_str());
    let mut response = pages::html(
        StatusCode::OK,
        AccountPage {
            lang,
            here,
            name: account.text("name"),
            kind: account.kind,
            csrf: &csrf,
            sessions: rows,
            consents,
            passkeys,
            logins,
            link_offers,
        },
    );
    // The token is bound to this cookie: a browser that kept only its session cookie
    // (the browser cookie cleared) would otherwise post a form no check can accept.
    if browser.is_new {
        response
            .headers_mut()
            .append(header::SET_COOKIE, browser.set_cookie());
    }
    response
}

/// The session of a form posted from the account page, once its CSRF token is checked;
/// else the answer to give.
pub(super) async fn signed_in_form(
    app: &AppState,
    headers: &HeaderMap,
    form: &[(String, String)],
    now: i64,
) -> Result<crate::model::Session, Response> {
    let provider = &app.services;
    let lang = i18n::negotiate(headers, &[], provider.config.default_language);
    let current = match cookies::session(provider, headers, now).await {
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
        current.id.as_str(),
        forms::field(form, "csrf"),
    ) {
        return Err(csrf_failure(lang));
    }
    Ok(current)
}

/// `POST /account/consents/withdraw`: the portal named by `client` loses the person's
/// consent, refresh tokens and access tokens (`AccessTokens::withdraw_consent`).
pub async fn withdraw(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let provider = &app.services;
    let now = app.now();
    let lang = i18n::negotiate(&headers, &[], provider.config.default_language);
    let form = forms::pairs(&body);
    let current = match signed_in_form(&app, &headers, &form, now).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let client_id = forms::field(&form, "client").unwrap_or_default();
    let client = match provider.clients.get(client_id, now).await {
        Ok(Some(c)) => c,
        Ok(None) => return see_other("/account"),
        Err(e) => return error_page(lang, None, &e.into()),
    };
    match provider
        .tokens
        .withdraw_consent(&current.account_id, &client, now)
        .await
    {
        Ok(_) => see_other("/account"),
        Err(e) => error_page(lang, None, &e),
    }
}

pub async fn end(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let provider = &app.services;
    let now = app.now();
    let lang = i18n::negotiate(&headers, &[], provider.config.default_language);
    let form = forms::pairs(&body);
    let current = match signed_in_form(&app, &headers, &form, now).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let target_id = SessionId::new(forms::field(&form, "session").unwrap_or_default());
    let target = match provider.store.sessions().get_live(&target_id, now).await {
        Ok(Some(t)) if t.account_id == current.account_id => t,
        Ok(_) => return see_other("/account"),
        Err(e) => return error_page(lang, None, &e.into()),
    };
    match logout::end_session(
        &provider.store,
        &provider.tokens,
        &provider.backchannel,
        &target,
        now,
    )
    .await
    {
        Ok(frontchannel) if target.id == current.id => {
            let mut r = logged_out_page(lang, &frontchannel, None);
            r.headers_mut()
                .append(header::SET_COOKIE, cookies::clear(cookies::SESSION));
            r
        }
        Ok(_) => see_other("/account"),
        Err(e) => error_page(lang, None, &e),
    }
}
