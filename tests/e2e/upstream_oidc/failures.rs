//! Each way an upstream fails: a page naming it, nothing created, no code for the portal.

use super::provider::*;
use super::*;
use crate::common::*;

#[tokio::test]
async fn a_misbehaving_upstream_is_refused_naming_it_and_the_portal_gets_no_code() {
    let op = Upstream::start().await;
    op.set_person("vnpost-9", citizen("079201000003"));
    let config = format!(
        "{PASSWORD_SOURCE}{}",
        source(
            "vnpost",
            "Vietnam Post identity",
            3,
            &op.base,
            true,
            "timeout = 1\n"
        )
    );
    let server = TestServer::start_with(&config).await;
    let client = portal(&server).await;
    let cases = [
        (
            Mode::RogueKey,
            "the answer could not be verified (its signature is not valid)",
        ),
        (
            Mode::WrongNonce,
            "the answer does not belong to this sign-in",
        ),
        (
            Mode::WrongIss,
            "the answer came from another identity provider",
        ),
        (Mode::Deny, "the sign-in was cancelled"),
        (Mode::Slow, "did not answer in time"),
        (
            Mode::MixUp,
            "the answer came from another identity provider",
        ),
        (
            Mode::NoIssParam,
            "the answer came from another identity provider",
        ),
    ];
    for (mode, text) in cases {
        op.set_mode(mode);
        let browser = Browser::new(&server);
        let (callback, r) = through_upstream(&server, &browser, &client, &op, "vnpost").await;
        assert_eq!(
            r.status(),
            200,
            "{mode:?}: the login page again, not the portal"
        );
        let html = r.text().await.unwrap();
        assert!(
            html.contains("Vietnam Post identity"),
            "{mode:?}: names the source"
        );
        assert!(html.contains(text), "{mode:?}: {html}");
        // Another way to sign in is offered on the same page.
        assert!(html.contains("name=\"password\""), "{mode:?}: {html}");
        assert_eq!(count(&server, "login_attempts").await, 0, "{mode:?}");
        assert_eq!(
            count(&server, "accounts").await,
            0,
            "{mode:?}: nothing created"
        );
        assert_eq!(count(&server, "authorization_codes").await, 0, "{mode:?}");
        // And the callback cannot be replayed into a login either.
        assert_eq!(browser.get(&callback).await.status(), 400, "{mode:?}");
    }
    // The same page in Vietnamese.
    op.set_mode(Mode::WrongNonce);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ACCEPT_LANGUAGE, "vi".parse().unwrap());
    let browser = Browser::with_headers(&server.url(""), headers);
    let (_, r) = through_upstream(&server, &browser, &client, &op, "vnpost").await;
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Vietnam Post identity (vi): kết quả trả về không thuộc lượt đăng nhập này"),
        "{html}"
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_refused_naming_it() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = format!(
        "{PASSWORD_SOURCE}{}",
        source(
            "vnpost",
            "Vietnam Post identity",
            3,
            &format!("http://127.0.0.1:{closed}"),
            true,
            ""
        )
    );
    let server = TestServer::start_with(&config).await;
    let client = portal(&server).await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let request = login.trim_start_matches("/login?request=");
    let r = browser
        .get(&format!("/login/vnpost?request={request}"))
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Vietnam Post identity cannot be reached right now"),
        "{html}"
    );
    assert!(
        html.contains("name=\"password\""),
        "another way is offered: {html}"
    );
    assert_eq!(count(&server, "login_attempts").await, 0);
}

#[tokio::test]
async fn an_unknown_kid_fetches_the_key_set_again_once_and_not_again_soon() {
    let op = Upstream::start().await;
    op.set_person("vnpost-5", citizen("079201000005"));
    let server = TestServer::start_with(&source(
        "vnpost",
        "Vietnam Post identity",
        3,
        &op.base,
        true,
        "",
    ))
    .await;
    let client = portal(&server).await;
    tokens_via(&server, &client, &op, "vnpost").await;
    assert_eq!(*op.state.jwks_fetches.lock().unwrap(), 1);
    // Later, the upstream rotates to a key Portico has not seen: one refetch, and it
    // verifies.
    server.clock.advance(11);
    *op.state.published.lock().unwrap() = 2;
    *op.state.signing.lock().unwrap() = 1;
    tokens_via(&server, &client, &op, "vnpost").await;
    assert_eq!(*op.state.jwks_fetches.lock().unwrap(), 2);
    // A kid that is in no key set, right after: refused without fetching again.
    op.set_mode(Mode::RogueKey);
    let (_, r) = through_upstream(&server, &Browser::new(&server), &client, &op, "vnpost").await;
    assert!(r.text().await.unwrap().contains("could not be verified"));
    assert_eq!(*op.state.jwks_fetches.lock().unwrap(), 2, "rate-limited");
}

#[tokio::test]
async fn callback_refusals_are_counted_per_address_and_audited_with_source_and_reason() {
    let op = Upstream::start().await;
    op.set_person("vnpost-5", citizen("079201000005"));
    let config = format!(
        "{PASSWORD_SOURCE}{}[brute_force]\naddress_backoff_after = 3\naddress_lock_after = 5\n",
        source("vnpost", "Vietnam Post identity", 3, &op.base, true, "")
    );
    let server = TestServer::start_with(&config).await;
    let client = portal(&server).await;
    // Cancelling at the upstream checks no credential: never charged.
    op.set_mode(Mode::Deny);
    for _ in 0..6 {
        let (_, r) =
            through_upstream(&server, &Browser::new(&server), &client, &op, "vnpost").await;
        assert_eq!(r.status(), 200);
    }
    // A forged answer is charged to the address like a wrong password.
    op.set_mode(Mode::RogueKey);
    for i in 0..5 {
        let (_, r) =
            through_upstream(&server, &Browser::new(&server), &client, &op, "vnpost").await;
        assert_eq!(
            r.status(),
            200,
            "forged answer {i}: refused, not yet blocked"
        );
        server.clock.advance(70);
    }
    // Locked now: even a good answer from the upstream is not looked at.
    op.set_mode(Mode::Good);
    let (_, r) = through_upstream(&server, &Browser::new(&server), &client, &op, "vnpost").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key(reqwest::header::RETRY_AFTER));
    assert!(r.text().await.unwrap().contains("try again later"));
    assert_eq!(count(&server, "accounts").await, 0, "nothing signed in");
    assert_eq!(count(&server, "authorization_codes").await, 0);

    let audit = server
        .provider()
        .store
        .audit()
        .recent("login_failed", 50)
        .await
        .unwrap();
    let with = |reason: &str| {
        audit
            .iter()
            .filter(|e| {
                e.detail.contains("source=vnpost")
                    && e.detail.contains(&format!("reason={reason} "))
                    && e.detail.contains("address=127.0.0.1")
            })
            .count()
    };
    assert_eq!(with("upstream_cancelled"), 6, "{audit:?}");
    assert_eq!(with("upstream_bad_signature"), 5, "{audit:?}");
    assert_eq!(with("throttled"), 1, "{audit:?}");
}
