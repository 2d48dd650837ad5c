//! Token endpoint errors, exactly per RFC 6749 section 5.2.

use portico::store::AuthMethod;
use serde_json::Value;

use crate::common::*;

async fn code_for(server: &TestServer, client: &TestClient) -> String {
    server.account("mai").await;
    let browser = Browser::new(server);
    let redirect = browser
        .authorize_interactively(&server.authorize_url(client, &[]), "mai")
        .await;
    code_from(&redirect, server, client)
}

async fn assert_error(r: reqwest::Response, status: u16, error: &str) -> Value {
    assert_eq!(r.status(), status);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string());
    body
}

#[tokio::test]
async fn wrong_client_secret_is_401_invalid_client_with_a_challenge() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let code = code_for(&server, &client).await;
    let r = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(&client.id, Some("not-the-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_error(r, 401, "invalid_client").await;
    assert!(challenge.unwrap().starts_with("Basic"));
    // The code was not spent by the failed authentication.
    assert_eq!(
        server.exchange(&client, &code, VERIFIER).await.status(),
        200
    );
}

/// The token request of `code` with the secret in the form (`client_secret_post`).
async fn exchange_posting_secret(
    server: &TestServer,
    client: &TestClient,
    code: &str,
    secret: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("code_verifier", VERIFIER),
            ("client_id", client.id.as_str()),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn rfc6749_2_3_1_a_secret_client_may_send_its_secret_either_way() {
    let server = TestServer::start().await;
    let basic = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let post = server
        .client("province", AuthMethod::ClientSecretPost)
        .await;
    // Registered for Basic, the secret in the form (openid-client's default).
    let code = code_for(&server, &basic).await;
    let r = exchange_posting_secret(&server, &basic, &code, basic.secret.as_deref().unwrap()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // Registered for the form, the secret in Basic.
    let redirect = Browser::new(&server)
        .authorize_interactively(&server.authorize_url(&post, &[]), "mai")
        .await;
    let code = code_from(&redirect, &server, &post);
    let r = server.exchange(&post, &code, VERIFIER).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // Either way, the wrong secret is still refused.
    let code = code_for_again(&server, &basic).await;
    let r = exchange_posting_secret(&server, &basic, &code, "not-the-secret").await;
    assert_error(r, 401, "invalid_client").await;
}

async fn code_for_again(server: &TestServer, client: &TestClient) -> String {
    let redirect = Browser::new(server)
        .authorize_interactively(&server.authorize_url(client, &[]), "mai")
        .await;
    code_from(&redirect, server, client)
}

#[tokio::test]
async fn rfc6749_2_3_client_authentication_other_than_the_secret_methods_is_strict() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let code = code_for(&server, &client).await;
    // No authentication at all for a confidential client.
    let r = reqwest::Client::new()
        .post(server.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", client.id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "invalid_client").await;
    // Two methods at once.
    let r = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("grant_type", "authorization_code"), ("client_secret", "x")])
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_request").await;
    // A public client has no secret to present.
    let public = server.client("app", AuthMethod::None).await;
    let code = code_for_again(&server, &public).await;
    let r = exchange_posting_secret(&server, &public, &code, "anything").await;
    assert_error(r, 401, "invalid_client").await;
}

#[tokio::test]
async fn wrong_pkce_verifier_is_invalid_grant() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let code = code_for(&server, &client).await;
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX";
    assert_error(
        server.exchange(&client, &code, wrong).await,
        400,
        "invalid_grant",
    )
    .await;
    // The failed attempt spent the code.
    assert_error(
        server.exchange(&client, &code, VERIFIER).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn missing_verifier_is_invalid_grant() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let code = code_for(&server, &client).await;
    let r = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let body = assert_error(r, 400, "invalid_grant").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("code_verifier")
    );
}

#[tokio::test]
async fn reused_code_is_invalid_grant() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let code = code_for(&server, &client).await;
    assert_eq!(
        server.exchange(&client, &code, VERIFIER).await.status(),
        200
    );
    let body = assert_error(
        server.exchange(&client, &code, VERIFIER).await,
        400,
        "invalid_grant",
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
}

#[tokio::test]
async fn concurrent_exchanges_of_one_code_succeed_once() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let code = code_for(&server, &client).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (url, id, secret, uri, code) = (
            server.url("/token"),
            client.id.clone(),
            client.secret.clone(),
            client.redirect_uri.clone(),
            code.clone(),
        );
        tasks.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .basic_auth(id, secret)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", uri.as_str()),
                    ("code_verifier", VERIFIER),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        7,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn expired_code_is_invalid_grant() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let code = code_for(&server, &client).await;
    server.clock.advance(61);
    let body = assert_error(
        server.exchange(&client, &code, VERIFIER).await,
        400,
        "invalid_grant",
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn code_is_bound_to_client_and_redirect_uri() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let other = server
        .client("province", AuthMethod::ClientSecretBasic)
        .await;
    let code = code_for(&server, &client).await;
    let stolen = TestClient {
        id: other.id.clone(),
        secret: other.secret.clone(),
        redirect_uri: client.redirect_uri.clone(),
    };
    assert_error(
        server.exchange(&stolen, &code, VERIFIER).await,
        400,
        "invalid_grant",
    )
    .await;

    let browser = Browser::new(&server);
    let redirect = browser
        .authorize_interactively(&server.authorize_url(&client, &[]), "mai")
        .await;
    let code = code_from(&redirect, &server, &client);
    let wrong_uri = TestClient {
        id: client.id.clone(),
        secret: client.secret.clone(),
        redirect_uri: "http://127.0.0.1:9/elsewhere".into(),
    };
    assert_error(
        server.exchange(&wrong_uri, &code, VERIFIER).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn malformed_requests() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let http = reqwest::Client::new();
    let auth = |r: reqwest::RequestBuilder| r.basic_auth(&client.id, client.secret.as_deref());
    let r = auth(http.post(server.url("/token")))
        .form(&[("code", "x")])
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_request").await;
    let r = auth(http.post(server.url("/token")))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "unsupported_grant_type").await;
    let r = auth(http.post(server.url("/token")))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_request").await;
    let r = auth(http.post(server.url("/token")))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "nope"),
            ("redirect_uri", client.redirect_uri.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_grant").await;
    let r = auth(http.post(server.url("/token")))
        .body("grant_type=authorization_code&grant_type=authorization_code&code=x&redirect_uri=y")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_request").await;
}
