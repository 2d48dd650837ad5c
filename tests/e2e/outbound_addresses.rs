//! Server-side request forgery through a portal's registration (ASVS 4.0.3 V5.2.6,
//! V12.6.1): the URIs Portico itself calls for a portal (`jwks_uri`, back-channel
//! logout, sector identifier) may not reach private, loopback or link-local addresses
//! unless `outbound.allow_private_addresses` is on. Refused at registration, and again
//! at connect time on the address actually resolved, so that a name registered while
//! it resolved elsewhere (or while the setting was on) still cannot reach inside.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use portico::config::OutboundConfig;
use portico::crypto::SigningAlg;
use portico::crypto::keys::{KeyEntry, KeyRing, SigningKey};
use portico::oidc::registration::{ClientRegistration, register};
use portico::store::{AuthMethod, GrantType};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cli::portico;
use crate::common::*;
use crate::logout::{FAST_RETRIES, portal};

const STRICT: &str = "[outbound]\nallow_private_addresses = false\n";
const SETTING: &str = "outbound.allow_private_addresses";

/// A listener on loopback that counts the TCP connections it accepts and answers each
/// request with `200` and `body`: whether Portico connected at all is the count.
async fn counting_listener(body: String) -> (u16, Arc<AtomicU32>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicU32::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    (port, accepted)
}

/// Registers on `server`'s database as a registration made while the setting was on
/// (or before it existed): what the connect-time check is for.
async fn register_while_allowed(server: &TestServer, reg: ClientRegistration) {
    let allowed = OutboundConfig {
        allow_private_addresses: true,
    };
    let (client, _) = register(reg, &server.base, allowed, 0).await.unwrap();
    server
        .provider()
        .store
        .clients()
        .insert(&client)
        .await
        .unwrap();
}

fn jwt_client(id: &str, jwks_uri: String) -> ClientRegistration {
    ClientRegistration {
        grant_types: vec![GrantType::ClientCredentials],
        scopes: vec!["reports.read".into()],
        audiences: vec!["https://reports.example.gov".into()],
        auth_method: Some(AuthMethod::PrivateKeyJwt),
        jwks_uri: Some(jwks_uri),
        ..ClientRegistration::new(id, vec![])
    }
}

struct ClientKey {
    ring: KeyRing,
    jwk: Value,
}

fn client_key() -> ClientKey {
    let alg = SigningAlg::ES256;
    let key = SigningKey::from_pkcs8(alg, &SigningKey::generate_pkcs8(alg).unwrap()).unwrap();
    let jwk = key.public_jwk.clone();
    let entry = KeyEntry {
        key,
        activates_at: 0,
        retired_at: None,
    };
    ClientKey {
        ring: KeyRing::new(vec![entry]),
        jwk,
    }
}

/// A `client_credentials` request authenticated by a fresh assertion of `key`.
async fn token_request(server: &TestServer, client_id: &str, key: &ClientKey) -> reqwest::Response {
    let now = server.provider().now();
    let claims = json!({
        "iss": client_id, "sub": client_id, "aud": server.url("/token"),
        "iat": now, "exp": now + 60, "jti": portico::ids::new_uuid(),
    });
    let assertion = key.ring.sign(SigningAlg::ES256, "JWT", &claims, 0).unwrap();
    reqwest::Client::new()
        .post(server.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            (
                "client_assertion_type",
                portico::oidc::client_assertion::JWT_BEARER,
            ),
            ("client_assertion", assertion.as_str()),
        ])
        .send()
        .await
        .unwrap()
}

#[test]
fn asvs_5_2_6_registration_refuses_loopback_jwks_uri_and_other_internal_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let add = |extra: &[&str], allowed: bool| {
        let mut c = portico(dir.path());
        if allowed {
            c.env("PORTICO_OUTBOUND__ALLOW_PRIVATE_ADDRESSES", "true");
        }
        c.args([
            "client",
            "add",
            "--redirect-uri",
            "https://tax.example.gov/cb",
        ])
        .args(extra)
        .output()
        .unwrap()
    };
    let jwt = |id: &'static str, uri: &'static str| {
        [
            "--client-id",
            id,
            "--auth-method",
            "private_key_jwt",
            "--jwks-uri",
            uri,
        ]
    };
    let refusals: [(Vec<&str>, &str); 6] = [
        (
            jwt("a", "http://127.0.0.1:9/jwks").to_vec(),
            "http://127.0.0.1:9/jwks",
        ),
        // A name resolving to loopback, not only a literal address.
        (
            jwt("b", "http://localhost:9/jwks").to_vec(),
            "http://localhost:9/jwks",
        ),
        (
            jwt("c", "https://[::ffff:7f00:1]/jwks").to_vec(),
            "https://[::ffff:7f00:1]/jwks",
        ),
        (
            jwt("d", "https://10.20.30.40/jwks").to_vec(),
            "https://10.20.30.40/jwks",
        ),
        (
            vec![
                "--client-id",
                "e",
                "--backchannel-logout-uri",
                "https://169.254.169.254/latest/meta-data/",
            ],
            "https://169.254.169.254/latest/meta-data/",
        ),
        (
            vec![
                "--client-id",
                "f",
                "--subject-type",
                "pairwise",
                "--sector",
                "https://192.168.1.10/sector.json",
            ],
            "https://192.168.1.10/sector.json",
        ),
    ];
    for (args, uri) in &refusals {
        let out = add(args, false);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{uri} was registered");
        assert!(
            err.contains(uri) && err.contains(SETTING),
            "the refusal names the URI and the setting: {err}"
        );
    }
    let listed = portico(dir.path())
        .args(["client", "list"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "",
        "nothing stored"
    );

    // With the setting on, the same loopback jwks_uri is registered.
    let out = add(&jwt("a", "http://127.0.0.1:9/jwks"), true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "registered client `a`\n"
    );
}

#[tokio::test]
async fn asvs_5_2_6_a_jwks_uri_reaching_loopback_is_refused_at_connect_time() {
    let key = client_key();
    let (port, accepted) = counting_listener(json!({"keys": [key.jwk]}).to_string()).await;
    // Node `open` allows private addresses (as the registration was made); node
    // `strict`, on the same database, does not.
    let open = TestServer::start().await;
    register_while_allowed(
        &open,
        jwt_client("by-name", format!("http://localhost:{port}/jwks")),
    )
    .await;
    register_while_allowed(
        &open,
        jwt_client("by-address", format!("http://127.0.0.1:{port}/jwks")),
    )
    .await;
    let strict = open.second_node(STRICT).await;

    for client in ["by-name", "by-address"] {
        let r = token_request(&strict, client, &key).await;
        assert_eq!(r.status(), 401, "{client}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{client}");
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "no connection reached the portal's listener"
    );

    // The listener does serve the key: with the setting on, the same assertion works.
    let r = token_request(&open, "by-name", &key).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert!(accepted.load(Ordering::SeqCst) >= 1);
}

#[tokio::test]
async fn asvs_5_2_6_a_back_channel_logout_uri_reaching_loopback_is_refused_at_connect_time() {
    let (port, accepted) = counting_listener(String::new()).await;
    let server = TestServer::start_with(&format!("{FAST_RETRIES}{STRICT}")).await;
    server.account("mai").await;
    let uri = format!("http://localhost:{port}/logout");
    let reg = portal(&server, "ministry", Some(&uri), true);
    register_while_allowed(&server, reg.clone()).await;
    let rp = TestClient {
        id: "ministry".into(),
        secret: None,
        redirect_uri: reg.redirect_uris[0].clone(),
    };
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&rp, &[])).await;
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    assert!(
        location(r.headers()).unwrap().contains("code="),
        "signed in"
    );
    // Logging out queues a back-channel notice for the portal the session visited.
    let page = browser
        .get(&format!("/end_session?client_id={}", rp.id))
        .await;
    let html = page.text().await.unwrap();
    let csrf = hidden(&html, "csrf").expect("the confirmation form");
    let form = [
        ("csrf", csrf.as_str()),
        ("client_id", "ministry"),
        ("decision", "logout"),
    ];
    browser.post_form("/logout", &form).await;
    let after = browser
        .follow(&server.authorize_url(&rp, &[("prompt", "none")]))
        .await;
    assert_eq!(query(&after)["error"], "login_required", "logged out");

    let start = Instant::now();
    let audit = loop {
        let a = server
            .provider()
            .store
            .audit()
            .recent("backchannel_logout_failed", 5)
            .await
            .unwrap();
        if !a.is_empty() || start.elapsed() > Duration::from_secs(15) {
            break a;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(audit.len(), 1, "the delivery was given up");
    assert!(audit[0].detail.contains(SETTING), "{}", audit[0].detail);
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "never connected");
}
