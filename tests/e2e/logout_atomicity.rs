//! Ending a session is all or nothing: the session's end, the `sid:` deny-list entries
//! and the back-channel outbox rows are one transaction, so a failure half-way leaves
//! nothing to strand the portals, and a retry reaches them all. The failure is a real
//! one, raised by the database itself, on SQLite and on PostgreSQL.

use std::time::Duration;

use serde_json::Value;

use crate::common::*;
use crate::logout::{payload, portal, receiver, verify_logout_token};
use crate::token_lifecycle::{introspect, s, userinfo_status};

impl SideDoor {
    /// Makes every insert into the back-channel outbox fail: the last of logout's
    /// writes, so the others have been made when it fails.
    async fn break_the_outbox(&mut self) {
        match self {
            SideDoor::Sqlite(_) => {
                self.execute(
                    "CREATE TRIGGER outbox_down BEFORE INSERT ON logout_deliveries \
                     BEGIN SELECT RAISE(ABORT, 'outbox down (test)'); END",
                )
                .await
            }
            SideDoor::Postgres(_) => {
                self.execute(
                    "CREATE FUNCTION outbox_down() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RAISE EXCEPTION 'outbox down (test)'; END $$",
                )
                .await;
                self.execute(
                    "CREATE TRIGGER outbox_down BEFORE INSERT ON logout_deliveries \
                     FOR EACH ROW EXECUTE FUNCTION outbox_down()",
                )
                .await;
            }
        }
    }

    async fn mend_the_outbox(&mut self) {
        match self {
            SideDoor::Sqlite(_) => self.execute("DROP TRIGGER outbox_down").await,
            SideDoor::Postgres(_) => {
                self.execute("DROP TRIGGER outbox_down ON logout_deliveries")
                    .await
            }
        }
    }

    /// What ending the session writes, counted: (sessions ended, `sid:` entries on the
    /// deny list, back-channel deliveries queued).
    async fn logout_writes(&mut self) -> (i64, i64, i64) {
        (
            self.count("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL")
                .await,
            self.count("SELECT COUNT(*) FROM revocations WHERE revoked_key LIKE 'sid:%'")
                .await,
            self.count("SELECT COUNT(*) FROM logout_deliveries").await,
        )
    }
}

/// Tokens for `client` by silent single sign-on in `browser`'s session.
async fn silently(server: &TestServer, browser: &Browser, client: &TestClient) -> Value {
    let redirect = browser
        .follow(&server.authorize_url(client, &[("prompt", "none")]))
        .await;
    let code = code_from(&redirect, server, client);
    let r = server.exchange(client, &code, VERIFIER).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_logout_failing_half_way_changes_nothing_and_its_retry_reaches_every_portal() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let (rx1, rx2) = (receiver().await, receiver().await);
    let rp1 = server
        .register(portal(&server, "ministry", Some(&rx1.uri), true))
        .await;
    let rp2 = server
        .register(portal(&server, "province", Some(&rx2.uri), true))
        .await;
    let browser = Browser::new(&server);
    let t1 = server.sign_in(&browser, &rp1, "mai").await;
    let t2 = silently(&server, &browser, &rp2).await;
    let mut db = SideDoor::open(server.database_url()).await;

    db.break_the_outbox().await;
    let logout = format!(
        "{}?id_token_hint={}",
        server.url("/end_session"),
        s(&t1, "id_token")
    );
    let r = browser.get(&logout).await;
    assert!(r.status().is_server_error(), "{}", r.status());

    // Nothing was half-done: the session is live, its tokens too (in the database, at
    // /userinfo, and in this node's deny-list mirror, at /introspect), and no portal is
    // queued.
    assert_eq!(db.logout_writes().await, (0, 0, 0));
    let at2 = s(&t2, "access_token");
    assert_eq!(userinfo_status(&server, &at2).await, 200);
    assert_eq!(introspect(&server, &rp2, &at2).await["active"], true);
    silently(&server, &browser, &rp2).await;
    let audit = server.provider().store.audit().recent("logout", 5).await;
    assert!(audit.unwrap().is_empty(), "no logout was recorded");

    // The same logout again, once the outbox works: everything, and every portal told.
    db.mend_the_outbox().await;
    let r = browser.get(&logout).await;
    assert_eq!(r.status(), 200, "the signed-out page");
    for (rx, tokens, client) in [(&rx1, &t1, &rp1), (&rx2, &t2, &rp2)] {
        let got = rx.wait_for(1, Duration::from_secs(10)).await;
        assert_eq!(got.len(), 1, "{} got its logout token", client.id);
        let claims = verify_logout_token(&server, &got[0], &client.id).await;
        assert_eq!(claims["sid"], payload(&s(tokens, "id_token"))["sid"]);
    }
    assert_eq!(db.logout_writes().await, (1, 2, 2));
    let again = browser
        .follow(&server.authorize_url(&rp2, &[("prompt", "none")]))
        .await;
    assert_eq!(
        query(&again)["error"],
        "login_required",
        "the session ended"
    );
    assert_eq!(userinfo_status(&server, &at2).await, 401);
    assert_eq!(introspect(&server, &rp2, &at2).await["active"], false);
}
