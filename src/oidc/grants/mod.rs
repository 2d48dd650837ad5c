//! One module per grant type.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use super::authorize::Params;
use super::error::OAuthError;

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, OAuthError> {
    params
        .get(name)?
        .ok_or_else(|| OAuthError::invalid_request(format!("the `{name}` parameter is missing")))
}
