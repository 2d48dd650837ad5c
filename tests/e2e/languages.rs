//! The pages' language: the switcher's choice, then the portal's `ui_locales`, then
//! `Accept-Language`, then the default (Vietnamese); and the switcher keeps the pending
//! request.

use portico::store::AuthMethod;
use reqwest::header::{ACCEPT_LANGUAGE, HeaderMap, HeaderValue, SET_COOKIE};
use serde_json::Value;

use crate::common::*;

/// A browser that sends this `Accept-Language` (`None`: none at all).
fn browser(server: &TestServer, accept_language: Option<&'static str>) -> Browser {
    let mut headers = HeaderMap::new();
    if let Some(value) = accept_language {
        headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_static(value));
    }
    Browser::with_headers(&server.base, headers)
}

async fn server_with_portal() -> (TestServer, TestClient) {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    (server, client)
}

async fn page(browser: &Browser, url: &str) -> String {
    let r = browser.get(url).await;
    assert_eq!(r.status(), 200, "{url}");
    r.text().await.unwrap()
}

/// The login page for an authorization request with these extra parameters.
async fn login_page(
    server: &TestServer,
    client: &TestClient,
    browser: &Browser,
    extra: &[(&str, &str)],
) -> (String, String) {
    let login = browser.follow(&server.authorize_url(client, extra)).await;
    assert!(login.starts_with("/login?request="), "{login}");
    let html = page(browser, &login).await;
    (login, html)
}

/// The switcher's link on a page (there is one other language).
fn switcher(html: &str) -> String {
    let start = html.find("href=\"/language?").expect("a switcher link") + "href=\"".len();
    let end = html[start..].find('"').unwrap() + start;
    // askama writes `&` as `&#38;`.
    html[start..end].replace("&#38;", "&").replace("&amp;", "&")
}

#[tokio::test]
async fn ui_locales_vi_gives_a_vietnamese_page() {
    let (server, client) = server_with_portal().await;
    // The test browser asks for English; the portal's choice comes first.
    let b = Browser::new(&server);
    let (_, html) = login_page(&server, &client, &b, &[("ui_locales", "vi")]).await;
    assert!(html.contains("<html lang=\"vi\">"), "{html}");
    assert!(html.contains("<h1>Đăng nhập</h1>"), "{html}");
    assert!(html.contains("Tên đăng nhập và mật khẩu"), "{html}");
    assert!(html.contains("để tiếp tục sử dụng ministry"), "{html}");
    // The switcher offers English, named in English.
    assert!(html.contains("lang=\"en\">English</a>"), "{html}");
}

#[tokio::test]
async fn ui_locales_en_wins_over_accept_language_vi() {
    let (server, client) = server_with_portal().await;
    let b = browser(&server, Some("vi"));
    let (_, html) = login_page(&server, &client, &b, &[("ui_locales", "fr en")]).await;
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("<h1>Sign in</h1>"), "{html}");
    assert!(html.contains("lang=\"vi\">Tiếng Việt</a>"), "{html}");
}

#[tokio::test]
async fn accept_language_with_q_values_gives_english() {
    let (server, client) = server_with_portal().await;
    let b = browser(&server, Some("en-GB,en;q=0.9"));
    let (_, html) = login_page(&server, &client, &b, &[]).await;
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("Username and password"), "{html}");
    // A refusal is in the page's language too.
    let login = browser(&server, Some("vi;q=0, en-GB;q=0.8"));
    let (url, _) = login_page(&server, &client, &login, &[]).await;
    let r = login.submit_login(&url, "mai", "not the password").await;
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Username and password: the username or password is incorrect"),
        "{html}"
    );
}

#[tokio::test]
async fn an_unsupported_language_gives_the_default_vietnamese() {
    let (server, client) = server_with_portal().await;
    let b = browser(&server, Some("fr"));
    let (_, html) = login_page(&server, &client, &b, &[]).await;
    assert!(html.contains("<html lang=\"vi\">"), "{html}");
    assert!(html.contains("<h1>Đăng nhập</h1>"), "{html}");
    // No Accept-Language at all, and a page outside any request: Vietnamese as well.
    let r = browser(&server, None).get("/no-such-page").await;
    assert_eq!(r.status(), 404);
    let html = r.text().await.unwrap();
    assert!(html.contains("<html lang=\"vi\">"), "{html}");
    assert!(html.contains("Không tìm thấy trang"), "{html}");
}

#[tokio::test]
async fn the_switcher_keeps_the_pending_request_through_login_and_consent() {
    let (server, client) = server_with_portal().await;
    let b = browser(&server, Some("vi"));
    let (login, html) = login_page(&server, &client, &b, &[]).await;
    assert!(html.contains("<html lang=\"vi\">"), "{html}");

    // Switch on the login page: back to the same pending request, now in English.
    let switch = switcher(&html);
    let r = b.get(&switch).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(r.headers()).unwrap(), login);
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert_eq!(
        cookie,
        "__Host-portico_lang=en; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=31536000"
    );
    let html = page(&b, &login).await;
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("<h1>Sign in</h1>"), "{html}");
    // The switcher there leads back to Vietnamese, for the same request.
    assert!(switcher(&html).starts_with("/language?set=vi&next=%2Flogin%3Frequest%3D"));

    // Log in: the consent page is in the chosen language, over Accept-Language.
    let r = b.submit_login(&login, "mai", PASSWORD).await;
    assert_eq!(r.status(), 303);
    let consent = location(r.headers()).unwrap();
    assert!(consent.starts_with("/consent?request="), "{consent}");
    let html = page(&b, &consent).await;
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("Share your information?"), "{html}");
    assert!(
        html.contains("See your name, date of birth, gender and other profile details"),
        "{html}"
    );
    assert!(html.contains(">Allow</button>"), "{html}");

    // Consent: the code arrives at the portal, and it is good.
    let redirect = b.submit_consent(&consent, true).await;
    let code = code_from(&redirect, &server, &client);
    assert_eq!(
        server.exchange(&client, &code, VERIFIER).await.status(),
        200
    );

    // The choice holds on the next page, which has no request behind it.
    let html = page(&b, "/account").await;
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("You are signed in on one device."), "{html}");
    assert!(html.contains("Portal: ministry"), "{html}");

    // Switch back: the account page in Vietnamese, plurals by the Vietnamese rules.
    let r = b.get(&switcher(&html)).await;
    assert_eq!(location(r.headers()).unwrap(), "/account");
    let html = page(&b, "/account").await;
    assert!(html.contains("<html lang=\"vi\">"), "{html}");
    assert!(
        html.contains("Bạn đang đăng nhập trên 1 thiết bị."),
        "{html}"
    );
    assert!(
        html.contains("Cổng dịch vụ đã sử dụng (1): ministry"),
        "{html}"
    );
}

#[tokio::test]
async fn the_switcher_returns_only_to_this_site() {
    let server = TestServer::start().await;
    let b = Browser::new(&server);
    for next in [
        "https://evil.example/",
        "//evil.example/",
        "/%5Cevil.example/",
        "/%09/evil.example/",
    ] {
        let r = b.get(&format!("/language?set=en&next={next}")).await;
        assert_eq!(r.status(), 303);
        assert_eq!(location(r.headers()).unwrap(), "/account", "{next}");
    }
    // An unknown language changes nothing.
    let r = b.get("/language?set=fr&next=/account").await;
    assert_eq!(location(r.headers()).unwrap(), "/account");
    assert!(r.headers().get(SET_COOKIE).is_none());
}

#[tokio::test]
async fn end_session_follows_its_ui_locales() {
    let server = TestServer::start().await;
    let b = browser(&server, Some("vi"));
    let html = page(&b, "/end_session?ui_locales=en").await;
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("You are signed out"), "{html}");
    let html = page(&b, "/end_session").await;
    assert!(html.contains("Bạn đã đăng xuất"), "{html}");
}

#[tokio::test]
async fn discovery_lists_the_page_languages() {
    let server = TestServer::start().await;
    let d: Value = reqwest::get(server.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["ui_locales_supported"], serde_json::json!(["vi", "en"]));
}
