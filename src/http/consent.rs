//! `/consent`: asks the person to allow the client the requested scopes.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::authorize::step_response;
use super::csrf::Browser;
use super::errors::{csrf_failure, flow_error};
use super::pages::{self, ConsentPage};
use super::{AppState, cookies, forms, i18n};
use crate::ids::PendingId;
use crate::oidc::flow::{self, FlowError};

const PURPOSE: &str = "consent";

#[derive(Deserialize)]
pub struct PageQuery {
    request: String,
}

pub async fn page(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let provider = &app.services;
    let issuer = provider.issuer_url();
    let now = app.now();
    let default = provider.config.default_language;
    let here = pages::pending_page("/consent", &q.request);
    let lang = i18n::negotiate(&headers, &[], default);
    let Some(browser) = Browser::from_headers(&headers) else {
        return flow_error(lang, Some(&here), FlowError::WrongBrowser, issuer);
    };
    let session = match cookies::session(provider, &headers, now).await {
        Ok(s) => s,
        Err(e) => return flow_error(lang, Some(&here), e.into(), issuer),
    };
    let id = PendingId::new(q.request);
    match flow::consent_view(
        &provider.flow(),
        &id,
        &browser.binding(),
        session.as_ref(),
        now,
    )
    .await
    {
        Ok(view) => {
            let lang = i18n::negotiate(&headers, &view.ui_locales, default);
            let csrf = browser.csrf_token(&provider.master, PURPOSE, id.as_str());
            pages::html_leading_to(
                StatusCode::OK,
                ConsentPage {
                    lang,
                    here: Some(&here),
                    client_name: &view.client_name,
                    request_id: id.as_str(),
                    csrf: &csrf,
                    scopes: view
                        .scopes
                        .iter()
                        .map(|s| pages::describe_scope(lang, s))
                        .collect(),
                    claims: view
                        .claims
                        .iter()
                        .map(|c| pages::describe_claim(lang, c))
                        .collect(),
                },
                Some(&view.redirect_origin),
            )
        }
        Err(e) => flow_error(lang, Some(&here), e, issuer),
    }
}

pub async fn submit(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let provider = &app.services;
    let issuer = provider.issuer_url();
    let now = app.now();
    let lang = i18n::negotiate(&headers, &[], provider.config.default_language);
    let form = forms::pairs(&body);
    let field = |name| forms::field(&form, name);
    let (Some(browser), Some(request)) = (Browser::from_headers(&headers), field("request")) else {
        return csrf_failure(lang);
    };
    if !browser.check_csrf(&provider.master, PURPOSE, request, field("csrf")) {
        return csrf_failure(lang);
    }
    let here = pages::pending_page("/consent", request);
    let session = match cookies::session(provider, &headers, now).await {
        Ok(s) => s,
        Err(e) => return flow_error(lang, Some(&here), e.into(), issuer),
    };
    let allow = field("decision") == Some("allow");
    let id = PendingId::new(request);
    match flow::consent(
        &provider.flow(),
        &id,
        &browser.binding(),
        session.as_ref(),
        allow,
        now,
    )
    .await
    {
        Ok(step) => step_response(&step),
        Err(e) => flow_error(lang, Some(&here), e, issuer),
    }
}
