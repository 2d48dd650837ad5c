//! A passkey from the login page's autofill (WebAuthn conditional mediation), with the
//! software authenticator: the login page marks the username field for passkeys and
//! begins nothing by itself; `POST /login/{id}/conditional` (the login page's CSRF
//! token, this browser) begins an attempt whose options ask for conditional mediation;
//! the assertion posted with it to `POST /login/{id}` signs the person in, once. The
//! endpoint refuses a wrong token, another browser, a source that is not a passkey and
//! a passkey below the level the portal asked for.

use serde_json::{Value, json};

use super::step_up::{id_token, register_passkey};
use crate::common::*;

/// The usual sources, and a second passkey source at level 2 (below a level-3 request).
const SOURCES: &str = "[[sources]]\nid = \"password\"\nkind = \"password\"\n\n\
                       [[sources]]\nid = \"passkey\"\nkind = \"webauthn\"\nloa = 3\n\n\
                       [[sources]]\nid = \"passkey-low\"\nkind = \"webauthn\"\nloa = 2\n";

async fn start() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(dir.path()).await;
    TestServer::start_named(database, dir, "localhost", SOURCES).await
}

async fn attempts(server: &TestServer) -> i64 {
    let mut db = SideDoor::open(server.database_url()).await;
    db.count("SELECT COUNT(*) FROM login_attempts").await
}

async fn conditional(
    browser: &Browser,
    source_id: &str,
    request: &str,
    csrf: &str,
) -> (u16, Value) {
    let r = browser
        .post_form(
            &format!("/login/{source_id}/conditional"),
            &[("request", request), ("csrf", csrf)],
        )
        .await;
    let status = r.status().as_u16();
    assert_eq!(r.headers()["cache-control"], "no-store");
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn a_passkey_from_the_username_autofill_signs_in_once_in_this_browser_at_its_level() {
    let server = start().await;
    let mai = server.account("mai").await;
    let mut passkey = register_passkey(&server, "mai").await;
    let client = server
        .client("tax-portal", portico::store::AuthMethod::ClientSecretBasic)
        .await;

    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let request = login.trim_start_matches("/login?request=").to_owned();
    let before = attempts(&server).await;
    let r = browser.get(&login).await;
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    // Its own script, which may ask its own origin for the autofill's attempt.
    assert!(
        csp.ends_with("; script-src 'self'; connect-src 'self'"),
        "{csp}"
    );
    let page = r.text().await.unwrap();
    assert!(
        page.contains("name=\"username\" type=\"text\" autocomplete=\"username webauthn\""),
        "{page}"
    );
    assert!(page.contains("<script src=\"/static/passkey.js\" defer></script>"));
    assert!(
        page.contains("data-passkey-autofill=\"/login/passkey/conditional\""),
        "{page}"
    );
    assert_eq!(
        attempts(&server).await,
        before,
        "a page view begins nothing"
    );
    let csrf = hidden(&page, "csrf").unwrap();

    // A wrong token, or the right one from another browser: refused, nothing begun.
    let (status, body) = conditional(&browser, "passkey", &request, "not-the-token").await;
    assert_eq!(
        (status, body),
        (403, json!({"error": "csrf_token_invalid"}))
    );
    let stranger = Browser::new(&server);
    // With a browser cookie of its own (the request is another browser's to it).
    stranger.get(&login).await;
    let (status, _) = conditional(&stranger, "passkey", &request, &csrf).await;
    assert_eq!(status, 403);
    // Not a passkey source.
    let (status, body) = conditional(&browser, "password", &request, &csrf).await;
    assert_eq!(
        (status, body),
        (400, json!({"error": "source_not_offered"}))
    );
    assert_eq!(attempts(&server).await, before);

    let (status, begun) = conditional(&browser, "passkey", &request, &csrf).await;
    assert_eq!(status, 200, "{begun}");
    assert_eq!(begun["options"]["mediation"], "conditional");
    assert!(
        begun["options"]["publicKey"]["challenge"]
            .as_str()
            .is_some_and(|c| c.len() >= 22),
        "{begun}"
    );
    assert_eq!(begun["action"], "/login/passkey");
    let attempt = begun["attempt"].as_str().unwrap().to_owned();
    assert_eq!(attempts(&server).await, before + 1);

    let assertion = passkey.sign(&begun["options"]).to_string();
    let form = [
        ("request", request.as_str()),
        ("csrf", csrf.as_str()),
        ("attempt", attempt.as_str()),
        ("credential", assertion.as_str()),
    ];
    // Another browser posting this browser's attempt: refused (its token is not that
    // browser's).
    let r = stranger.post_form("/login/passkey", &form).await;
    assert_eq!(r.status(), 403);

    let done = browser.post_form("/login/passkey", &form).await;
    assert_eq!(done.status(), 303, "{}", done.text().await.unwrap());
    let to = location(done.headers()).unwrap();
    let claims = id_token(&server, &browser, &client, &to).await;
    assert_eq!(claims["sub"], mai.as_str());
    assert_eq!(claims["amr"], json!(["hwk", "user"]));
    assert_eq!(claims["acr"], "urn:portico:loa:3");

    // The attempt was taken: the same assertion again finds none.
    let again = browser.post_form("/login/passkey", &form).await;
    assert_eq!(again.status(), 400);
    server.stop().await;
}

#[tokio::test]
async fn the_autofill_endpoint_refuses_a_passkey_below_the_level_asked_for() {
    let server = start().await;
    let client = server
        .client(
            "land-registry",
            portico::store::AuthMethod::ClientSecretBasic,
        )
        .await;
    let browser = Browser::new(&server);
    let login = browser
        .follow(&server.authorize_url(&client, &[("acr_values", "urn:portico:loa:3")]))
        .await;
    let request = login.trim_start_matches("/login?request=").to_owned();
    let page = browser.get(&login).await.text().await.unwrap();
    assert!(!page.contains("/login/passkey-low?"), "{page}");
    // No password form at level 3: the autofill form still carries the token.
    assert!(
        page.contains("data-passkey-autofill=\"/login/passkey/conditional\""),
        "{page}"
    );
    let csrf = hidden(&page, "csrf").unwrap();
    let before = attempts(&server).await;
    let (status, body) = conditional(&browser, "passkey-low", &request, &csrf).await;
    assert_eq!(
        (status, body),
        (400, json!({"error": "source_not_offered"}))
    );
    assert_eq!(attempts(&server).await, before);
    let (status, begun) = conditional(&browser, "passkey", &request, &csrf).await;
    assert_eq!(status, 200, "{begun}");
    server.stop().await;
}
