//! The account page (`/account`): a person's sessions, and ending one from another
//! browser.

use std::time::Duration;

use crate::common::*;
use crate::logout::{portal, receiver, verify_logout_token};

#[tokio::test]
async fn the_account_page_lists_sessions_and_ends_one_with_back_channel_logout() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let rx = receiver().await;
    let rp = server
        .register(portal(&server, "ministry", Some(&rx.uri), true))
        .await;

    // A first browser (say, a shared computer) signs in at the portal.
    let shared = Browser::new(&server);
    let login = shared.follow(&server.authorize_url(&rp, &[])).await;
    let r = shared.submit_login(&login, "mai", PASSWORD).await;
    let code = code_from(&location(r.headers()).unwrap(), &server, &rp);
    assert_eq!(server.exchange(&rp, &code, VERIFIER).await.status(), 200);

    // At home, the person opens /account: sign in for the account page itself.
    let home = Browser::new(&server);
    let login = home.follow(&server.url("/account")).await;
    assert!(login.starts_with("/login?request="));
    let r = home.submit_login(&login, "mai", PASSWORD).await;
    assert_eq!(location(r.headers()).unwrap(), "/account");
    let html = home.get("/account").await.text().await.unwrap();
    assert!(
        html.contains("Portal ministry") || html.contains("ministry"),
        "{html}"
    );
    assert!(html.contains("(this browser)"));
    assert_eq!(html.matches("End this session").count(), 2);

    // End the shared computer's session from home.
    let csrf = hidden(&html, "csrf").unwrap();
    // The session of the other browser: the list item not marked "(this browser)".
    let other = html
        .split("<li>")
        .skip(1)
        .find(|item| !item.contains("(this browser)"))
        .and_then(|item| hidden(item, "session"))
        .expect("the other session is listed");
    let r = home
        .post_form(
            "/account/sessions/end",
            &[("csrf", csrf.as_str()), ("session", other.as_str())],
        )
        .await;
    assert_eq!(r.status(), 303);
    let got = rx.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "the portal heard of it");
    verify_logout_token(&server, &got[0], "ministry").await;
    let after = shared
        .follow(&server.authorize_url(&rp, &[("prompt", "none")]))
        .await;
    assert_eq!(query(&after)["error"], "login_required");
    // Home is still signed in.
    assert_eq!(home.get("/account").await.status(), 200);
}

/// The `name=value` of the cookie `name` among a response's `Set-Cookie` headers.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

/// Issue 22, finding 11: a browser holding only the session cookie (the browser cookie
/// cleared, or never kept) must still be able to end a session on `/account`, since its
/// CSRF token is bound to a browser cookie that the page must then set.
#[tokio::test]
async fn asvs_4_2_2_account_csrf_works_with_only_the_session_cookie() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let first = Browser::new(&server);
    let login = first.follow(&server.url("/account")).await;
    let r = first.submit_login(&login, "mai", PASSWORD).await;
    let session = set_cookie(&r, "__Host-portico_session").expect("a session cookie");

    // The same person, with every cookie but the session one cleared.
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let base = url::Url::parse(&server.base).unwrap();
    jar.add_cookie_str(&format!("{session}; Path=/"), &base);
    let http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .default_headers(
            [(
                reqwest::header::ACCEPT_LANGUAGE,
                reqwest::header::HeaderValue::from_static("en"),
            )]
            .into_iter()
            .collect(),
        )
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(server.url("/account")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        set_cookie(&page, "__Host-portico_browser").is_some(),
        "the page sets the browser cookie its CSRF token is bound to"
    );
    let html = page.text().await.unwrap();
    let csrf = hidden(&html, "csrf").unwrap();
    let current = html
        .split("<li>")
        .skip(1)
        .find(|item| item.contains("(this browser)"))
        .and_then(|item| hidden(item, "session"))
        .expect("this session is listed");
    let r = http
        .post(server.url("/account/sessions/end"))
        .form(&[("csrf", csrf.as_str()), ("session", current.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let after = http.get(server.url("/account")).send().await.unwrap();
    assert_eq!(after.status(), 303, "the session has ended");
}
