//! Refresh tokens, code replay, purging; introspection and client credentials are in
//! `introspection.rs`, concurrent refreshes and replays in `token_races.rs`.

use portico::oidc::registration::ClientRegistration;
use portico::store::{AuthMethod, GrantType};
use serde_json::Value;

use crate::common::*;

pub(crate) const OFFLINE: [(&str, &str); 1] = [("scope", "openid profile offline_access")];

pub(crate) async fn refresh(
    server: &TestServer,
    client: &TestClient,
    token: &str,
    scope: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    server.post_as(client, "/token", &form).await
}

pub(crate) async fn introspect(server: &TestServer, caller: &TestClient, token: &str) -> Value {
    let r = server
        .post_as(caller, "/introspect", &[("token", token)])
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json().await.unwrap()
}

pub(crate) async fn userinfo_status(server: &TestServer, at: &str) -> u16 {
    reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

pub(crate) fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("no {k} in {v}"))
        .to_owned()
}

#[tokio::test]
async fn refresh_rotates_and_reuse_of_a_rotated_token_kills_the_family() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let first = server.tokens(&client, "mai", &OFFLINE).await;
    let rt1 = s(&first, "refresh_token");

    let r = refresh(&server, &client, &rt1, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let second: Value = r.json().await.unwrap();
    let rt2 = s(&second, "refresh_token");
    assert_ne!(rt1, rt2, "rotated");
    assert!(second["id_token"].is_string());
    assert_eq!(
        userinfo_status(&server, &s(&second, "access_token")).await,
        200
    );

    let third: Value = refresh(&server, &client, &rt2, None)
        .await
        .json()
        .await
        .unwrap();
    let rt3 = s(&third, "refresh_token");

    // rt1 again: reuse. The whole family dies, the newest token too.
    let r = refresh(&server, &client, &rt1, None).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    assert_eq!(refresh(&server, &client, &rt3, None).await.status(), 400);
    assert_eq!(
        userinfo_status(&server, &s(&third, "access_token")).await,
        401
    );
    let audit = server
        .provider()
        .store
        .audit()
        .recent("refresh_token_reuse", 5)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].client_id.as_deref(), Some("ministry"));
}

#[tokio::test]
async fn refresh_narrows_scope_but_never_widens_it() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let t = server.tokens(&client, "mai", &OFFLINE).await;
    let r = refresh(&server, &client, &s(&t, "refresh_token"), Some("openid")).await;
    let narrowed: Value = r.json().await.unwrap();
    assert_eq!(narrowed["scope"], "openid");
    // The refresh token keeps the grant's scope.
    let again: Value = refresh(&server, &client, &s(&narrowed, "refresh_token"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["scope"], "offline_access openid profile");
    let r = refresh(
        &server,
        &client,
        &s(&again, "refresh_token"),
        Some("openid email"),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_scope");
    // A refused request changes nothing: the token was not rotated.
    let r = refresh(&server, &client, &s(&again, "refresh_token"), None).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn no_refresh_token_without_offline_access_or_the_grant() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let t = server.tokens(&client, "mai", &[]).await;
    assert!(t.get("refresh_token").is_none());
    let code_only = server
        .register(ClientRegistration {
            grant_types: vec![GrantType::AuthorizationCode],
            ..server.registration("codeonly")
        })
        .await;
    let t = server.tokens(&code_only, "mai", &OFFLINE).await;
    assert!(t.get("refresh_token").is_none());
    assert_eq!(t["scope"], "openid profile", "offline_access is ignored");
}

#[tokio::test]
async fn refresh_tokens_expire_when_idle_and_belong_to_their_client() {
    let server = TestServer::start_with("[tokens]\nrefresh_idle_ttl = \"1h\"\n").await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let other = server
        .client("province", AuthMethod::ClientSecretBasic)
        .await;
    let t = server.tokens(&client, "mai", &OFFLINE).await;
    let rt = s(&t, "refresh_token");
    assert_eq!(refresh(&server, &other, &rt, None).await.status(), 400);
    // Another client's attempt did not rotate (or revoke) the token.
    let t = refresh(&server, &client, &rt, None).await;
    assert_eq!(t.status(), 200);
    let rt = s(&t.json().await.unwrap(), "refresh_token");
    server.clock.advance(3601);
    let r = refresh(&server, &client, &rt, None).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn rfc6749_4_1_2_code_replay_revokes_the_tokens_it_issued() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let redirect = browser
        .authorize_interactively(&server.authorize_url(&client, &OFFLINE), "mai")
        .await;
    let code = code_from(&redirect, &server, &client);
    let first: Value = server
        .exchange(&client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let at = s(&first, "access_token");
    assert_eq!(userinfo_status(&server, &at).await, 200);
    assert_eq!(
        server.exchange(&client, &code, VERIFIER).await.status(),
        400
    );
    assert_eq!(userinfo_status(&server, &at).await, 401);
    assert_eq!(
        introspect(&server, &client, &at).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(
        refresh(&server, &client, &s(&first, "refresh_token"), None)
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn expired_rows_are_purged() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let t = server.tokens(&client, "mai", &OFFLINE).await;
    let rt = s(&t, "refresh_token");
    let store = &server.provider().store;
    // Nothing is expired yet but the spent code... which still has its minute.
    assert_eq!(
        store
            .purge_expired(server.provider().now(), 600)
            .await
            .unwrap(),
        0
    );
    let later = server.provider().now() + 31 * 86_400;
    assert!(
        store.purge_expired(later, 600).await.unwrap() >= 3,
        "code, session, refresh token"
    );
    assert!(
        store
            .refresh_tokens()
            .get(&portico::crypto::sha256_b64url(&rt))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn removing_a_client_removes_its_codes_and_tokens() {
    // Foreign keys are enforced on every connection (SQLite's are off unless asked).
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let t = server.tokens(&client, "mai", &OFFLINE).await;
    let rt = s(&t, "refresh_token");
    let store = &server.provider().store;
    let hash = portico::crypto::sha256_b64url(&rt);
    assert!(store.refresh_tokens().get(&hash).await.unwrap().is_some());
    assert!(store.clients().remove("ministry").await.unwrap());
    assert!(
        store.refresh_tokens().get(&hash).await.unwrap().is_none(),
        "cascaded"
    );
}

#[tokio::test]
async fn a_refreshed_id_token_keeps_the_sid_while_the_session_lives_and_drops_it_after_logout() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let t = server
        .tokens_through(&browser, &client, "mai", &OFFLINE)
        .await;
    let sid = crate::logout::payload(&s(&t, "id_token"))["sid"].clone();
    assert!(sid.is_string());
    let refreshed: Value = refresh(&server, &client, &s(&t, "refresh_token"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        crate::logout::payload(&s(&refreshed, "id_token"))["sid"],
        sid
    );
    // The portal's own logout: offline access outlives the session, the sid does not.
    let r = browser
        .get(&format!(
            "{}?id_token_hint={}",
            server.url("/end_session"),
            s(&t, "id_token")
        ))
        .await;
    assert_eq!(r.status(), 200);
    let after = refresh(&server, &client, &s(&refreshed, "refresh_token"), None).await;
    assert_eq!(after.status(), 200);
    let after: Value = after.json().await.unwrap();
    assert!(crate::logout::payload(&s(&after, "id_token"))["sid"].is_null());
}

/// RFC 6749 section 6 ("MUST NOT include any scope not originally granted"), and a
/// client narrowed since: a refresh and userinfo give only the scopes the client is
/// still registered for.
#[tokio::test]
async fn rfc6749_6_a_narrowed_client_keeps_no_scope_it_lost_at_refresh_or_userinfo() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let scope = [("scope", "openid profile email offline_access")];
    let first = server.tokens(&client, "mai", &scope).await;
    assert_eq!(first["scope"], "email offline_access openid profile");
    let at1 = s(&first, "access_token");
    let granted: Value = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(&at1)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(granted["name"], "Nguyen Thi Mai", "{granted}");
    assert_eq!(granted["email"], "mai@example.gov");

    // The operator narrows the client: no more `profile`.
    let mut db = SideDoor::open(server.database_url()).await;
    db.execute(
        r#"UPDATE clients SET scopes = '["openid","email","offline_access"]' WHERE client_id = 'ministry'"#,
    )
    .await;
    // Past this node's client cache.
    server.clock.advance(10);

    let userinfo = |at: String| {
        let server = &server;
        async move {
            let r = reqwest::Client::new()
                .get(server.url("/userinfo"))
                .bearer_auth(at)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    // The access token issued before: userinfo re-checks the client's scopes.
    let before = userinfo(at1).await;
    assert!(before.get("name").is_none(), "{before}");
    assert_eq!(before["email"], "mai@example.gov", "{before}");

    let r = refresh(&server, &client, &s(&first, "refresh_token"), None).await;
    assert_eq!(r.status(), 200);
    let second: Value = r.json().await.unwrap();
    assert_eq!(second["scope"], "email offline_access openid", "{second}");
    let introspected = introspect(&server, &client, &s(&second, "access_token")).await;
    assert_eq!(introspected["scope"], "email offline_access openid");
    let after = userinfo(s(&second, "access_token")).await;
    assert!(after.get("name").is_none(), "{after}");
    assert_eq!(after["email"], "mai@example.gov");

    // Asking for the lost scope by name gets it no more either.
    let r = refresh(
        &server,
        &client,
        &s(&second, "refresh_token"),
        Some("openid profile"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let third: Value = r.json().await.unwrap();
    assert_eq!(third["scope"], "openid", "{third}");
    server.stop().await;
}
