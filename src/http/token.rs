//! `/token` (RFC 6749 section 3.2).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::errors::{no_store, oauth_json};
use super::{AppState, forms};
use crate::oidc::OAuthError;
use crate::oidc::authorize::Params;
use crate::oidc::client_auth::{PresentedCredentials, parse_basic};
use crate::secret::Secret;

pub async fn token(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !forms::is_form(&headers) {
        return oauth_json(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let mut pairs = forms::pairs(&body);
    let basic = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) => match parse_basic(v) {
            Ok(b) => Some(b),
            Err(e) => return oauth_json(e),
        },
        Some(Err(_)) => {
            return oauth_json(OAuthError::invalid_client("malformed Authorization header"));
        }
    };
    // The secret leaves the parameters at once, so nothing downstream can log it.
    let secrets: Vec<String> = take_all(&mut pairs, "client_secret");
    let ids: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "client_id")
        .map(|(_, v)| v.clone())
        .collect();
    if secrets.len() > 1 || ids.len() > 1 {
        return oauth_json(OAuthError::invalid_request(
            "client credentials must not be repeated",
        ));
    }
    let credentials = PresentedCredentials {
        basic,
        client_id: ids.into_iter().next().filter(|v| !v.is_empty()),
        client_secret: secrets
            .into_iter()
            .next()
            .filter(|v| !v.is_empty())
            .map(Secret::new),
    };
    match crate::oidc::token::exchange(
        &app.provider,
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

fn take_all(pairs: &mut Vec<(String, String)>, name: &str) -> Vec<String> {
    let mut taken = Vec::new();
    pairs.retain(|(k, v)| {
        if k == name {
            taken.push(v.clone());
            false
        } else {
            true
        }
    });
    taken
}
