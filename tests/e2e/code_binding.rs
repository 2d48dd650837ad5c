//! Code injection across clients (RFC 6749 section 4.1.3, RFC 9700 section 4.5): a code
//! is bound to the client it was issued to, and another client presenting it, fresh or
//! already used, neither spends it nor revokes what it issued.

use portico::store::AuthMethod;
use serde_json::Value;

use crate::common::*;
use crate::token_lifecycle::{OFFLINE, refresh, s, userinfo_status};

/// Presents `code` as `client`: with its secret in Basic when it has one, else as a
/// public client naming itself; the redirect URI and verifier are the victim's, as an
/// attacker who saw the authorization response would send them.
async fn present(
    server: &TestServer,
    client: &TestClient,
    victim: &TestClient,
    code: &str,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", victim.redirect_uri.as_str()),
        ("code_verifier", VERIFIER),
    ];
    if client.secret.is_none() {
        form.push(("client_id", client.id.as_str()));
    }
    server.post_as(client, "/token", &form).await
}

async fn assert_invalid_grant(r: reqwest::Response, what: &str) {
    assert_eq!(r.status(), 400, "{what}");
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "invalid_grant",
        "{what}"
    );
}

struct Parties {
    server: TestServer,
    victim: TestClient,
    attacker: TestClient,
    public_attacker: TestClient,
    code: String,
}

async fn parties() -> Parties {
    let server = TestServer::start().await;
    server.account("mai").await;
    let victim = server.client("tax", AuthMethod::ClientSecretBasic).await;
    let attacker = server.client("evil", AuthMethod::ClientSecretBasic).await;
    let public_attacker = server.client("evil-app", AuthMethod::None).await;
    let redirect = Browser::new(&server)
        .authorize_interactively(&server.authorize_url(&victim, &OFFLINE), "mai")
        .await;
    let code = code_from(&redirect, &server, &victim);
    Parties {
        server,
        victim,
        attacker,
        public_attacker,
        code,
    }
}

#[tokio::test]
async fn rfc6749_4_1_3_a_code_is_bound_to_its_client() {
    let p = parties().await;
    for attacker in [&p.attacker, &p.public_attacker] {
        assert_invalid_grant(
            present(&p.server, attacker, &p.victim, &p.code).await,
            &format!("{} presenting the victim's fresh code", attacker.id),
        )
        .await;
    }
    // The code was not spent: its own client still gets its tokens.
    let r = present(&p.server, &p.victim, &p.victim, &p.code).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let replays = p
        .server
        .provider()
        .store
        .audit()
        .recent("code_replayed", 10)
        .await
        .unwrap();
    assert!(replays.is_empty(), "no replay was recorded: {replays:?}");
}

#[tokio::test]
async fn rfc6749_4_1_3_another_clients_replay_revokes_nothing() {
    let p = parties().await;
    let tokens: Value = present(&p.server, &p.victim, &p.victim, &p.code)
        .await
        .json()
        .await
        .unwrap();
    let at = s(&tokens, "access_token");
    for attacker in [&p.attacker, &p.public_attacker] {
        assert_invalid_grant(
            present(&p.server, attacker, &p.victim, &p.code).await,
            &format!("{} presenting the victim's used code", attacker.id),
        )
        .await;
    }
    assert_eq!(userinfo_status(&p.server, &at).await, 200, "access token");
    let r = refresh(&p.server, &p.victim, &s(&tokens, "refresh_token"), None).await;
    assert_eq!(
        r.status(),
        200,
        "refresh token: {}",
        r.text().await.unwrap()
    );

    // The victim's own replay still revokes the grant (RFC 6749 section 4.1.2).
    assert_invalid_grant(
        present(&p.server, &p.victim, &p.victim, &p.code).await,
        "its own client's replay",
    )
    .await;
    assert_eq!(userinfo_status(&p.server, &at).await, 401, "revoked");
}
