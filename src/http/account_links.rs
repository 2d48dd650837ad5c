//! `/account`'s linked logins (issue 19): the logins the account has (source, when
//! linked, last used), each removable but the last; and a "Link" button per source
//! whose logins can be linked, which needs a sign-in within the last ten minutes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::account::signed_in_form;
use super::csrf::Browser;
use super::errors::{error_page, see_other};
use super::i18n::{self, Lang};
use super::pages::{self, format_time};
use super::{AppState, forms};
use crate::login::{self, ReturnTo};
use crate::model::Session;
use crate::oidc::OAuthError;
use crate::sources::Sources;
use crate::store::Store;

/// How recent a sign-in must be to link another login to the account.
pub const LINK_RECENT_SECS: i64 = 10 * 60;

/// One linked login as the page shows it.
pub struct LinkedRow {
    pub id: String,
    pub source: String,
    pub detail: String,
}

/// A source another login can be linked from.
pub struct LinkOffer {
    pub source_id: String,
    /// "Link your login at {source}".
    pub label: String,
}

/// The logins of the account, and the sources it has no login at yet that can link.
pub async fn rows(
    store: &Store,
    sources: &Sources,
    lang: Lang,
    account: &str,
) -> Result<(Vec<LinkedRow>, Vec<LinkOffer>), OAuthError> {
    let logins = store.identities().of_account(account).await?;
    let name = |id: &str| {
        sources
            .get(id)
            .map(|s| pages::display_name(lang, s.display_name()))
            .unwrap_or_else(|| id.to_owned())
    };
    let never = i18n::t(lang, "account-login-never-used");
    let linked = logins
        .iter()
        .map(|l| LinkedRow {
            id: l.id.clone(),
            source: name(&l.source_id),
            detail: i18n::t_args(
                lang,
                "account-login-detail",
                &[
                    ("since", format_time(l.linked_at).into()),
                    (
                        "last",
                        l.last_login_at
                            .map(format_time)
                            .unwrap_or_else(|| never.clone())
                            .into(),
                    ),
                ],
            ),
        })
        .collect();
    let offers = sources
        .iter()
        .filter(|s| login::linkable(s))
        .map(|s| LinkOffer {
            source_id: s.id().to_owned(),
            label: i18n::t_args(
                lang,
                "account-link-source",
                &[("source", name(s.id()).into())],
            ),
        })
        .collect();
    Ok((linked, offers))
}

/// `POST /account/link` (`source`): begins a login at the source that, verified, is
/// linked to this account. A sign-in older than [`LINK_RECENT_SECS`] must be made
/// again first (the account page's own login).
pub async fn link(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let now = app.now();
    let form = forms::pairs(&body);
    let current = match signed_in_form(&app, &headers, &form, now).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !recent(&current, now) {
        return see_other("/login?request=account");
    }
    let Some(browser) = Browser::from_headers(&headers) else {
        return see_other("/account");
    };
    let source_id = forms::field(&form, "source").unwrap_or_default();
    let outcome = login::start(
        &app.services.login(&super::i18n::SmsCatalogue),
        source_id,
        &ReturnTo::Link(current.account_id.as_str().to_owned()),
        &browser.binding(),
        now,
    )
    .await;
    super::login::render(&app, &headers, &browser, outcome)
}

fn recent(session: &Session, now: i64) -> bool {
    session.auth_time >= now - LINK_RECENT_SECS
}

/// `POST /account/logins/remove` (`login`): removes one of the account's logins,
/// never its last.
pub async fn remove(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let now = app.now();
    let lang = i18n::negotiate(&headers, &[], app.services.config.default_language);
    let form = forms::pairs(&body);
    let current = match signed_in_form(&app, &headers, &form, now).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id = forms::field(&form, "login").unwrap_or_default();
    match app
        .services
        .store
        .identities()
        .unlink(current.account_id.as_str(), id, now)
        .await
    {
        Ok(_) => see_other("/account"),
        Err(e) => error_page(lang, None, &e.into()),
    }
}
