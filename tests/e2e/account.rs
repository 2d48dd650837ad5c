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
