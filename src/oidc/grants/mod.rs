//! One module per grant type.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

pub(crate) use refresh_token::still_registered;

use super::authorize::Params;
use super::error::OAuthError;
use super::revocation::AccessTokens;
use super::tokens::Issuer;
use crate::store::Store;

/// What the user grants use: the issuer (to mint), the access-token service (to revoke a
/// grant whose code or refresh token was replayed) and the store.
pub struct GrantServices<'a> {
    pub issuer: &'a Issuer,
    pub tokens: &'a AccessTokens,
    pub store: &'a Store,
}

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, OAuthError> {
    params
        .get(name)?
        .ok_or_else(|| OAuthError::invalid_request(format!("the `{name}` parameter is missing")))
}
