//! `/token` (RFC 6749 section 3.2).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::errors::{no_store, oauth_json};
use super::{AppState, client_auth, forms};
use crate::oidc::OAuthError;
use crate::oidc::authorize::Params;

pub async fn token(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !forms::is_form(&headers) {
        return oauth_json(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let mut pairs = forms::pairs(&body);
    let credentials = match client_auth::credentials(&headers, &mut pairs) {
        Ok(c) => c,
        Err(e) => return oauth_json(e),
    };
    match crate::oidc::token::exchange(
        &app.services.token_endpoint(),
        Params::from_pairs(pairs),
        credentials,
        app.now(),
    )
    .await
    {
        Ok(tokens) => {
            let mut response = Json(tokens).into_response();
            no_store(&mut response);
            response
        }
        Err(e) => oauth_json(e),
    }
}
