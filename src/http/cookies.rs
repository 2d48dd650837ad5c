//! Cookies: `__Host-` prefixed (no Domain, Path=/, Secure), HttpOnly, SameSite=Lax.
//! Browsers accept Secure cookies from `http://localhost`, and the configuration allows
//! plain http only there, so Secure is always set.

use axum::http::{HeaderMap, HeaderValue, header};

pub const SESSION: &str = "__Host-portico_session";
pub const BROWSER: &str = "__Host-portico_browser";
/// Binds the logout confirmation form (`http::end_session`); cleared once it is answered.
pub const LOGOUT: &str = "__Host-portico_logout";

/// The live SSO session behind the request's session cookie, if any.
pub async fn session(
    provider: &crate::app::App,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<crate::model::Session>, crate::store::StoreError> {
    crate::identity::current_session(
        &provider.store,
        provider.config.session.idle_timeout.as_secs() as i64,
        get(headers, SESSION),
        now,
    )
    .await
}

/// The value of a request cookie.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value for a browser-session cookie.
pub fn set(name: &str, value: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax"
    ))
    .expect("cookie values are base64url")
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"
    ))
    .expect("static cookie text")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_cookie_among_several() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-portico_session=xyz; b=2"),
        );
        assert_eq!(get(&h, SESSION), Some("xyz"));
        assert_eq!(get(&h, BROWSER), None);
        assert_eq!(
            set(SESSION, "v").to_str().unwrap(),
            "__Host-portico_session=v; Path=/; Secure; HttpOnly; SameSite=Lax"
        );
    }
}
