//! `/authorize` (GET and POST, OIDC Core section 3.1.2.1).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;

use super::csrf::Browser;
use super::errors::{authorize_error, error_page, see_other};
use super::{AppState, cookies, forms, i18n};
use crate::oidc::OAuthError;
use crate::oidc::authorize::{PARAMETERS, Params};
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
    if Browser::from_headers(&headers).is_none() {
        if let Some(get) = as_get(&body) {
            return see_other(&get);
        }
    }
    run(app, headers, forms::params(&body), None).await
}

/// The longest `/authorize` URL a POST is moved to: what every browser and proxy
/// carries.
const MAX_GET_URL: usize = 8 * 1024;

/// A POST without the browser cookie is most likely a portal's cross-site form post, which
/// carries no SameSite=Lax cookie: minting a browser cookie there would replace the real
/// one and break a sign-in pending in another tab. The same request as a GET (a top-level
/// navigation, which does carry the cookies) avoids that. It puts the parameters in the
/// URL, where a GET request has them anyway: nothing a portal could not have sent so.
/// Only the parameters Portico reads are carried (the rest are ignored either way), each
/// as often as it came, so a repeated one is still refused. `None` when the URL would be
/// too long: that request is answered here, binding it to a new cookie as before.
fn as_get(body: &[u8]) -> Option<String> {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in forms::pairs(body) {
        if PARAMETERS.contains(&k.as_str()) {
            query.append_pair(&k, &v);
        }
    }
    let url = format!("/authorize?{}", query.finish());
    (url.len() <= MAX_GET_URL).then_some(url)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_moved_to_a_get_keeps_what_is_read_and_repeated_and_fits_a_url() {
        let get = as_get(b"client_id=a&scope=openid&scope=x&junk=1&state=a%20b").unwrap();
        let pairs: Vec<(String, String)> = forms::pairs(&get.as_bytes()["/authorize?".len()..]);
        let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["client_id", "scope", "scope", "state"], "{get}");
        assert!(pairs.contains(&("state".into(), "a b".into())));
        let long = format!("client_id=a&state={}", "s".repeat(MAX_GET_URL));
        assert_eq!(as_get(long.as_bytes()), None);
    }
}
