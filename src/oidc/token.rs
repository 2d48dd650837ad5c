//! The token endpoint (RFC 6749 section 3.2): authenticate the client, then hand the
//! request to its grant.

use super::authorize::Params;
use super::client_auth::{self, ClientAuth, PresentedCredentials};
use super::error::{ErrorCode, OAuthError};
use super::grants::{self, GrantServices};
use super::tokens::TokenResponse;
use crate::model::GrantType;

/// What the token endpoint uses: client authentication, then the grants' services.
pub struct TokenEndpoint<'a> {
    pub auth: ClientAuth<'a>,
    pub grants: GrantServices<'a>,
}

pub async fn exchange(
    endpoint: &TokenEndpoint<'_>,
    params: Params,
    credentials: PresentedCredentials,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let grant_type = params
        .get("grant_type")?
        .ok_or_else(|| OAuthError::invalid_request("the `grant_type` parameter is missing"))?
        .to_owned();
    let client = client_auth::authenticate(&endpoint.auth, credentials, now).await?;
    let unsupported = || {
        OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("the `{grant_type}` grant type is not supported"),
        )
    };
    let grant = GrantType::parse(&grant_type).ok_or_else(unsupported)?;
    if !client.allows_grant(grant) {
        return Err(OAuthError::unauthorized_client(format!(
            "this client may not use the `{grant_type}` grant"
        )));
    }
    match grant {
        GrantType::AuthorizationCode => {
            grants::authorization_code::exchange(&endpoint.grants, &client, &params, now).await
        }
        GrantType::RefreshToken => {
            grants::refresh_token::exchange(&endpoint.grants, &client, &params, now).await
        }
        GrantType::ClientCredentials => {
            grants::client_credentials::exchange(endpoint.grants.issuer, &client, &params, now)
                .await
        }
    }
}
