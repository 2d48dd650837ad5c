//! The tamper-evident audit trail (issue 22): rows hash-chained in the database;
//! `portico audit verify` passes on an untouched database and, after a row is edited,
//! deleted or moved there directly, exits non-zero naming the first bad row; appends
//! from two nodes at once keep one chain; `portico audit tail` shows the latest events.

use std::process::{Command, Output};

use crate::common::*;

pub(crate) fn portico(server: &TestServer, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portico"))
        .env_remove("PORTICO_CONFIG")
        .env("PORTICO_DATABASE_URL", server.database_url())
        .args(args)
        .output()
        .unwrap()
}

/// A server whose audit trail holds `failures` failed logins (real ones, through the
/// login page) and one successful one.
async fn with_events(failures: usize) -> TestServer {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("portal", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    for _ in 0..failures {
        browser.submit_login(&login, "mai", "wrong").await;
    }
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    assert_eq!(r.status(), 303);
    server
}

fn verify(server: &TestServer) -> (bool, String) {
    let out = portico(server, &["audit", "verify"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn audit_verify_passes_on_an_untouched_database() {
    let server = with_events(3).await;
    let (ok, text) = verify(&server);
    assert!(ok, "{text}");
    // Three failures, and the successful login's account resolution.
    assert!(text.contains("audit chain intact: 4 rows"), "{text}");
}

#[tokio::test]
async fn audit_verify_names_an_edited_row() {
    let server = with_events(4).await;
    let mut db = SideDoor::open(server.database_url()).await;
    db.execute("UPDATE audit_log SET detail = 'source=password reason=none' WHERE seq = 3")
        .await;
    let (ok, text) = verify(&server);
    assert!(!ok);
    assert!(
        text.contains("broken at row 3") && text.contains("edited"),
        "{text}"
    );
}

#[tokio::test]
async fn audit_verify_names_a_deleted_row() {
    let server = with_events(4).await;
    let mut db = SideDoor::open(server.database_url()).await;
    db.execute("DELETE FROM audit_log WHERE seq = 2").await;
    let (ok, text) = verify(&server);
    assert!(!ok);
    assert!(
        text.contains("broken at row 2") && text.contains("missing"),
        "{text}"
    );
}

#[tokio::test]
async fn audit_verify_names_reordered_rows() {
    let server = with_events(4).await;
    let mut db = SideDoor::open(server.database_url()).await;
    for sql in [
        "UPDATE audit_log SET seq = -1 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = -1",
    ] {
        db.execute(sql).await;
    }
    let (ok, text) = verify(&server);
    assert!(!ok);
    assert!(
        text.contains("broken at row 2") && text.contains("reordered"),
        "{text}"
    );
}

#[tokio::test]
async fn audit_verify_notices_the_last_rows_deleted() {
    let server = with_events(4).await;
    let mut db = SideDoor::open(server.database_url()).await;
    db.execute("DELETE FROM audit_log WHERE seq >= 4").await;
    let (ok, text) = verify(&server);
    assert!(!ok);
    assert!(
        text.contains("broken at row 4") && text.contains("head says 5"),
        "{text}"
    );
}

#[tokio::test]
async fn concurrent_appends_on_two_nodes_keep_one_chain() {
    let first = TestServer::start().await;
    let second = first.second_node("").await;
    let mut appends = Vec::new();
    for i in 0..60 {
        let store = if i % 2 == 0 {
            first.provider().store.clone()
        } else {
            second.provider().store.clone()
        };
        appends.push(tokio::spawn(async move {
            store
                .audit()
                .record(1_000 + i, "test_event", None, None, &format!("append {i}"))
                .await
                .unwrap();
        }));
    }
    for a in appends {
        a.await.unwrap();
    }
    let intact = first
        .provider()
        .store
        .audit()
        .verify()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(intact.rows, 60);
    let (ok, text) = verify(&first);
    assert!(ok && text.contains("60 rows"), "{text}");
}

#[tokio::test]
async fn audit_tail_prints_the_latest_events_as_text_or_json() {
    let server = with_events(2).await;
    let out = portico(&server, &["audit", "tail", "-n", "2", "--json"]);
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["event"], "login_failed");
    assert_eq!(lines[1]["event"], "login_identity_found");
    assert_eq!(lines[1]["seq"], 3);
    let account = lines[1]["account_id"].as_str().unwrap().to_owned();
    let out = portico(
        &server,
        &["audit", "tail", "--account", &account, "--since", "1h"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.lines()
            .all(|l| l.contains(&format!("account={account}"))),
        "{text}"
    );
    let out = portico(&server, &["audit", "tail", "--since", "4000000000"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 0);
}

#[tokio::test]
async fn administrative_commands_are_audited_in_the_chain() {
    let server = TestServer::start().await;
    let add = portico(
        &server,
        &[
            "client",
            "add",
            "--client-id",
            "lands",
            "--redirect-uri",
            "https://lands.example.gov/cb",
            "--json",
        ],
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    assert!(
        portico(&server, &["client", "remove", "lands"])
            .status
            .success()
    );
    let out = portico(&server, &["audit", "tail", "--client", "lands", "--json"]);
    let events: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event"].to_string())
        .collect();
    assert_eq!(events, ["\"cli_client_added\"", "\"cli_client_removed\""]);
    let (ok, text) = verify(&server);
    assert!(ok && text.contains("2 rows"), "{text}");
}

/// Issue 22: "token issuance to a person (code exchange, refresh)" is in the one audit
/// table, chained like the rest, with the grant, scope, level and `sid`, and never a
/// token; the events are written before the responses leave.
#[tokio::test]
async fn token_issuance_to_a_person_is_audited_at_code_exchange_and_refresh() {
    use crate::token_lifecycle::{OFFLINE, refresh};
    let server = TestServer::start().await;
    let account = server.account("mai").await;
    let client = server
        .client("portal", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let first = server.tokens(&client, "mai", &OFFLINE).await;
    let rt = first["refresh_token"].as_str().unwrap();
    let r = refresh(&server, &client, rt, None).await;
    assert_eq!(r.status(), 200);
    let second: serde_json::Value = r.json().await.unwrap();
    // Read at once, through the server's own store: no waiting for a flush.
    let issued = server
        .provider()
        .store
        .audit()
        .recent("token_issued", 10)
        .await
        .unwrap();
    assert_eq!(issued.len(), 2, "{issued:?}");
    let (refreshed, exchanged) = (&issued[0], &issued[1]);
    for e in [refreshed, exchanged] {
        assert_eq!(e.account_id.as_deref(), Some(account.as_str()));
        assert_eq!(e.client_id.as_deref(), Some("portal"));
        assert!(e.detail.contains("acr=urn:portico:loa:"), "{}", e.detail);
        assert!(e.detail.contains("sid="), "{}", e.detail);
        assert!(e.seq.is_some(), "chained");
        for token in ["access_token", "refresh_token", "id_token"] {
            for response in [&first, &second] {
                let value = response[token].as_str().unwrap();
                assert!(!e.detail.contains(value), "no {token} in {}", e.detail);
            }
        }
    }
    assert!(
        exchanged.detail.contains("via=authorization_code"),
        "{}",
        exchanged.detail
    );
    assert!(
        exchanged.detail.contains("offline_access"),
        "{}",
        exchanged.detail
    );
    assert!(
        refreshed.detail.contains("via=refresh_token"),
        "{}",
        refreshed.detail
    );
    let (ok, text) = verify(&server);
    assert!(ok, "{text}");
}

/// Many exchanges at once on two nodes: each is audited once, and the chain (batched
/// per node) still verifies.
#[tokio::test]
async fn concurrent_token_issuance_on_two_nodes_keeps_one_chain() {
    let first = TestServer::start().await;
    let second = first.second_node("").await;
    first.account("mai").await;
    let client = first
        .client("portal", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let first = std::sync::Arc::new(first);
    let second = std::sync::Arc::new(second);
    // Each node issues codes and exchanges them; the exchanges run concurrently.
    let mut codes = Vec::new();
    for i in 0..16 {
        let node = if i % 2 == 0 { &first } else { &second };
        let redirect = Browser::new(node)
            .authorize_interactively(&node.authorize_url(&client, &[]), "mai")
            .await;
        codes.push((i, code_from(&redirect, node, &client)));
    }
    let mut exchanges = tokio::task::JoinSet::new();
    for (i, code) in codes {
        let node = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        let client = client.clone();
        exchanges.spawn(async move { node.exchange(&client, &code, VERIFIER).await.status() });
    }
    while let Some(status) = exchanges.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    let issued = first
        .provider()
        .store
        .audit()
        .recent("token_issued", 100)
        .await
        .unwrap();
    assert_eq!(issued.len(), 16);
    let (ok, text) = verify(&first);
    assert!(ok, "{text}");
}

/// The issuance event is committed with the write that grants the tokens (the spent
/// code, the first refresh token, the rotation): an exchange refused after its code was
/// spent records none, and a refresh answered within the grace period, which rotates
/// nothing, is recorded all the same.
#[tokio::test]
async fn token_issued_is_recorded_only_for_tokens_issued_grace_period_included() {
    use crate::token_lifecycle::{OFFLINE, refresh};
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .register(portico::oidc::registration::ClientRegistration {
            refresh_grace_secs: 30,
            ..server.registration("tabs")
        })
        .await;
    let issued = || async {
        server
            .provider()
            .store
            .audit()
            .recent("token_issued", 10)
            .await
            .unwrap()
    };
    let redirect = Browser::new(&server)
        .authorize_interactively(&server.authorize_url(&client, &[]), "mai")
        .await;
    let code = code_from(&redirect, &server, &client);
    let wrong_verifier = "x".repeat(43);
    let refused = server.exchange(&client, &code, &wrong_verifier).await;
    assert_eq!(refused.status(), 400);
    assert!(
        issued().await.is_empty(),
        "a refused exchange issues nothing"
    );

    let first = server.tokens(&client, "mai", &OFFLINE).await;
    let rt = first["refresh_token"].as_str().unwrap();
    let events = issued().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0].detail.contains("refresh_token=issued"),
        "{events:?}"
    );
    for _ in 0..2 {
        // The second presentation falls within the grace period: same successor.
        assert_eq!(refresh(&server, &client, rt, None).await.status(), 200);
    }
    let events = issued().await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        events[..2]
            .iter()
            .all(|e| e.detail.contains("via=refresh_token")),
        "{events:?}"
    );
    let (ok, text) = verify(&server);
    assert!(ok, "{text}");
}
