//! `/introspect` (RFC 7662) and `/revoke` (RFC 7009): authenticated back-channel calls
//! about one token.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::errors::{no_store, oauth_json};
use super::{AppState, client_auth, forms};
use crate::model::Client;
use crate::oidc::authorize::Params;
use crate::oidc::client_auth::authenticate;
use crate::oidc::{OAuthError, introspection};

/// The authenticated client and the request's parameters.
async fn authenticated(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(std::sync::Arc<Client>, Params), OAuthError> {
    if !forms::is_form(headers) {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let mut pairs = forms::pairs(body);
    let credentials = client_auth::credentials(headers, &mut pairs)?;
    let client = authenticate(&app.services.client_auth(), credentials, app.now()).await?;
    Ok((client, Params::from_pairs(pairs)))
}

fn token_param(params: &Params) -> Result<(String, Option<String>), OAuthError> {
    let token = params
        .get("token")?
        .ok_or_else(|| OAuthError::invalid_request("the `token` parameter is missing"))?;
    Ok((
        token.to_owned(),
        params.get("token_type_hint")?.map(str::to_owned),
    ))
}

pub async fn introspect(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let (client, params) = authenticated(&app, &headers, &body).await?;
        if client.is_public() {
            return Err(OAuthError::invalid_client(
                "public clients may not introspect tokens",
            ));
        }
        let (token, hint) = token_param(&params)?;
        introspection::introspect(
            &app.services.tokens,
            &app.services.issuer,
            &app.services.store,
            &client,
            &token,
            hint.as_deref(),
            app.now(),
        )
        .await
    }
    .await;
    match result {
        Ok(v) => {
            let mut r = Json(v).into_response();
            no_store(&mut r);
            r
        }
        Err(e) => oauth_json(e),
    }
}

pub async fn revoke(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let (client, params) = authenticated(&app, &headers, &body).await?;
        let (token, _hint) = token_param(&params)?;
        app.services
            .tokens
            .revoke_token(&client, &token, app.now())
            .await
    }
    .await;
    match result {
        Ok(()) => {
            let mut r = StatusCode::OK.into_response();
            no_store(&mut r);
            r
        }
        Err(e) => oauth_json(e),
    }
}
