//! `/userinfo` (OIDC Core section 5.3), with the bearer token in the `Authorization`
//! header or, for POST, the form body (RFC 6750 section 2).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::errors::{bearer_error, no_store};
use super::{AppState, forms};
use crate::oidc::OAuthError;

fn header_token(headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| OAuthError::invalid_request("malformed Authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(OAuthError::invalid_request("use the Bearer scheme")),
    }
}

pub async fn get(State(app): State<AppState>, headers: HeaderMap) -> Response {
    match header_token(&headers) {
        Ok(token) => answer(app, token).await,
        Err(e) => bearer_error(e),
    }
}

pub async fn post(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let in_header = match header_token(&headers) {
        Ok(t) => t,
        Err(e) => return bearer_error(e),
    };
    let in_body = if forms::is_form(&headers) {
        forms::field(&forms::pairs(&body), "access_token").map(str::to_owned)
    } else {
        None
    };
    match (in_header, in_body) {
        // RFC 6750 section 2: exactly one method per request.
        (Some(_), Some(_)) => bearer_error(OAuthError::invalid_request(
            "send the access token only once",
        )),
        (token, None) | (None, token) => answer(app, token).await,
    }
}

async fn answer(app: AppState, token: Option<String>) -> Response {
    let Some(token) = token else {
        // RFC 6750 section 3.1: no error code when no token was sent.
        let mut r = StatusCode::UNAUTHORIZED.into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"portico\""),
        );
        return r;
    };
    match crate::oidc::userinfo::userinfo(
        &app.services.tokens,
        &app.services.clients,
        &app.services.store,
        &token,
        app.now(),
    )
    .await
    {
        Ok(claims) => {
            let mut r = Json(claims).into_response();
            no_store(&mut r);
            r
        }
        Err(e) => bearer_error(e),
    }
}
