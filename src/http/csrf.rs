//! Browser binding and CSRF tokens. Each browser gets a random `__Host-portico_browser`
//! cookie. A pending authorization is bound to (the hash of) it, and every form carries
//! an HMAC of the cookie, the form's purpose and the pending request, under a key derived
//! from the master key: a form posted from another site, or another browser, fails.

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::cookies;
use crate::crypto::{MasterKey, sha256_b64url};

pub struct Browser {
    /// Which cookie carries the binding: the browser's, or the logout pages' own.
    name: &'static str,
    cookie: String,
    /// Set when the cookie is new and must be sent.
    pub is_new: bool,
}

impl Browser {
    /// The browser's cookie, or a new one.
    pub fn from_headers_or_new(headers: &HeaderMap) -> Browser {
        Self::named_or_new(headers, cookies::BROWSER)
    }

    /// The browser's cookie, if it sent one.
    pub fn from_headers(headers: &HeaderMap) -> Option<Browser> {
        Self::named(headers, cookies::BROWSER)
    }

    /// The logout confirmation's own cookie, or a new one. The page may answer a portal's
    /// cross-site POST, which carries no SameSite=Lax cookie: minting a browser cookie
    /// there would replace the real one (and break a sign-in pending in another tab).
    pub fn for_logout_or_new(headers: &HeaderMap) -> Browser {
        Self::named_or_new(headers, cookies::LOGOUT)
    }

    /// The logout confirmation's cookie, if the browser sent one.
    pub fn for_logout(headers: &HeaderMap) -> Option<Browser> {
        Self::named(headers, cookies::LOGOUT)
    }

    fn named_or_new(headers: &HeaderMap, name: &'static str) -> Browser {
        Self::named(headers, name).unwrap_or_else(|| Browser {
            name,
            cookie: crate::random::token().expose().to_owned(),
            is_new: true,
        })
    }

    fn named(headers: &HeaderMap, name: &'static str) -> Option<Browser> {
        cookies::get(headers, name)
            .filter(|c| c.len() == 43)
            .map(|c| Browser {
                name,
                cookie: c.to_owned(),
                is_new: false,
            })
    }

    /// What pending requests store to recognise this browser.
    pub fn binding(&self) -> String {
        sha256_b64url(&self.cookie)
    }

    pub fn set_cookie(&self) -> axum::http::HeaderValue {
        cookies::set(self.name, &self.cookie)
    }

    fn message(&self, purpose: &str, request: &str) -> Vec<u8> {
        format!("{purpose}\n{request}\n{}", self.cookie).into_bytes()
    }

    pub fn csrf_token(&self, master: &MasterKey, purpose: &str, request: &str) -> String {
        URL_SAFE_NO_PAD.encode(master.csrf_mac(&self.message(purpose, request)))
    }

    pub fn check_csrf(
        &self,
        master: &MasterKey,
        purpose: &str,
        request: &str,
        token: Option<&str>,
    ) -> bool {
        let Some(tag) = token.and_then(|t| URL_SAFE_NO_PAD.decode(t).ok()) else {
            return false;
        };
        master.csrf_verify(&self.message(purpose, request), &tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, header};

    #[test]
    fn csrf_token_is_bound_to_browser_purpose_and_request() {
        let master = MasterKey::from_bytes(&[1; 32]);
        let b = Browser::from_headers_or_new(&HeaderMap::new());
        assert!(b.is_new);
        let t = b.csrf_token(&master, "login", "r1");
        assert!(b.check_csrf(&master, "login", "r1", Some(&t)));
        assert!(!b.check_csrf(&master, "consent", "r1", Some(&t)));
        assert!(!b.check_csrf(&master, "login", "r2", Some(&t)));
        assert!(!b.check_csrf(&master, "login", "r1", None));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!(
                "{}={}",
                cookies::BROWSER,
                crate::random::token().expose()
            ))
            .unwrap(),
        );
        let other = Browser::from_headers(&h).unwrap();
        assert!(!other.check_csrf(&master, "login", "r1", Some(&t)));
    }
}
