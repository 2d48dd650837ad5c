//! Single sign-on across portals, and logout that reaches every portal: RP-Initiated,
//! Back-Channel and Front-Channel Logout 1.0, and the account page.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portico::oidc::registration::ClientRegistration;
use serde_json::Value;

use crate::code_flow::id_token_claims;
use crate::common::*;

pub(crate) const FAST_RETRIES: &str = "[logout]\nbackchannel_initial_backoff = \"1s\"\nbackchannel_max_attempts = 3\nbackchannel_timeout = \"1s\"\n";

/// A portal's back-channel logout endpoint: records the logout tokens it receives.
pub(crate) struct Receiver {
    pub(crate) uri: String,
    tokens: Arc<Mutex<Vec<String>>>,
}

pub(crate) async fn receiver_on(listener: tokio::net::TcpListener) -> Receiver {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let seen = tokens.clone();
    let app = axum::Router::new().route(
        "/logout",
        axum::routing::post(move |body: String| {
            let seen = seen.clone();
            async move {
                let token = url::form_urlencoded::parse(body.as_bytes())
                    .find(|(k, _)| k == "logout_token")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                seen.lock().unwrap().push(token);
                "ok"
            }
        }),
    );
    let uri = format!(
        "http://127.0.0.1:{}/logout",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { uri, tokens }
}

pub(crate) async fn receiver() -> Receiver {
    receiver_on(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await
}

impl Receiver {
    pub(crate) async fn wait_for(&self, n: usize, within: Duration) -> Vec<String> {
        let start = Instant::now();
        loop {
            let got = self.tokens.lock().unwrap().clone();
            if got.len() >= n || start.elapsed() > within {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub(crate) fn portal(
    server: &TestServer,
    id: &str,
    backchannel: Option<&str>,
    first_party: bool,
) -> ClientRegistration {
    ClientRegistration {
        backchannel_logout_uri: backchannel.map(str::to_owned),
        post_logout_redirect_uris: vec![format!("http://127.0.0.1:9/{id}/bye")],
        first_party,
        ..server.registration(id)
    }
}

/// Validates a logout token against `/jwks` (Back-Channel Logout section 2.6).
pub(crate) async fn verify_logout_token(server: &TestServer, token: &str, audience: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let set: jsonwebtoken::jwk::JwkSet = reqwest::get(server.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("signing key published");
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[audience]);
    v.set_issuer(&[server.base.as_str()]);
    v.set_required_spec_claims(&["iss", "aud", "iat", "exp"]);
    let claims: Value = jsonwebtoken::decode(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &v,
    )
    .expect("logout token verifies")
    .claims;
    assert!(claims["jti"].is_string());
    assert!(claims.get("nonce").is_none(), "a logout token has no nonce");
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    claims
}

async fn tokens_in(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
    extra: &[(&str, &str)],
) -> Value {
    let redirect = browser.follow(&server.authorize_url(client, extra)).await;
    let code = code_from(&redirect, server, client);
    let r = server.exchange(client, &code, VERIFIER).await;
    r.json().await.unwrap()
}

pub(crate) fn payload(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn one_login_two_portals_one_logout_reaches_both() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let (rx1, rx2) = (receiver().await, receiver().await);
    let rp1 = server
        .register(portal(&server, "ministry", Some(&rx1.uri), false))
        .await;
    let rp2 = server
        .register(portal(&server, "province", Some(&rx2.uri), true))
        .await;
    let browser = Browser::new(&server);

    // Log in at RP1.
    let redirect = browser
        .authorize_interactively(&server.authorize_url(&rp1, &[]), "mai")
        .await;
    let t1: Value = server
        .exchange(&rp1, &code_from(&redirect, &server, &rp1), VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let id1 = payload(t1["id_token"].as_str().unwrap());
    // Silent SSO at RP2: no credentials posted, prompt=none.
    let t2 = tokens_in(&server, &browser, &rp2, &[("prompt", "none")]).await;
    let id2 = payload(t2["id_token"].as_str().unwrap());
    assert_eq!(id1["auth_time"], id2["auth_time"], "the same login");
    assert_ne!(id1["sid"], id2["sid"], "each portal gets its own sid");

    // RP1 logs out with its ID token: trusted, no confirmation.
    let url = format!(
        "{}?id_token_hint={}&post_logout_redirect_uri={}&state=bye-1",
        server.url("/end_session"),
        t1["id_token"].as_str().unwrap(),
        urlencode("http://127.0.0.1:9/ministry/bye"),
    );
    let started = Instant::now();
    let r = browser.get(&url).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        location(r.headers()).unwrap(),
        "http://127.0.0.1:9/ministry/bye?state=bye-1"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "logout does not wait for portals"
    );

    for (rx, id, client) in [(&rx1, &id1, &rp1), (&rx2, &id2, &rp2)] {
        let got = rx.wait_for(1, Duration::from_secs(10)).await;
        assert_eq!(got.len(), 1, "{} got its logout token", client.id);
        let claims = verify_logout_token(&server, &got[0], &client.id).await;
        assert_eq!(claims["sid"], id["sid"]);
        assert_eq!(claims["sub"], id["sub"]);
    }
    // RP2 cannot sign in silently any more, and the session's tokens are dead.
    let again = browser
        .follow(&server.authorize_url(&rp2, &[("prompt", "none")]))
        .await;
    assert_eq!(query(&again)["error"], "login_required");
    let status = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(t2["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
}

/// Mai, signed in at the "ministry" portal (first-party, no back-channel URI): the
/// server, the portal, her browser and the portal's tokens.
async fn mai_signed_in_at_the_ministry() -> (TestServer, TestClient, Browser, Value) {
    let server = TestServer::start().await;
    server.account("mai").await;
    let rp = server
        .register(portal(&server, "ministry", None, true))
        .await;
    let browser = Browser::new(&server);
    let tokens = server.sign_in(&browser, &rp, "mai").await;
    (server, rp, browser, tokens)
}

pub(crate) fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn unregistered_post_logout_redirect_uri_never_redirects() {
    let (server, _, browser, t) = mai_signed_in_at_the_ministry().await;
    // Not registered, with a valid hint: logged out, but no redirect.
    let url = format!(
        "{}?id_token_hint={}&post_logout_redirect_uri={}",
        server.url("/end_session"),
        t["id_token"].as_str().unwrap(),
        urlencode("https://attacker.example/landing"),
    );
    let r = browser.get(&url).await;
    assert_eq!(r.status(), 200);
    assert!(location(r.headers()).is_none());
    assert!(!r.text().await.unwrap().contains("attacker.example"));
    // Without a session, the same.
    let r = Browser::new(&server)
        .get(&format!(
            "{}?client_id=ministry&post_logout_redirect_uri={}",
            server.url("/end_session"),
            urlencode("https://attacker.example/landing")
        ))
        .await;
    assert_eq!(r.status(), 200);
    assert!(location(r.headers()).is_none());
    // A forged hint is refused outright.
    let r = browser
        .get(&format!(
            "{}?id_token_hint=e30.e30.sig",
            server.url("/end_session")
        ))
        .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn an_untrusted_logout_request_asks_for_confirmation_with_csrf() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let rp = server
        .register(portal(&server, "ministry", None, true))
        .await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&rp, &[])).await;
    browser.submit_login(&login, "mai", PASSWORD).await;

    let url = format!(
        "{}?client_id=ministry&post_logout_redirect_uri={}&state=s9",
        server.url("/end_session"),
        urlencode("http://127.0.0.1:9/ministry/bye")
    );
    let page = browser.get(&url).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign out of Portico?"));
    let csrf = hidden(&html, "csrf").unwrap();
    // Without the token: refused, still signed in.
    let r = browser
        .post_form(
            "/logout",
            &[("client_id", "ministry"), ("decision", "logout")],
        )
        .await;
    assert_eq!(r.status(), 403);
    let still = browser
        .follow(&server.authorize_url(&rp, &[("prompt", "none")]))
        .await;
    code_from(&still, &server, &rp);
    // With it: signed out and sent back with the state.
    let r = browser
        .post_form(
            "/logout",
            &[
                ("csrf", csrf.as_str()),
                ("client_id", "ministry"),
                (
                    "post_logout_redirect_uri",
                    "http://127.0.0.1:9/ministry/bye",
                ),
                ("state", "s9"),
                ("decision", "logout"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        location(r.headers()).unwrap(),
        "http://127.0.0.1:9/ministry/bye?state=s9"
    );
    let after = browser
        .follow(&server.authorize_url(&rp, &[("prompt", "none")]))
        .await;
    assert_eq!(query(&after)["error"], "login_required");
}

#[tokio::test]
async fn front_channel_logout_loads_each_portal_in_an_iframe() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let rp = server
        .register(ClientRegistration {
            frontchannel_logout_uri: Some("http://127.0.0.1:9/fc/logout".into()),
            ..portal(&server, "fc", None, true)
        })
        .await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&rp, &[])).await;
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    let code = code_from(&location(r.headers()).unwrap(), &server, &rp);
    let claims = id_token_claims(&server, &rp, &code).await;
    let sid = claims["sid"].as_str().unwrap();

    let r = browser
        .get(&format!(
            "{}?client_id=fc&post_logout_redirect_uri={}",
            server.url("/end_session"),
            urlencode("http://127.0.0.1:9/fc/bye")
        ))
        .await;
    let html = r.text().await.unwrap();
    let csrf = hidden(&html, "csrf").unwrap();
    let r = browser
        .post_form(
            "/logout",
            &[
                ("csrf", csrf.as_str()),
                ("client_id", "fc"),
                ("post_logout_redirect_uri", "http://127.0.0.1:9/fc/bye"),
                ("decision", "logout"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-src http://127.0.0.1:9"), "{csp}");
    let html = r.text().await.unwrap();
    let iss = urlencode(&server.base);
    let html = html.replace("&#38;", "&");
    let expected = format!("http://127.0.0.1:9/fc/logout?iss={iss}&sid={sid}");
    assert!(html.contains(&expected), "{html}");
    assert!(
        html.contains("url=http://127.0.0.1:9/fc/bye"),
        "then back to the portal"
    );
}

#[tokio::test]
async fn discovery_advertises_logout_truthfully() {
    let server = TestServer::start().await;
    let d: Value = reqwest::get(server.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["end_session_endpoint"], server.url("/end_session"));
    for k in [
        "backchannel_logout_supported",
        "backchannel_logout_session_supported",
        "frontchannel_logout_supported",
        "frontchannel_logout_session_supported",
    ] {
        assert_eq!(d[k], true, "{k}");
    }
}

#[tokio::test]
async fn id_token_hint_of_another_person_is_not_satisfied_by_the_session() {
    let server = TestServer::start().await;
    server.account("mai").await;
    server.account("binh").await;
    let rp = server
        .register(portal(&server, "ministry", None, true))
        .await;
    let mai = Browser::new(&server);
    let mai_token = server.sign_in(&mai, &rp, "mai").await;
    let binh = Browser::new(&server);
    let binh_token = server.sign_in(&binh, &rp, "binh").await;

    let hint = |t: &Value| t["id_token"].as_str().unwrap().to_owned();
    let same = mai
        .follow(&server.authorize_url(
            &rp,
            &[("prompt", "none"), ("id_token_hint", &hint(&mai_token))],
        ))
        .await;
    code_from(&same, &server, &rp);
    let other = mai
        .follow(&server.authorize_url(
            &rp,
            &[("prompt", "none"), ("id_token_hint", &hint(&binh_token))],
        ))
        .await;
    assert_eq!(query(&other)["error"], "login_required");
    let forged = mai
        .follow(&server.authorize_url(&rp, &[("prompt", "none"), ("id_token_hint", "e30.e30.x")]))
        .await;
    assert_eq!(query(&forged)["error"], "invalid_request");
}

#[tokio::test]
async fn another_person_signing_in_on_the_browser_logs_the_first_out_everywhere() {
    let server = TestServer::start().await;
    server.account("mai").await;
    server.account("binh").await;
    let rx = receiver().await;
    let rp = server
        .register(portal(&server, "ministry", Some(&rx.uri), true))
        .await;
    let shared = Browser::new(&server);
    let mai = server.sign_in(&shared, &rp, "mai").await;

    // Binh signs in on the same browser (prompt=login).
    let login = shared
        .follow(&server.authorize_url(&rp, &[("prompt", "login")]))
        .await;
    let r = shared.submit_login(&login, "binh", PASSWORD).await;
    code_from(&location(r.headers()).unwrap(), &server, &rp);

    let got = rx.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "Mai's portal is told her session ended");
    let claims = verify_logout_token(&server, &got[0], "ministry").await;
    assert_eq!(
        claims["sid"],
        payload(mai["id_token"].as_str().unwrap())["sid"]
    );
    let status = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(mai["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401, "Mai's tokens of that session are revoked");
}

#[tokio::test]
async fn a_cross_site_logout_post_without_the_cookie_asks_and_leaves_the_browser_cookie() {
    let (server, rp, browser, t) = mai_signed_in_at_the_ministry().await;
    // The portal's auto-submitted form, as a browser sends it cross-site: no cookies.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(server.url("/end_session"))
        // The page's text is read below in English, as the test browser asks for it.
        .header("accept-language", "en")
        .form(&[
            ("id_token_hint", t["id_token"].as_str().unwrap()),
            (
                "post_logout_redirect_uri",
                "http://127.0.0.1:9/ministry/bye",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "a page, not a redirect carrying the ID token"
    );
    // The form is bound to a cookie of its own: a new browser cookie here would replace
    // the real one, which this request could not see.
    let set: Vec<&str> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(set.len(), 1, "{set:?}");
    assert!(set[0].starts_with("__Host-portico_logout="), "{set:?}");
    assert!(r.text().await.unwrap().contains("Sign out of Portico?"));
    // The session is untouched until the person confirms.
    let still = browser
        .follow(&server.authorize_url(&rp, &[("prompt", "none")]))
        .await;
    code_from(&still, &server, &rp);
}

#[tokio::test]
async fn the_logout_confirmation_needs_its_own_cookie_and_clears_it() {
    let (server, rp, browser, _) = mai_signed_in_at_the_ministry().await;
    let page = browser
        .get(&format!("/end_session?client_id={}", rp.id))
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let form = [
        ("csrf", hidden(&html, "csrf").unwrap()),
        ("client_id", rp.id.clone()),
        ("decision", "logout".to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // The same token from another browser, which has the session's cookies but not the
    // confirmation's: refused.
    let r = Browser::new(&server).post_form("/logout", &form).await;
    assert_eq!(r.status(), 403);
    let r = browser.post_form("/logout", &form).await;
    assert!(
        r.headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("__Host-portico_logout=;")),
        "the confirmation's cookie is cleared"
    );
    let after = browser
        .follow(&server.authorize_url(&rp, &[("prompt", "none")]))
        .await;
    assert_eq!(query(&after)["error"], "login_required");
}

#[tokio::test]
async fn a_code_exchanged_after_logout_is_refused() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let rp = server
        .register(portal(&server, "ministry", None, true))
        .await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&rp, &[])).await;
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    let first = code_from(&location(r.headers()).unwrap(), &server, &rp);
    let t: Value = server
        .exchange(&rp, &first, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let pending = code_from(
        &browser.follow(&server.authorize_url(&rp, &[])).await,
        &server,
        &rp,
    );
    let url = format!(
        "{}?id_token_hint={}",
        server.url("/end_session"),
        t["id_token"].as_str().unwrap()
    );
    let out = browser.get(&url).await;
    let text = out.text().await.unwrap();
    assert!(text.contains("You are signed out"), "{text}");
    let r = server.exchange(&rp, &pending, VERIFIER).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
}
