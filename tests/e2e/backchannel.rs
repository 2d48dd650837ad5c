//! Back-Channel Logout 1.0 delivery: retries with back-off, and the audit entry when a
//! portal never answers, while the person's logout completes at once.

use std::time::{Duration, Instant};

use crate::common::*;
use crate::logout::{FAST_RETRIES, portal, receiver_on, verify_logout_token};

#[tokio::test]
async fn delivery_to_a_portal_down_at_first_succeeds_on_a_retry() {
    let server = TestServer::start_with(FAST_RETRIES).await;
    server.account("mai").await;
    // Reserve a port, then leave it closed for the first attempt.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let uri = format!("http://127.0.0.1:{port}/logout");
    let rp = server
        .register(portal(&server, "late", Some(&uri), true))
        .await;
    let browser = Browser::new(&server);
    let t = server.sign_in(&browser, &rp, "mai").await;
    let url = format!(
        "{}?id_token_hint={}",
        server.url("/end_session"),
        t["id_token"].as_str().unwrap()
    );
    assert_eq!(browser.get(&url).await.status(), 200);

    tokio::time::sleep(Duration::from_millis(500)).await;
    let rx = receiver_on(
        tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap(),
    )
    .await;
    let got = rx.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "delivered on a retry");
    verify_logout_token(&server, &got[0], "late").await;
    // The worker records the delivery just after the portal answered.
    let start = Instant::now();
    let (delivered, failed) = loop {
        let (delivered, failed, _) = server
            .provider()
            .store
            .logout_deliveries()
            .counts()
            .await
            .unwrap();
        if delivered == 1 || start.elapsed() > Duration::from_secs(5) {
            break (delivered, failed);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((delivered, failed), (1, 0));
}

#[tokio::test]
async fn a_portal_that_never_answers_ends_in_the_audit_log_and_the_user_is_logged_out_at_once() {
    let server = TestServer::start_with(FAST_RETRIES).await;
    server.account("mai").await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}/logout", l.local_addr().unwrap().port())
    };
    let rp = server
        .register(portal(&server, "gone", Some(&closed), true))
        .await;
    let browser = Browser::new(&server);
    let t = server.sign_in(&browser, &rp, "mai").await;

    let url = format!(
        "{}?id_token_hint={}",
        server.url("/end_session"),
        t["id_token"].as_str().unwrap()
    );
    let started = Instant::now();
    let r = browser.get(&url).await;
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(1));
    let cleared = r.headers().get_all("set-cookie").iter().any(|c| {
        let c = c.to_str().unwrap();
        c.starts_with("__Host-portico_session=;") && c.contains("Max-Age=0")
    });
    assert!(cleared, "the session cookie is cleared");
    let again = browser
        .follow(&server.authorize_url(&rp, &[("prompt", "none")]))
        .await;
    assert_eq!(
        query(&again)["error"],
        "login_required",
        "logged out at once"
    );

    // Three attempts (t, t+1s, t+3s), then the audit entry.
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
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].client_id.as_deref(), Some("gone"));
    assert!(
        audit[0].detail.contains("3 attempts"),
        "{}",
        audit[0].detail
    );
}
