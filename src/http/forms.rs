//! Reading query strings and form bodies as ordered pairs, so repeated parameters are
//! seen (and refused) rather than silently collapsed.

use axum::http::{HeaderMap, header};

use crate::oidc::authorize::Params;

pub fn pairs(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

pub fn params(bytes: &[u8]) -> Params {
    Params::from_pairs(pairs(bytes))
}

/// One named field of a form (the first, if repeated).
pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
