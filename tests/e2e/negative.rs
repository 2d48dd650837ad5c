//! The negative suite: what an attacker tries, each test named for the requirement it
//! pins (RFC 9700, the OAuth 2.0 Security BCP; RFC 8725, the JWT BCP; OWASP ASVS 4.0).
//! The numbered review findings of the hardening issue have their tests beside the code
//! they fixed (`resource_limits`, `stored_requests`, `code_binding`, `client_jwt`,
//! `data_at_rest`, `security_headers`, `cross_site_post`, `password_queue`, ...); this
//! file holds the classic attacks that need no fix of their own.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::*;
use portico::crypto::SigningAlg;
use portico::oidc::registration::ClientRegistration;
use portico::store::{AuthMethod, GrantType};

/// A first-party portal (no consent page) with a secret.
async fn portal(server: &TestServer, id: &str) -> TestClient {
    server
        .client_with(id, AuthMethod::ClientSecretBasic, true, SigningAlg::ES256)
        .await
}

fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("a JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn header(jwt: &str) -> Value {
    let part = jwt.split('.').next().expect("a JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The same claims under `alg: none` (RFC 7519 section 6: an unsecured JWT).
fn unsigned(claims: &Value, kid: &str) -> String {
    let h = json!({"alg": "none", "typ": "JWT", "kid": kid});
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(h.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// The same claims under HS256 keyed with public key material, once per form an
/// attacker might guess the verifier uses as the HMAC key (RFC 8725 section 2.1).
fn hmac_forgeries(claims: &Value, jwk: &Value, typ: &str) -> Vec<String> {
    let mut secrets = vec![jwk.to_string().into_bytes()];
    for member in ["n", "x", "y"] {
        if let Some(v) = jwk[member].as_str() {
            secrets.push(v.as_bytes().to_vec());
            secrets.push(URL_SAFE_NO_PAD.decode(v).unwrap());
        }
    }
    secrets
        .iter()
        .map(|secret| {
            let mut h = Header::new(jsonwebtoken::Algorithm::HS256);
            h.kid = jwk["kid"].as_str().map(str::to_owned);
            h.typ = Some(typ.to_owned());
            jsonwebtoken::encode(&h, claims, &EncodingKey::from_secret(secret)).unwrap()
        })
        .collect()
}

/// The server's published key with this `kid`.
async fn published_key(server: &TestServer, kid: &str) -> Value {
    let jwks: Value = reqwest::get(server.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .cloned()
        .expect("the token's key is published")
}

/// Every forgery of `token`: the same claims, unsigned, or HMAC'd with the key that
/// signed the original, and with the server's RSA key too.
async fn forgeries(server: &TestServer, token: &str, typ: &str) -> Vec<String> {
    let claims = payload(token);
    let kid = header(token)["kid"].as_str().unwrap().to_owned();
    let mut out = vec![unsigned(&claims, &kid)];
    out.extend(hmac_forgeries(
        &claims,
        &published_key(server, &kid).await,
        typ,
    ));
    let jwks: Value = reqwest::get(server.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in jwks["keys"].as_array().unwrap() {
        if key["kty"] == "RSA" {
            out.extend(hmac_forgeries(&claims, key, typ));
        }
    }
    out
}

#[tokio::test]
async fn rfc9700_4_1_redirect_uri_tricks_get_an_error_page_never_a_redirect() {
    let server = TestServer::start().await;
    let client = portal(&server, "ministry").await;
    let registered = client.redirect_uri.clone(); // http://127.0.0.1:9/ministry/cb
    let tricks = [
        format!("{registered}/"),
        format!("{registered}?next=https://evil.example"),
        format!("{registered}#x"),
        registered.replace("/cb", "/CB"),
        registered.replace("http://", "HTTP://"),
        registered.replace("http://", "https://"),
        registered.replace(":9/", ":90/"),
        registered.replace("127.0.0.1", "127.0.0.1.evil.example"),
        registered.replace("http://", "http://evil.example@"),
        registered.replace("127.0.0.1:9", "evil.example/127.0.0.1:9"),
        format!("{registered}/../../evil"),
        format!("{registered}%2F..%2Fevil"),
        format!("{registered}x"),
        format!(" {registered}"),
        registered.trim_end_matches("/cb").to_owned(),
        "https://evil.example/ministry/cb".to_owned(),
    ];
    for uri in &tricks {
        let r = Browser::new(&server)
            .get(&server.authorize_url(&client, &[("redirect_uri", uri)]))
            .await;
        assert_eq!(r.status(), 400, "{uri}");
        assert!(location(r.headers()).is_none(), "{uri}: redirected");
        let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/html"), "{uri}: {kind}");
    }
    // The registered URI itself still works.
    let r = Browser::new(&server)
        .get(&server.authorize_url(&client, &[]))
        .await;
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn rfc9700_2_1_1_pkce_is_required_and_plain_is_refused() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = portal(&server, "ministry").await;
    for (extra, what) in [
        (
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "no challenge",
        ),
        (vec![("code_challenge_method", "plain")], "plain"),
        (vec![("code_challenge_method", "S512")], "unknown method"),
        (vec![("code_challenge", "short")], "malformed challenge"),
    ] {
        let to = Browser::new(&server)
            .follow(&server.authorize_url(&client, &extra))
            .await;
        assert!(to.starts_with(&client.redirect_uri), "{what}: {to}");
        assert_eq!(query(&to)["error"], "invalid_request", "{what}");
        assert!(!query(&to).contains_key("code"), "{what}");
    }
    // A wrong verifier does not redeem the code.
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    let code = code_from(&location(r.headers()).unwrap(), &server, &client);
    let r = server
        .exchange(&client, &code, &"x".repeat(VERIFIER.len()))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn rfc9700_4_8_pkce_downgrade_a_verifier_without_a_challenge_is_refused() {
    // Where confidential clients may go without PKCE, a code issued without a
    // challenge must not be redeemed with a verifier: an attacker who stripped the
    // challenge from the victim's request would otherwise pass.
    let server = TestServer::start_with("[oauth]\nrequire_pkce = \"public\"\n").await;
    server.account("mai").await;
    let client = portal(&server, "ministry").await;
    let browser = Browser::new(&server);
    let url = server.authorize_url(
        &client,
        &[("code_challenge", ""), ("code_challenge_method", "")],
    );
    let login = browser.follow(&url).await;
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    let code = code_from(&location(r.headers()).unwrap(), &server, &client);
    let r = server.exchange(&client, &code, VERIFIER).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn rfc9700_4_5_an_injected_code_fails_the_victims_pkce() {
    // The attacker logs in as themself, stops before their client redeems the code,
    // and injects it into the victim's session with the same portal: the portal redeems
    // it with the victim's verifier, which does not match the attacker's challenge.
    let server = TestServer::start().await;
    server.account("eve").await;
    let client = portal(&server, "ministry").await;
    let attacker_challenge =
        portico::crypto::sha256_b64url("eve-s-own-verifier-of-43-characters-or-more-x");
    let eve = Browser::new(&server);
    let login = eve
        .follow(&server.authorize_url(&client, &[("code_challenge", &attacker_challenge)]))
        .await;
    let r = eve.submit_login(&login, "eve", PASSWORD).await;
    let code = code_from(&location(r.headers()).unwrap(), &server, &client);
    let r = server.exchange(&client, &code, VERIFIER).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn rfc9700_4_4_every_authorization_response_names_the_issuer() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = portal(&server, "ministry").await;
    // An error response (no session for prompt=none) carries `iss` (RFC 9207 section 2).
    let to = Browser::new(&server)
        .follow(&server.authorize_url(&client, &[("prompt", "none")]))
        .await;
    let q = query(&to);
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["iss"], server.base);
    assert_eq!(q["state"], "st-1");
    // So does a success (`code_from` checks it), and discovery says so.
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    code_from(&location(r.headers()).unwrap(), &server, &client);
    let d: Value = reqwest::get(server.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
}

#[tokio::test]
async fn rfc9700_4_16_pages_refuse_framing_and_send_no_referrer() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let consenting = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let login = browser
        .follow(&server.authorize_url(&consenting, &[]))
        .await;
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    let consent = location(r.headers()).unwrap();
    assert!(consent.starts_with("/consent"), "{consent}");
    let unknown_client = server.url("/authorize?client_id=nobody&response_type=code");
    for page in [
        login.as_str(),
        consent.as_str(),
        "/account",
        "/end_session",
        unknown_client.as_str(),
    ] {
        let r = browser.get(page).await;
        assert!(
            r.status() == 200 || r.status() == 400,
            "{page}: {}",
            r.status()
        );
        let h = r.headers();
        assert_eq!(h["x-frame-options"], "DENY", "{page}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{page}: {csp}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{page}");
        assert_eq!(h["cache-control"], "no-store", "{page}");
    }
}

fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-portico_session="))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

#[tokio::test]
async fn asvs_3_2_1_a_planted_session_cookie_never_becomes_the_victims_session() {
    let server = TestServer::start().await;
    server.account("eve").await;
    server.account("mai-tran").await;
    let client = portal(&server, "ministry").await;
    // Eve signs in and plants her own session cookie in Mai's browser.
    let eve = Browser::new(&server);
    let login = eve.follow(&server.authorize_url(&client, &[])).await;
    let r = eve.submit_login(&login, "eve", PASSWORD).await;
    let planted = session_cookie(&r).expect("Eve's session cookie");
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let base = url::Url::parse(&server.base).unwrap();
    jar.add_cookie_str(&format!("{planted}; Path=/"), &base);
    let mai = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Mai is asked to log in again (prompt=login: she does not know she is "Eve"), and
    // gets a new cookie of her own.
    let r = mai
        .get(server.authorize_url(&client, &[("prompt", "login")]))
        .send()
        .await
        .unwrap();
    let login = server.url(&location(r.headers()).unwrap());
    let html = mai.get(&login).send().await.unwrap().text().await.unwrap();
    let r = mai
        .post(server.url("/login"))
        .form(&[
            ("request", hidden(&html, "request").unwrap().as_str()),
            ("csrf", hidden(&html, "csrf").unwrap().as_str()),
            ("source", "password"),
            ("username", "mai-tran"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let fresh = session_cookie(&r).expect("a new session cookie at login");
    assert_ne!(fresh, planted, "the session id changes at login");
    let code = code_from(&location(r.headers()).unwrap(), &server, &client);
    let t: Value = server
        .exchange(&client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let mai_sub = payload(t["id_token"].as_str().unwrap())["sub"].clone();
    // Eve's cookie is not Mai's session: Eve's session was ended when another person
    // signed in on that browser, and her cookie now opens nothing.
    let r = eve.get("/account").await;
    assert_eq!(r.status(), 303, "Eve's planted session no longer works");
    let eve_again = server.tokens(&client, "eve", &[]).await;
    assert_ne!(
        payload(eve_again["id_token"].as_str().unwrap())["sub"],
        mai_sub
    );
}

/// A login page's visible answer, without the per-request hidden values and the
/// username the person typed (which the form keeps).
async fn login_answer(server: &TestServer, client: &TestClient, username: &str) -> (u16, String) {
    let browser = Browser::new(server);
    let login = browser.follow(&server.authorize_url(client, &[])).await;
    let r = browser
        .submit_login(&login, username, "not the password")
        .await;
    let status = r.status().as_u16();
    let html = r.text().await.unwrap();
    let mut visible = html.replace(username, "USERNAME");
    for name in ["request", "csrf", "attempt"] {
        if let Some(v) = hidden(&html, name) {
            visible = visible.replace(&v, "HIDDEN");
        }
    }
    (status, visible)
}

#[tokio::test]
async fn asvs_2_2_1_login_answers_the_same_for_unknown_and_known_usernames() {
    let server = TestServer::start().await;
    server.account("mai-nguyen").await;
    let client = portal(&server, "ministry").await;
    let known = login_answer(&server, &client, "mai-nguyen").await;
    let unknown = login_answer(&server, &client, "binh-tran").await;
    assert_eq!(known.0, unknown.0);
    assert_eq!(known.1, unknown.1, "the pages differ");
    assert!(known.1.contains("the username or password is incorrect"));
}

#[tokio::test]
async fn rfc8725_3_1_access_tokens_unsigned_or_hmac_with_a_public_key_are_refused() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = portal(&server, "ministry").await;
    let t = server.sign_in(&Browser::new(&server), &client, "mai").await;
    let real = t["access_token"].as_str().unwrap();
    let userinfo = |token: String| {
        let url = server.url("/userinfo");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(userinfo(real.to_owned()).await, 200, "the real token works");
    let forged = forgeries(&server, real, "at+jwt").await;
    assert!(forged.len() >= 6);
    for token in forged {
        assert_eq!(userinfo(token.clone()).await, 401, "{token}");
        let info: Value = server
            .post_as(&client, "/introspect", &[("token", &token)])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(info, json!({"active": false}), "{token}");
    }
}

#[tokio::test]
async fn rfc8725_3_1_id_token_hints_unsigned_or_hmac_with_a_public_key_are_refused() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .register(ClientRegistration {
            post_logout_redirect_uris: vec!["http://127.0.0.1:9/ministry/bye".into()],
            first_party: true,
            ..server.registration("ministry")
        })
        .await;
    let browser = Browser::new(&server);
    let t = server.sign_in(&browser, &client, "mai").await;
    let real = t["id_token"].as_str().unwrap();
    for hint in forgeries(&server, real, "JWT").await {
        // At logout: refused outright, the session untouched.
        let r = browser
            .get(&format!(
                "/end_session?id_token_hint={hint}&post_logout_redirect_uri={}",
                "http%3A%2F%2F127.0.0.1%3A9%2Fministry%2Fbye"
            ))
            .await;
        assert_eq!(r.status(), 400, "{hint}");
        assert!(location(r.headers()).is_none());
        // At authorization: an error, not a login as whoever the hint names.
        let to = browser
            .follow(&server.authorize_url(&client, &[("prompt", "none"), ("id_token_hint", &hint)]))
            .await;
        assert_eq!(query(&to)["error"], "invalid_request", "{hint}");
    }
    assert_eq!(
        browser.get("/account").await.status(),
        200,
        "still signed in"
    );
}

#[tokio::test]
async fn rfc8725_3_1_client_assertions_unsigned_or_hmac_with_the_clients_key_are_refused() {
    use portico::crypto::keys::{KeyEntry, KeyRing, SigningKey};
    let server = TestServer::start().await;
    let alg = SigningAlg::ES256;
    let key = SigningKey::from_pkcs8(alg, &SigningKey::generate_pkcs8(alg).unwrap()).unwrap();
    let jwk = key.public_jwk.clone();
    let ring = KeyRing::new(vec![KeyEntry {
        key,
        activates_at: 0,
        retired_at: None,
    }]);
    server
        .register(ClientRegistration {
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec!["reports.read".into()],
            audiences: vec!["https://reports.example.gov".into()],
            auth_method: Some(AuthMethod::PrivateKeyJwt),
            jwks: Some(json!({"keys": [jwk]}).to_string()),
            ..ClientRegistration::new("reports", vec![])
        })
        .await;
    let now = server.provider().now();
    let claims = |jti: &str| {
        json!({"iss": "reports", "sub": "reports", "aud": server.url("/token"),
               "iat": now, "exp": now + 60, "jti": jti})
    };
    let present = |assertion: String| {
        let url = server.url("/token");
        async move {
            reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &assertion),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let kid = jwk["kid"].as_str().unwrap();
    let mut forged = vec![unsigned(&claims("f-0"), kid)];
    // Each with its own jti, so that a replay check cannot be what refuses it.
    let secrets = hmac_forgeries(&claims("count"), &jwk, "JWT").len();
    for i in 0..secrets {
        forged.push(hmac_forgeries(&claims(&format!("f-h{i}")), &jwk, "JWT").swap_remove(i));
    }
    for assertion in forged {
        let r = present(assertion.clone()).await;
        assert_eq!(r.status(), 401, "{assertion}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    }
    // The genuine assertion works, so the refusals above are the algorithm's.
    let r = present(ring.sign(alg, "JWT", &claims("real"), now).unwrap()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}
