//! Online guessing (issue 22, finding 1; ASVS 2.2.1, RFC 9700 section 4.1's advice):
//! failures counted per account and per client address in the database, back-off then
//! a temporary lock, nothing checked while blocked, the same answer for unknown
//! accounts, `X-Forwarded-For` only from trusted proxies, one limit across nodes, and
//! every failure audited. The token endpoint's client authentication likewise.

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

use crate::common::{Browser, PASSWORD, TestServer};
use portico::store::AuthMethod;

/// The login form's answer: its status and the page.
async fn try_login(
    browser: &Browser,
    login: &str,
    username: &str,
    password: &str,
) -> (u16, String) {
    let r = browser.submit_login(login, username, password).await;
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// The notice on a login page (the paragraph the form's answer adds).
fn notice(html: &str) -> String {
    let marker = "role=\"alert\">";
    let start = html.find(marker).expect("a notice") + marker.len();
    html[start..start + html[start..].find("</").unwrap()].to_owned()
}

/// A login page for a new portal's request.
async fn login_page(server: &TestServer, browser: &Browser) -> String {
    static PORTALS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = PORTALS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let client = server
        .client(&format!("portal-{n}"), AuthMethod::ClientSecretBasic)
        .await;
    browser.follow(&server.authorize_url(&client, &[])).await
}

/// Long-lived login pages, so the clock can pass a lock within one pending request.
const LONG_LOGIN: &str = "[session]\nlogin_timeout = \"2h\"\n";

#[tokio::test]
async fn asvs_2_2_1_forty_wrong_passwords_then_the_right_one_is_refused_while_locked_without_argon2()
 {
    let server = TestServer::start_with(LONG_LOGIN).await;
    let account = server.account("mai").await;
    let browser = Browser::new(&server);
    let login = login_page(&server, &browser).await;
    let before = server.provider().passwords.verifications();
    let mut statuses = Vec::new();
    for _ in 0..40 {
        let (status, _) = try_login(&browser, &login, "mai", "wrong").await;
        statuses.push(status);
        // Past every back-off delay (at most 16 s before the lock), not past the lock.
        server.clock.advance(20);
    }
    assert!(statuses[..10].iter().all(|s| *s == 200), "{statuses:?}");
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_eq!(
        server.provider().passwords.verifications() - before,
        10,
        "argon2 ran for the ten counted attempts only"
    );
    // 30 x 20 s = 600 s of the 900 s lock have passed: the right password is refused too.
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    assert_eq!(r.status(), 429);
    let retry: i64 = r.headers()[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry), "Retry-After {retry}");
    let page = r.text().await.unwrap();
    assert!(
        notice(&page).contains("try again later"),
        "{}",
        notice(&page)
    );
    assert_eq!(server.provider().passwords.verifications() - before, 10);

    // The lock is temporary: once over, the right password signs in.
    server.clock.advance(retry);
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    assert_eq!(r.status(), 303, "{:?}", r.text().await);

    // Failures are audited with the account, the source, the reason and the address.
    let failed = server
        .provider()
        .store
        .audit()
        .recent("login_failed", 100)
        .await
        .unwrap();
    // The ten checked, and the first refused in the lock; the other 30 refusals of the
    // same lock are answered without being written one by one.
    assert_eq!(failed.len(), 11);
    assert!(
        failed
            .iter()
            .all(|e| e.account_id.as_deref() == Some(account.as_str()))
    );
    let reasons = |r: &str| {
        failed
            .iter()
            .filter(|e| e.detail.contains(&format!("reason={r} ")))
            .count()
    };
    assert_eq!(reasons("bad_credentials"), 10);
    assert_eq!(reasons("throttled"), 1);
    assert!(failed.iter().all(|e| e.detail.contains("source=password")
        && e.detail.contains("address=127.0.0.1")));
}

#[tokio::test]
async fn asvs_2_2_1_a_locked_unknown_account_looks_like_a_locked_real_one() {
    let server = TestServer::start_with(LONG_LOGIN).await;
    server.account("mai").await;
    let mut answers = Vec::new();
    for username in ["mai", "ghost"] {
        let browser = Browser::new(&server);
        let login = login_page(&server, &browser).await;
        for _ in 0..10 {
            try_login(&browser, &login, username, "wrong").await;
            server.clock.advance(20);
        }
        let (status, page) = try_login(&browser, &login, username, "still wrong").await;
        answers.push((status, notice(&page)));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, 429);
    // The unknown name is audited by its hash, not as typed.
    let failed = server
        .provider()
        .store
        .audit()
        .recent("login_failed", 100)
        .await
        .unwrap();
    let ghost: Vec<_> = failed.iter().filter(|e| e.account_id.is_none()).collect();
    assert_eq!(ghost.len(), 11);
    assert!(
        ghost
            .iter()
            .all(|e| e.detail.contains("username_sha256=") && !e.detail.contains("ghost"))
    );
}

#[tokio::test]
async fn asvs_2_2_1_an_address_is_locked_across_usernames() {
    let server = TestServer::start_with(&format!(
        "{LONG_LOGIN}[brute_force]\naddress_backoff_after = 3\naddress_lock_after = 5\n"
    ))
    .await;
    server.account("mai").await;
    let browser = Browser::new(&server);
    let login = login_page(&server, &browser).await;
    for i in 0..5 {
        let (status, _) = try_login(&browser, &login, &format!("user{i}"), "wrong").await;
        assert_eq!(status, 200, "attempt {i}: one failure per account");
        server.clock.advance(10);
    }
    // A sixth name, and even the right password of a real one: the address is locked.
    let (status, _) = try_login(&browser, &login, "user5", "wrong").await;
    assert_eq!(status, 429);
    let (status, _) = try_login(&browser, &login, "mai", PASSWORD).await;
    assert_eq!(status, 429);
    server.clock.advance(15 * 60);
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    assert_eq!(r.status(), 303);
}

fn forwarded(server: &TestServer, xff: &str) -> Browser {
    let mut headers = HeaderMap::new();
    headers.insert("accept-language", HeaderValue::from_static("en"));
    headers.insert("x-forwarded-for", HeaderValue::from_str(xff).unwrap());
    Browser::with_headers(&server.base, headers)
}

/// Five failures from "addresses" named by `X-Forwarded-For`, each a new name; answers
/// whether a sixth from `next` is still let through.
async fn spray(server: &TestServer, xffs: [&str; 5], next: &str) -> u16 {
    for (i, xff) in xffs.iter().enumerate() {
        let browser = forwarded(server, xff);
        let login = login_page(server, &browser).await;
        let (status, _) = try_login(&browser, &login, &format!("user{i}"), "wrong").await;
        assert_eq!(status, 200);
        server.clock.advance(10);
    }
    let browser = forwarded(server, next);
    let login = login_page(server, &browser).await;
    try_login(&browser, &login, "mai", PASSWORD).await.0
}

const SMALL_ADDRESS_LIMIT: &str =
    "[brute_force]\naddress_backoff_after = 3\naddress_lock_after = 5\n";

#[tokio::test]
async fn asvs_2_2_1_x_forwarded_for_is_ignored_from_untrusted_peers() {
    let server = TestServer::start_with(SMALL_ADDRESS_LIMIT).await;
    server.account("mai").await;
    let xffs = [
        "192.0.2.1",
        "192.0.2.2",
        "192.0.2.3",
        "192.0.2.4",
        "192.0.2.5",
    ];
    // Each request claims another address; all come from 127.0.0.1, which is counted.
    assert_eq!(spray(&server, xffs, "192.0.2.6").await, 429);
    let failed = server
        .provider()
        .store
        .audit()
        .recent("login_failed", 10)
        .await
        .unwrap();
    assert!(
        failed
            .iter()
            .all(|e| e.detail.contains("address=127.0.0.1")),
        "{failed:?}"
    );
}

#[tokio::test]
async fn asvs_2_2_1_x_forwarded_for_is_honoured_from_a_trusted_proxy() {
    let server = TestServer::start_with(&format!(
        "{SMALL_ADDRESS_LIMIT}[server]\ntrusted_proxies = [\"127.0.0.0/8\"]\n"
    ))
    .await;
    server.account("mai").await;
    // The proxy appends the address it saw; what the client put left of it is ignored.
    let from_one = [
        "10.9.9.1, 192.0.2.1",
        "10.9.9.2, 192.0.2.1",
        "192.0.2.1",
        "192.0.2.1",
        "192.0.2.1",
    ];
    // Another client behind the same proxy is not locked out by the first one.
    assert_eq!(spray(&server, from_one, "192.0.2.2").await, 303);
    let browser = forwarded(&server, "192.0.2.1");
    let login = login_page(&server, &browser).await;
    assert_eq!(try_login(&browser, &login, "mai", PASSWORD).await.0, 429);
    let failed = server
        .provider()
        .store
        .audit()
        .recent("login_failed", 10)
        .await
        .unwrap();
    assert!(
        failed
            .iter()
            .all(|e| e.detail.contains("address=192.0.2.1")),
        "{failed:?}"
    );
}

#[tokio::test]
async fn asvs_2_2_1_two_nodes_enforce_one_limit() {
    let first = TestServer::start_with(LONG_LOGIN).await;
    let second = first.second_node(LONG_LOGIN).await;
    first.account("mai").await;
    let browser = Browser::new(&first);
    let login = login_page(&first, &browser).await;
    let other = browser.on(&second);
    let nodes = [&browser, &other];
    let mut statuses = Vec::new();
    for i in 0..10 {
        let r = nodes[i % 2].submit_login(&login, "mai", "wrong").await;
        statuses.push(r.status().as_u16());
        first.clock.advance(20);
        second.clock.advance(20);
    }
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // Five failures on each node: the account is locked on both.
    for node in nodes {
        let r = node.submit_login(&login, "mai", PASSWORD).await;
        assert_eq!(r.status(), 429);
    }
}

#[tokio::test]
async fn rfc6749_5_2_wrong_client_secrets_back_off_and_never_lock_out_the_right_one() {
    let server = TestServer::start().await;
    let client = server.client("portal", AuthMethod::ClientSecretBasic).await;
    let secret = client.secret.clone().unwrap();
    let token = |secret: String| {
        let url = server.url("/token");
        let id = client.id.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "not-a-token"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    for i in 0..10 {
        let r = token(format!("guess-{i}")).await;
        assert_eq!(r.status(), 401, "guess {i}");
        assert!(r.headers().get(RETRY_AFTER).is_none());
        server.clock.advance(20);
    }
    // Locked: a guess is answered invalid_client, saying when to come back.
    let r = token("guess-11".into()).await;
    assert_eq!(r.status(), 401);
    let retry: i64 = r.headers()[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("try again later")
    );
    // Anyone may know the client_id: the right secret still authenticates (the
    // refresh token is what fails), so guesses cannot shut the portal out.
    let r = token(secret.clone()).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    server.clock.advance(retry);
    let r = token("guess-12".into()).await;
    assert_eq!(r.status(), 401);
    assert!(
        r.headers().get(RETRY_AFTER).is_none(),
        "the lock ends: counted again"
    );
}

#[tokio::test]
async fn asvs_2_2_1_a_burst_of_concurrent_guesses_at_an_account_in_back_off_runs_one() {
    // A minute's back-off, so that the burst cannot outlast it.
    let config = format!("{LONG_LOGIN}[brute_force]\nfirst_delay = \"1m\"\n");
    let first = TestServer::start_with(&config).await;
    let second = first.second_node(&config).await;
    first.account("mai").await;
    let browser = Browser::new(&first);
    let login = login_page(&first, &browser).await;
    for _ in 0..5 {
        let (status, _) = try_login(&browser, &login, "mai", "wrong").await;
        assert_eq!(status, 200);
    }
    // The fifth failure began the back-off; past it, the account is in back-off.
    first.clock.advance(60);
    second.clock.advance(60);
    let ran =
        || first.provider().passwords.verifications() + second.provider().passwords.verifications();
    let before = ran();
    // 30 guesses at once, half on each node: each is counted before it runs, in the
    // statement that refuses a blocked account, so one runs and its back-off stops the
    // rest, however they interleave.
    let statuses = burst(&browser, [&first, &second], &login, "wrong").await;
    assert_eq!(ran() - before, 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 29);
}

#[tokio::test]
async fn asvs_2_2_1_many_successful_logins_at_once_are_never_throttled() {
    // A shared enterprise account, or many people behind one address: successes do not
    // count, however many are in flight. (Room in the hashing queue for all of them.)
    // (The test configuration ends in its [password] table.)
    let config = format!("max_queued_hashes = 64\n{LONG_LOGIN}");
    let first = TestServer::start_with(&config).await;
    let second = first.second_node(&config).await;
    first.account("mai").await;
    let browser = Browser::new(&first);
    // The account page's own login: no pending request to be taken by the first.
    let login = browser.follow("/account").await;
    assert_eq!(login, "/login?request=account");
    let mut statuses = burst(&browser, [&first, &second], &login, PASSWORD).await;
    statuses.extend(burst(&browser, [&first, &second], &login, PASSWORD).await);
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
}

/// Posts the login form 30 times at once, alternating between two nodes; answers the
/// statuses.
async fn burst(
    browser: &Browser,
    nodes: [&TestServer; 2],
    login: &str,
    password: &str,
) -> Vec<u16> {
    let guesses: Vec<_> = (0..30)
        .map(|i| {
            let (node, login, password) = (
                browser.on(nodes[i % 2]),
                login.to_owned(),
                password.to_owned(),
            );
            tokio::spawn(async move {
                node.submit_login(&login, "mai", &password)
                    .await
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await.unwrap());
    }
    statuses
}
