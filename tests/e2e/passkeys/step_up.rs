//! A passkey as the second factor after a password, with the software authenticator:
//! a level-2 password session asked for level 3 is sent to the passkey (the password
//! is not offered, nor begun from a crafted URL), signs with a passkey registered to
//! the same account from `/account`, and the portal gets a code on the same session
//! and `sid`, `acr` level 3 and `amr` `pwd hwk user mfa`. A passkey of another account
//! does not step this session up: it is that person's login (another `sub` and `sid`),
//! and the browser's previous session is ended, as at any other login.

use serde_json::{Value, json};

use super::authenticator::{Authenticator, options_in};
use super::start;
use crate::common::*;

fn claims_of(id_token: &str) -> Value {
    use base64::Engine;
    let payload = id_token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// Signs `username` in on `/account` with the password and registers a passkey there.
pub(super) async fn register_passkey(server: &TestServer, username: &str) -> Authenticator {
    let browser = Browser::new(server);
    let login = browser.follow(&server.url("/account")).await;
    let r = browser.submit_login(&login, username, PASSWORD).await;
    assert_eq!(location(r.headers()).unwrap(), "/account");
    let html = browser.get("/account").await.text().await.unwrap();
    let csrf = hidden(&html, "csrf").unwrap();
    let r = browser
        .post_form("/account/passkeys/new", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let mut authenticator = Authenticator::new(&server.base);
    let credential = authenticator.register(&options_in(&html));
    let r = browser
        .post_form(
            "/account/passkeys/register",
            &[
                ("csrf", &csrf),
                ("handle", &hidden(&html, "handle").unwrap()),
                ("name", "Điện thoại"),
                ("credential", &credential.to_string()),
            ],
        )
        .await;
    let status = r.status();
    assert_eq!(status, 303, "{}", r.text().await.unwrap());
    let html = browser.get("/account").await.text().await.unwrap();
    assert!(html.contains("Điện thoại"), "{html}");
    authenticator
}

/// The portal's ID token after a redirect to it.
pub(super) async fn id_token(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
    to: &str,
) -> Value {
    let to = if to.starts_with("/consent") {
        browser.submit_consent(to, true).await
    } else {
        to.to_owned()
    };
    let code = code_from(&to, server, client);
    let tokens: Value = server
        .exchange(client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    claims_of(tokens["id_token"].as_str().unwrap())
}

/// A password sign-in at the portal: its ID token.
async fn password_login(server: &TestServer, browser: &Browser, client: &TestClient) -> Value {
    let to = browser
        .authorize_interactively(&server.authorize_url(client, &[]), "mai")
        .await;
    id_token(server, browser, client, &to).await
}

/// The portal asks for level 3: only the passkey is offered; `authenticator` signs. The
/// response to the posted assertion.
async fn passkey_for_level_3(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
    authenticator: &mut Authenticator,
) -> reqwest::Response {
    let level_3 = [("acr_values", "urn:portico:loa:3")];
    let login = browser
        .follow(&server.authorize_url(client, &level_3))
        .await;
    assert!(login.starts_with("/login?request="), "a new login: {login}");
    let request = login.trim_start_matches("/login?request=").to_owned();
    let chooser = browser.get(&login).await.text().await.unwrap();
    assert!(!chooser.contains("name=\"password\""), "{chooser}");
    assert!(chooser.contains(&format!("/login/passkey?request={request}")));
    let crafted = browser
        .get(&format!("/login/password?request={request}"))
        .await;
    assert_eq!(crafted.status(), 400, "the password is below the level");
    let page = browser
        .get(&format!("/login/passkey?request={request}"))
        .await
        .text()
        .await
        .unwrap();
    let assertion = authenticator.sign(&options_in(&page));
    browser
        .post_form(
            "/login/passkey",
            &[
                ("request", &request),
                ("csrf", &hidden(&page, "csrf").unwrap()),
                ("attempt", &hidden(&page, "attempt").unwrap()),
                ("credential", &assertion.to_string()),
            ],
        )
        .await
}

#[tokio::test]
async fn a_passkey_of_the_same_account_steps_a_password_session_up_to_level_3() {
    let server = start().await;
    let mai = server.account("mai").await;
    let mut passkey = register_passkey(&server, "mai").await;
    let client = server
        .client(
            "social-insurance",
            portico::store::AuthMethod::ClientSecretBasic,
        )
        .await;

    let browser = Browser::new(&server);
    let first = password_login(&server, &browser, &client).await;
    assert_eq!(first["acr"], "urn:portico:loa:2");
    assert_eq!(first["amr"], json!(["pwd"]));
    assert_eq!(first["sub"], mai.as_str());

    let done = passkey_for_level_3(&server, &browser, &client, &mut passkey).await;
    assert_eq!(done.status(), 303, "{}", done.text().await.unwrap());
    let to = location(done.headers()).unwrap();
    let stepped = id_token(&server, &browser, &client, &to).await;
    assert_eq!(stepped["acr"], "urn:portico:loa:3");
    assert_eq!(stepped["amr"], json!(["pwd", "hwk", "user", "mfa"]));
    assert_eq!(stepped["sub"], mai.as_str(), "the same person");
    assert_eq!(stepped["sid"], first["sid"], "the same session");
    let audit = server
        .provider()
        .store
        .audit()
        .recent("login_second_factor", 5)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].account_id.as_deref(), Some(mai.as_str()));
    assert!(audit[0].detail.contains("source=passkey"), "{:?}", audit[0]);
    // One session for the account, still live.
    let mut db = SideDoor::open(server.database_url()).await;
    let live =
        format!("SELECT COUNT(*) FROM sessions WHERE account_id = '{mai}' AND revoked_at IS NULL");
    assert_eq!(db.count(&live).await, 2, "the /account one and this one");
    server.stop().await;
}

#[tokio::test]
async fn a_passkey_of_another_account_is_that_persons_login_not_this_sessions_step_up() {
    let server = start().await;
    let mai = server.account("mai").await;
    let lan = server.account("ngoc-lan").await;
    let mut lans_passkey = register_passkey(&server, "ngoc-lan").await;
    let client = server
        .client(
            "land-registry",
            portico::store::AuthMethod::ClientSecretBasic,
        )
        .await;

    let browser = Browser::new(&server);
    let first = password_login(&server, &browser, &client).await;
    assert_eq!(first["sub"], mai.as_str());

    let done = passkey_for_level_3(&server, &browser, &client, &mut lans_passkey).await;
    assert_eq!(done.status(), 303, "{}", done.text().await.unwrap());
    let to = location(done.headers()).unwrap();
    let claims = id_token(&server, &browser, &client, &to).await;
    assert_eq!(claims["sub"], lan.as_str(), "the passkey's own account");
    assert_ne!(claims["sid"], first["sid"], "a session of its own");
    assert_eq!(claims["amr"], json!(["hwk", "user"]), "no password, no mfa");
    assert_eq!(claims["acr"], "urn:portico:loa:3");
    let audit = server
        .provider()
        .store
        .audit()
        .recent("login_second_factor", 5)
        .await
        .unwrap();
    assert!(audit.is_empty(), "{audit:?}");
    // Mai's session on this browser was ended (her portals told, as at any logout).
    let mut db = SideDoor::open(server.database_url()).await;
    let live =
        format!("SELECT COUNT(*) FROM sessions WHERE account_id = '{mai}' AND revoked_at IS NULL");
    assert_eq!(db.count(&live).await, 0);
    server.stop().await;
}
