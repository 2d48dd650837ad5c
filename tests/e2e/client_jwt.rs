//! `private_key_jwt` client authentication (RFC 7523): keys inline or at a `jwks_uri`,
//! and every way an assertion can be wrong.

use std::sync::{Arc, Mutex};

use portico::crypto::SigningAlg;
use portico::crypto::keys::{KeyEntry, KeyRing, SigningKey};
use portico::oidc::registration::ClientRegistration;
use portico::store::{AuthMethod, GrantType};
use serde_json::{Value, json};

use crate::common::*;

struct ClientKey {
    ring: KeyRing,
    jwk: Value,
}

fn client_key(alg: SigningAlg) -> ClientKey {
    let key = SigningKey::from_pkcs8(alg, &SigningKey::generate_pkcs8(alg).unwrap()).unwrap();
    let jwk = key.public_jwk.clone();
    ClientKey {
        ring: KeyRing::new(vec![KeyEntry {
            key,
            activates_at: 0,
            retired_at: None,
        }]),
        jwk,
    }
}

impl ClientKey {
    fn assertion(&self, claims: &Value) -> String {
        let alg = SigningAlg::parse(self.jwk["alg"].as_str().unwrap()).unwrap();
        self.ring.sign(alg, "JWT", claims, 0).unwrap()
    }
}

fn claims(server: &TestServer, client_id: &str, jti: &str) -> Value {
    let now = server.provider().now();
    json!({"iss": client_id, "sub": client_id, "aud": server.url("/token"), "iat": now, "exp": now + 60, "jti": jti})
}

async fn token_with(server: &TestServer, client_id: &str, assertion: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap()
}

async fn register_jwt_client(
    server: &TestServer,
    id: &str,
    jwks: Option<String>,
    jwks_uri: Option<String>,
) {
    server
        .register(ClientRegistration {
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec!["reports.read".into()],
            audiences: vec!["https://reports.example.gov".into()],
            auth_method: Some(AuthMethod::PrivateKeyJwt),
            jwks,
            jwks_uri,
            ..ClientRegistration::new(id, vec![])
        })
        .await;
}

async fn assert_invalid_client(r: reqwest::Response, what: &str) {
    assert_eq!(r.status(), 401, "{what}");
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "invalid_client",
        "{what}"
    );
}

fn b64(v: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn rfc7523_assertions_are_checked_strictly() {
    let server = TestServer::start().await;
    let key = client_key(SigningAlg::ES256);
    register_jwt_client(
        &server,
        "reports",
        Some(json!({"keys": [key.jwk]}).to_string()),
        None,
    )
    .await;

    let good = key.assertion(&claims(&server, "reports", "j-1"));
    let r = token_with(&server, "reports", &good).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // The issuer as audience is accepted too (RFC 7523bis).
    let mut c = claims(&server, "reports", "j-2");
    c["aud"] = json!(server.base);
    assert_eq!(
        token_with(&server, "reports", &key.assertion(&c))
            .await
            .status(),
        200
    );

    assert_invalid_client(token_with(&server, "reports", &good).await, "replayed jti").await;
    let mut c = claims(&server, "reports", "j-3");
    c["exp"] = json!(server.provider().now() - 120);
    assert_invalid_client(
        token_with(&server, "reports", &key.assertion(&c)).await,
        "expired",
    )
    .await;
    let mut c = claims(&server, "reports", "j-4");
    c["aud"] = json!("https://other-idp.example/token");
    assert_invalid_client(
        token_with(&server, "reports", &key.assertion(&c)).await,
        "wrong audience",
    )
    .await;
    let mut c = claims(&server, "reports", "j-5");
    c["exp"] = json!(server.provider().now() + 3600);
    assert_invalid_client(
        token_with(&server, "reports", &key.assertion(&c)).await,
        "too long-lived",
    )
    .await;
    let mut c = claims(&server, "reports", "j-6");
    c.as_object_mut().unwrap().remove("jti");
    assert_invalid_client(
        token_with(&server, "reports", &key.assertion(&c)).await,
        "no jti",
    )
    .await;
    let mut c = claims(&server, "reports", "j-7");
    c["sub"] = json!("someone-else");
    assert_invalid_client(
        token_with(&server, "reports", &key.assertion(&c)).await,
        "wrong sub",
    )
    .await;

    // alg none.
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims(&server, "reports", "j-8"))
    );
    assert_invalid_client(token_with(&server, "reports", &unsigned).await, "alg none").await;
    // HS256 with the public key as the secret (algorithm confusion).
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = key.jwk["kid"].as_str().map(str::to_owned);
    let hmac = jsonwebtoken::encode(
        &header,
        &claims(&server, "reports", "j-9"),
        &jsonwebtoken::EncodingKey::from_secret(key.jwk.to_string().as_bytes()),
    )
    .unwrap();
    assert_invalid_client(
        token_with(&server, "reports", &hmac).await,
        "HMAC over the public key",
    )
    .await;
    // Signed by another key.
    let stranger = client_key(SigningAlg::ES256);
    let forged = stranger.assertion(&claims(&server, "reports", "j-10"));
    assert_invalid_client(token_with(&server, "reports", &forged).await, "unknown key").await;
}

#[tokio::test]
async fn rfc7523_3_an_audience_naming_another_party_is_refused() {
    let server = TestServer::start().await;
    let key = client_key(SigningAlg::ES256);
    register_jwt_client(
        &server,
        "reports",
        Some(json!({"keys": [key.jwk]}).to_string()),
        None,
    )
    .await;
    let with_aud = |jti: &str, aud: Value| {
        let mut c = claims(&server, "reports", jti);
        c["aud"] = aud;
        key.assertion(&c)
    };
    // Audience injection: an assertion also valid at another party.
    for (jti, aud) in [
        ("inj-1", json!([server.base, "https://evil"])),
        ("inj-2", json!(["https://evil", server.url("/token")])),
        ("inj-3", json!([server.base, server.url("/token")])),
        ("inj-4", json!([])),
    ] {
        assert_invalid_client(
            token_with(&server, "reports", &with_aud(jti, aud.clone())).await,
            &format!("aud {aud}"),
        )
        .await;
    }
    // One audience that is ours: the issuer, the token endpoint, or an array of one.
    for (jti, aud) in [
        ("ok-1", json!(server.base)),
        ("ok-2", json!(server.url("/token"))),
        ("ok-3", json!([server.base])),
    ] {
        let r = token_with(&server, "reports", &with_aud(jti, aud.clone())).await;
        assert_eq!(r.status(), 200, "aud {aud}: {}", r.text().await.unwrap());
    }
}

#[tokio::test]
async fn rfc7523_a_private_key_jwt_client_presenting_a_secret_is_refused() {
    let server = TestServer::start().await;
    let key = client_key(SigningAlg::ES256);
    register_jwt_client(
        &server,
        "reports",
        Some(json!({"keys": [key.jwk]}).to_string()),
        None,
    )
    .await;
    // The secret methods accept each other, but not in place of a key.
    let r = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth("reports", Some("guess"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_invalid_client(r, "a secret in Basic").await;
    let r = reqwest::Client::new()
        .post(server.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "reports"),
            ("client_secret", "guess"),
        ])
        .send()
        .await
        .unwrap();
    assert_invalid_client(r, "a secret in the form").await;
}

#[tokio::test]
async fn jwks_uri_is_fetched_cached_and_refreshed_on_an_unknown_kid() {
    let server = TestServer::start().await;
    let first = client_key(SigningAlg::ES256);
    let served = Arc::new(Mutex::new(json!({"keys": [first.jwk]}).to_string()));
    let fetches = Arc::new(Mutex::new(0u32));
    let (s2, f2) = (served.clone(), fetches.clone());
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let (s, f) = (s2.clone(), f2.clone());
            async move {
                *f.lock().unwrap() += 1;
                s.lock().unwrap().clone()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!(
        "http://127.0.0.1:{}/jwks",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    register_jwt_client(&server, "reports", None, Some(uri)).await;

    for jti in ["a", "b"] {
        let r = token_with(
            &server,
            "reports",
            &first.assertion(&claims(&server, "reports", jti)),
        )
        .await;
        assert_eq!(r.status(), 200);
    }
    assert_eq!(*fetches.lock().unwrap(), 1, "cached");

    // The client rotates its key: an unknown kid triggers a refetch (not more often than
    // every ten seconds).
    let second = client_key(SigningAlg::RS256);
    *served.lock().unwrap() = json!({"keys": [second.jwk]}).to_string();
    server.clock.advance(11);
    let r = token_with(
        &server,
        "reports",
        &second.assertion(&claims(&server, "reports", "c")),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(*fetches.lock().unwrap(), 2);
}

#[tokio::test]
async fn private_key_jwt_for_the_code_flow_and_introspection() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let key = client_key(SigningAlg::ES256);
    let client = server
        .register(ClientRegistration {
            auth_method: Some(AuthMethod::PrivateKeyJwt),
            jwks: Some(json!({"keys": [key.jwk]}).to_string()),
            ..server.registration("jwt-portal")
        })
        .await;
    assert!(client.secret.is_none());
    let browser = Browser::new(&server);
    let redirect = browser
        .authorize_interactively(&server.authorize_url(&client, &[]), "mai")
        .await;
    let code = code_from(&redirect, &server, &client);
    let assertion = key.assertion(&claims(&server, "jwt-portal", "x-1"));
    let r = reqwest::Client::new()
        .post(server.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("code_verifier", VERIFIER),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let at = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let assertion = key.assertion(&claims(&server, "jwt-portal", "x-2"));
    let info: Value = reqwest::Client::new()
        .post(server.url("/introspect"))
        .form(&[
            ("token", at.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["active"], true);
}

/// A `jwks_uri` on loopback that counts its requests, answering `status` and `body`
/// after `delay` (so that concurrent requests overlap a fetch).
async fn counting_jwks_server(
    status: u16,
    body: String,
    delay: std::time::Duration,
) -> (String, Arc<Mutex<u32>>) {
    let fetches = Arc::new(Mutex::new(0u32));
    let counter = fetches.clone();
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let (counter, body) = (counter.clone(), body.clone());
            async move {
                *counter.lock().unwrap() += 1;
                tokio::time::sleep(delay).await;
                (axum::http::StatusCode::from_u16(status).unwrap(), body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!(
        "http://127.0.0.1:{}/jwks",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (uri, fetches)
}

/// An assertion for `client_id` signed by a key the client never registered (its `kid`
/// unknown to the client's set): what anyone can send without credentials.
fn bogus_assertion(server: &TestServer, client_id: &str, n: usize) -> String {
    client_key(SigningAlg::ES256).assertion(&claims(server, client_id, &format!("bogus-{n}")))
}

#[tokio::test]
async fn rfc7523_concurrent_bogus_assertions_share_one_jwks_fetch() {
    let server = TestServer::start().await;
    let key = client_key(SigningAlg::ES256);
    let (uri, fetches) = counting_jwks_server(
        200,
        json!({"keys": [key.jwk]}).to_string(),
        std::time::Duration::from_millis(300),
    )
    .await;
    register_jwt_client(&server, "reports", None, Some(uri)).await;
    let bogus: Vec<String> = (0..50)
        .map(|n| bogus_assertion(&server, "reports", n))
        .collect();
    let url = server.url("/token");
    let requests: Vec<_> = bogus
        .into_iter()
        .map(|assertion| {
            let url = url.clone();
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", "reports"),
                        (
                            "client_assertion_type",
                            portico::oidc::client_assertion::JWT_BEARER,
                        ),
                        ("client_assertion", assertion.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    for r in requests {
        assert_invalid_client(r.await.unwrap(), "bogus assertion").await;
    }
    let n = *fetches.lock().unwrap();
    assert!(
        (1..=2).contains(&n),
        "{n} fetches for 50 concurrent assertions"
    );
    // The client's real key still works, from the cached set.
    let r = token_with(
        &server,
        "reports",
        &key.assertion(&claims(&server, "reports", "real")),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(*fetches.lock().unwrap(), n, "no fetch for a known kid");
}

#[tokio::test]
async fn rfc7523_a_failing_jwks_uri_is_fetched_once_for_a_burst() {
    let server = TestServer::start().await;
    let (uri, fetches) = counting_jwks_server(500, "down".into(), std::time::Duration::ZERO).await;
    register_jwt_client(&server, "reports", None, Some(uri)).await;
    for n in 0..20 {
        assert_invalid_client(
            token_with(&server, "reports", &bogus_assertion(&server, "reports", n)).await,
            "bogus assertion, jwks_uri failing",
        )
        .await;
    }
    assert_eq!(*fetches.lock().unwrap(), 1, "the failure is remembered");
    // Only for a short while: the key set is tried again after 30 s.
    server.clock.advance(31);
    assert_invalid_client(
        token_with(&server, "reports", &bogus_assertion(&server, "reports", 20)).await,
        "after the failure was forgotten",
    )
    .await;
    assert_eq!(*fetches.lock().unwrap(), 2);
}
