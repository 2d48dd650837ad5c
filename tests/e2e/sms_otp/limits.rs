//! The hourly limit of text messages per client address (`per_address_per_hour`),
//! beside the per-number one: a client that reached it is refused with the send-limit
//! page and nothing is sent, whatever the number; other addresses are not affected, and
//! an hour later it may send again. The addresses come from `X-Forwarded-For` through a
//! trusted proxy (the test server's peer is always 127.0.0.1).

use reqwest::header::HeaderValue;

use super::*;

fn from_address(server: &TestServer, address: &str) -> Browser {
    let mut headers = HeaderMap::new();
    headers.insert("accept-language", HeaderValue::from_static("en"));
    headers.insert("x-forwarded-for", HeaderValue::from_str(address).unwrap());
    Browser::with_headers(&server.base, headers)
}

/// A new attempt from `browser` asking a code for `typed`: the page it answers.
async fn ask_code(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
    typed: &str,
) -> String {
    let number = number_page(server, browser, client).await;
    let r = post(browser, &number, &[("phone", typed)]).await;
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

const SEND_LIMIT: &str = "Too many codes have been asked for this number or from your network";

#[tokio::test]
async fn a_client_address_gets_per_address_per_hour_codes_whatever_the_numbers() {
    let (server, gateway) = start_with(
        "per_address_per_hour = 2\n",
        "[server]\ntrusted_proxies = [\"127.0.0.0/8\"]\n",
    )
    .await;
    let client = server
        .client("ministry", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let pumping = from_address(&server, "203.0.113.7");
    for typed in ["0912 345 001", "0912 345 002"] {
        let page = ask_code(&server, &pumping, &client, typed).await;
        assert!(page.contains("name=\"code\""), "{page}");
    }
    assert_eq!(gateway.sent().len(), 2);

    // A third number from the same address: the number page again, saying why, and
    // nothing sent.
    let page = ask_code(&server, &pumping, &client, "0912 345 003").await;
    assert!(!page.contains("name=\"code\""), "{page}");
    assert!(page.contains("name=\"phone\""), "{page}");
    assert!(page.contains("role=\"alert\""), "{page}");
    assert!(page.contains(SEND_LIMIT), "{page}");
    assert_eq!(gateway.sent().len(), 2, "nothing sent");
    // Two IPv6 addresses of one /64 share a count (one subscriber's).
    let ipv6 = from_address(&server, "2001:db8:7:1::5");
    let page = ask_code(&server, &ipv6, &client, "0912 345 004").await;
    assert!(page.contains("name=\"code\""), "another address: {page}");
    let same_64 = from_address(&server, "2001:db8:7:1::9");
    let page = ask_code(&server, &same_64, &client, "0912 345 005").await;
    assert!(page.contains("name=\"code\""), "{page}");
    let page = ask_code(&server, &same_64, &client, "0912 345 006").await;
    assert!(page.contains(SEND_LIMIT), "the /64 had its two: {page}");
    assert_eq!(gateway.sent().len(), 4);

    // Another address is not affected.
    let other = from_address(&server, "198.51.100.20");
    let page = ask_code(&server, &other, &client, "0912 345 003").await;
    assert!(page.contains("name=\"code\""), "{page}");
    assert_eq!(gateway.sent().len(), 5);
    assert_eq!(gateway.sent()[4].0, "+84912345003");

    // The refusal is audited like the other send refusals, with the address.
    let audit = server
        .provider()
        .store
        .audit()
        .recent("login_failed", 10)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.detail.contains("reason=send_limit")
                && a.detail.contains("address=203.0.113.7")),
        "{audit:?}"
    );

    // An hour later the address may send again.
    server.clock.advance(3601);
    let page = ask_code(&server, &pumping, &client, "0912 345 007").await;
    assert!(page.contains("name=\"code\""), "{page}");
    assert_eq!(gateway.sent().len(), 6);
}
