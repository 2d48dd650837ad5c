//! Concurrent use of one token or code: refreshes racing each other (with and without a
//! grace period), reuse detection racing a rotation, and a code replay racing its
//! exchange. The races are real on PostgreSQL (`PORTICO_TEST_POSTGRES_URL`); on SQLite
//! the writes serialise and the same assertions hold.

use portico::oidc::registration::ClientRegistration;
use portico::store::AuthMethod;
use serde_json::Value;

use crate::common::*;
use crate::token_lifecycle::{OFFLINE, refresh, s, userinfo_status};

#[tokio::test]
async fn grace_period_gives_concurrent_refreshes_the_same_successor() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .register(ClientRegistration {
            refresh_grace_secs: 30,
            ..server.registration("tabs")
        })
        .await;
    let t = server.tokens(&client, "mai", &OFFLINE).await;
    let rt = s(&t, "refresh_token");
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (url, id, secret, rt) = (
            server.url("/token"),
            client.id.clone(),
            client.secret.clone(),
            rt.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = reqwest::Client::new()
                .post(url)
                .basic_auth(id, secret)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut successors = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 200, "{body}");
        successors.push(s(&body, "refresh_token"));
    }
    successors.dedup();
    assert_eq!(successors.len(), 1, "one live successor, whoever asked");
    // Past the grace period, the old token is a reuse.
    server.clock.advance(31);
    assert_eq!(refresh(&server, &client, &rt, None).await.status(), 400);
    assert_eq!(
        refresh(&server, &client, &successors[0], None)
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn without_grace_concurrent_refreshes_never_leave_two_live_successors() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let rt = s(
        &server.tokens(&client, "mai", &OFFLINE).await,
        "refresh_token",
    );
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (url, id, secret, rt) = (
            server.url("/token"),
            client.id.clone(),
            client.secret.clone(),
            rt.clone(),
        );
        tasks.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .basic_auth(id, secret)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }));
    }
    let mut live = 0;
    for t in tasks {
        let body = t.await.unwrap();
        if let Some(successor) = body["refresh_token"].as_str() {
            if refresh(&server, &client, successor, None).await.status() == 200 {
                live += 1;
            }
        }
    }
    assert!(live <= 1, "{live} live successors");
}

/// Reuse detection racing a legitimate rotation (PostgreSQL, where writes run
/// concurrently): the family's revocation must also reach the successor that the
/// rotation stores while the revocation waits for the row it holds.
#[tokio::test]
async fn reuse_detection_revokes_the_successor_of_a_rotation_in_flight() {
    use sqlx::Connection;
    let server = TestServer::start().await;
    if !server.database_url().starts_with("postgres") {
        return;
    }
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let first = server.tokens(&client, "mai", &OFFLINE).await;
    let rt1 = s(&first, "refresh_token");
    let second: Value = refresh(&server, &client, &rt1, None)
        .await
        .json()
        .await
        .unwrap();
    let rt2 = s(&second, "refresh_token");

    // A rotation of rt2 in flight: its row locked and rotated, a successor stored,
    // not committed yet.
    let mut db = sqlx::PgConnection::connect(server.database_url())
        .await
        .unwrap();
    let mut rotation = db.begin().await.unwrap();
    let rt2_hash = portico::crypto::sha256_b64url(&rt2);
    sqlx::query("UPDATE refresh_tokens SET rotated_at = created_at WHERE token_hash = $1")
        .bind(&rt2_hash)
        .execute(&mut *rotation)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO refresh_tokens (id, token_hash, family_id, client_id, account_id, \
         session_id, scope, auth_time, acr, amr, created_at, expires_at, family_expires_at) \
         SELECT 'in-flight', 'in-flight-hash', family_id, client_id, account_id, session_id, \
         scope, auth_time, acr, amr, created_at, expires_at, family_expires_at \
         FROM refresh_tokens WHERE token_hash = $1",
    )
    .bind(&rt2_hash)
    .execute(&mut *rotation)
    .await
    .unwrap();

    // Meanwhile rt1 comes back: reuse. Its revocation of the family waits for rt2's row.
    let reuse = tokio::spawn({
        let (base, id, secret) = (
            server.base.clone(),
            client.id.clone(),
            client.secret.clone(),
        );
        let rt1 = rt1.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/token"))
                .basic_auth(&id, secret.as_deref())
                .form(&[("grant_type", "refresh_token"), ("refresh_token", &rt1)])
                .send()
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !reuse.is_finished(),
        "the revocation waits for the rotation"
    );
    rotation.commit().await.unwrap();
    let r = reuse.await.unwrap();
    assert_eq!(r.status(), 400);
    let live: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM refresh_tokens WHERE revoked_at IS NULL")
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert!(live.is_empty(), "left live after reuse: {live:?}");
}

/// RFC 6749 section 4.1.2 (a code used twice revokes what it issued) under a race: the
/// exchange spends the code and writes the refresh family in two writes, and a replay
/// between them revokes the grant before the family exists. Whatever the order, the
/// winner's refresh token must be dead once the replay has answered. Run on PostgreSQL
/// for real concurrency (`PORTICO_TEST_POSTGRES_URL`); on SQLite the writes serialise.
#[tokio::test]
async fn rfc6749_4_1_2_a_replay_racing_the_exchange_revokes_the_refresh_family_it_writes() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let mut winners = 0;
    for round in 0..12 {
        let redirect = if round == 0 {
            browser
                .authorize_interactively(&server.authorize_url(&client, &OFFLINE), "mai")
                .await
        } else {
            // The session and consent stand: straight back with a code.
            browser
                .follow(&server.authorize_url(&client, &OFFLINE))
                .await
        };
        let code = code_from(&redirect, &server, &client);
        let (a, b) = tokio::join!(
            server.exchange(&client, &code, VERIFIER),
            server.exchange(&client, &code, VERIFIER)
        );
        let statuses = [a.status().as_u16(), b.status().as_u16()];
        assert!(
            statuses.contains(&400),
            "one of them is the replay: {statuses:?}"
        );
        for r in [a, b] {
            if r.status() != 200 {
                let e: Value = r.json().await.unwrap();
                assert_eq!(e["error"], "invalid_grant", "{e}");
                continue;
            }
            winners += 1;
            let t: Value = r.json().await.unwrap();
            let again = refresh(&server, &client, &s(&t, "refresh_token"), None).await;
            assert_eq!(
                again.status(),
                400,
                "round {round}: the family outlived the replay"
            );
            assert_eq!(userinfo_status(&server, &s(&t, "access_token")).await, 401);
        }
    }
    // Both may be refused (the exchange that spent the code finds the replay's
    // revocation after writing its family); with no winner at all the race was never run.
    assert!(winners > 0, "no exchange ever got tokens");
    server.stop().await;
}
