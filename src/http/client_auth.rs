//! Client credentials from a back-channel request: `Authorization: Basic`, or
//! `client_id`/`client_secret`/`client_assertion` form fields. Secrets and assertions
//! leave the parameters at once, so nothing downstream can log them.

use axum::http::{HeaderMap, header};

use crate::oidc::OAuthError;
use crate::oidc::client_auth::{PresentedCredentials, parse_basic};
use crate::secret::Secret;

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

fn single(values: Vec<String>, name: &str) -> Result<Option<String>, OAuthError> {
    match values.len() {
        0 => Ok(None),
        1 => Ok(values.into_iter().next().filter(|v| !v.is_empty())),
        _ => Err(OAuthError::invalid_request(format!(
            "`{name}` must not be repeated"
        ))),
    }
}

pub fn credentials(
    headers: &HeaderMap,
    pairs: &mut Vec<(String, String)>,
) -> Result<PresentedCredentials, OAuthError> {
    let basic = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) => Some(parse_basic(v)?),
        Some(Err(_)) => return Err(OAuthError::invalid_client("malformed Authorization header")),
    };
    let client_secret = single(take_all(pairs, "client_secret"), "client_secret")?.map(Secret::new);
    let assertion =
        single(take_all(pairs, "client_assertion"), "client_assertion")?.map(Secret::new);
    let assertion_type = single(
        take_all(pairs, "client_assertion_type"),
        "client_assertion_type",
    )?;
    let ids: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "client_id")
        .map(|(_, v)| v.clone())
        .collect();
    Ok(PresentedCredentials {
        basic,
        client_id: single(ids, "client_id")?,
        client_secret,
        assertion_type,
        assertion,
    })
}
