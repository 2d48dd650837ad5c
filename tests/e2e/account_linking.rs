//! Linking logins from `/account` (issue 19): a password account links an upstream
//! OpenID login (the small upstream provider of `upstream_oidc`), which then signs in
//! to the same account; the last login cannot be removed; another account's login is
//! refused, never merged; linking and unlinking are audited; a stale sign-in must be
//! made again first.

use crate::common::*;
use crate::upstream_oidc::{
    PASSWORD_SOURCE, Upstream, citizen, claims_of, portal, source, tokens_via,
};

/// A browser signed in at `/account` with the password; answers it.
async fn at_account(server: &TestServer, username: &str) -> Browser {
    let browser = Browser::new(server);
    let login = browser.follow(&server.url("/account")).await;
    let r = browser.submit_login(&login, username, PASSWORD).await;
    assert_eq!(location(r.headers()).unwrap(), "/account");
    browser
}

async fn account_page(browser: &Browser) -> String {
    let r = browser.get("/account").await;
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// Presses "Link" for the source; answers the response to the upstream's return.
async fn link(browser: &Browser, upstream: &Upstream, source_id: &str) -> reqwest::Response {
    let html = account_page(browser).await;
    let csrf = hidden(&html, "csrf").unwrap();
    let r = browser
        .post_form("/account/link", &[("csrf", &csrf), ("source", source_id)])
        .await;
    assert_eq!(r.status(), 303);
    let away = location(r.headers()).unwrap();
    assert!(
        away.starts_with(&format!("{}/authorize?", upstream.base)),
        "{away}"
    );
    let back = browser.follow(&away).await;
    assert!(
        back.contains(&format!("/login/{source_id}/callback?")),
        "{back}"
    );
    browser.get(&back).await
}

/// The account's logins as the page lists them: (source name, the removal form's id).
fn logins(html: &str) -> Vec<(String, Option<String>)> {
    html.split("<ul class=\"logins\">")
        .nth(1)
        .unwrap()
        .split("</ul>")
        .next()
        .unwrap()
        .split("<li>")
        .skip(1)
        .map(|item| {
            let name = item
                .split("<strong>")
                .nth(1)
                .and_then(|s| s.split("</strong>").next())
                .unwrap()
                .to_owned();
            (name, hidden(item, "login"))
        })
        .collect()
}

async fn remove(browser: &Browser, id: &str) {
    let html = account_page(browser).await;
    let csrf = hidden(&html, "csrf").unwrap();
    let r = browser
        .post_form("/account/logins/remove", &[("csrf", &csrf), ("login", id)])
        .await;
    assert_eq!(r.status(), 303);
}

async fn audited(server: &TestServer, event: &str) -> Vec<portico::store::AuditEvent> {
    server
        .provider()
        .store
        .audit()
        .recent(event, 20)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_password_account_links_an_upstream_login_which_then_signs_in_to_it() {
    let op = Upstream::start().await;
    op.set_person("vnpost-link-1", citizen("079201000011"));
    let config = format!(
        "{PASSWORD_SOURCE}{}",
        source("vnpost", "Vietnam Post identity", 3, &op.base, false, "")
    );
    let server = TestServer::start_with(&config).await;
    let mai = server.account("mai").await;
    let lanh = server.account("lanh").await;
    let client = portal(&server).await;

    // The password login at the portal: its `sub`.
    let b = Browser::new(&server);
    let login = b
        .follow(&server.authorize_url(&client, &[("scope", "openid")]))
        .await;
    let r = b.submit_login(&login, "mai", PASSWORD).await;
    let code = code_from(&location(r.headers()).unwrap(), &server, &client);
    let tokens: serde_json::Value = server
        .exchange(&client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let password_sub = claims_of(tokens["id_token"].as_str().unwrap())["sub"].clone();

    // Mai links her Vietnam Post login from /account.
    let home = at_account(&server, "mai").await;
    let html = account_page(&home).await;
    assert!(
        html.contains("Link your login at Vietnam Post identity"),
        "{html}"
    );
    assert_eq!(logins(&html).len(), 1);
    assert!(html.contains("Your only login: it cannot be removed."));
    let r = link(&home, &op, "vnpost").await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(location(r.headers()).unwrap(), "/account");
    let listed = logins(&account_page(&home).await);
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["Username and password", "Vietnam Post identity"],
        "{listed:?}"
    );
    assert!(listed.iter().all(|(_, id)| id.is_some()), "both removable");
    let linked = audited(&server, "identity_linked").await;
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].account_id.as_deref(), Some(mai.as_str()));
    assert_eq!(linked[0].detail, "source=vnpost");

    // That upstream login now signs in to the same account: the same `sub` at the portal.
    let tokens = tokens_via(&server, &client, &op, "vnpost").await;
    let upstream_sub = claims_of(tokens["id_token"].as_str().unwrap())["sub"].clone();
    assert_eq!(upstream_sub, password_sub);
    assert_eq!(
        server
            .provider()
            .store
            .identities()
            .account_of("vnpost", "vnpost-link-1")
            .await
            .unwrap(),
        Some(mai.clone())
    );

    // Lanh cannot link the login that is Mai's: said so, nothing linked or merged.
    let other = at_account(&server, "lanh").await;
    let r = link(&other, &op, "vnpost").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("already belongs to another account"),
        "{html}"
    );
    assert!(html.contains("Vietnam Post identity"), "{html}");
    assert_eq!(logins(&account_page(&other).await).len(), 1);
    assert_eq!(audited(&server, "identity_linked").await.len(), 1);
    assert_eq!(
        server
            .provider()
            .store
            .identities()
            .account_of("vnpost", "vnpost-link-1")
            .await
            .unwrap(),
        Some(mai.clone())
    );
    assert_eq!(
        server
            .provider()
            .store
            .identities()
            .of_account(&lanh)
            .await
            .unwrap()
            .len(),
        1
    );

    // Mai removes the password login; the Vietnam Post one is then her last and stays.
    let password_login = listed[0].1.clone().unwrap();
    let upstream_login = listed[1].1.clone().unwrap();
    remove(&home, &password_login).await;
    let html = account_page(&home).await;
    let left = logins(&html);
    assert_eq!(left, [("Vietnam Post identity".to_owned(), None)]);
    assert!(html.contains("Your only login: it cannot be removed."));
    remove(&home, &upstream_login).await;
    assert_eq!(
        server
            .provider()
            .store
            .identities()
            .of_account(&mai)
            .await
            .unwrap()
            .len(),
        1
    );
    let unlinked = audited(&server, "identity_unlinked").await;
    assert_eq!(unlinked.len(), 1);
    assert_eq!(unlinked[0].account_id.as_deref(), Some(mai.as_str()));
    assert_eq!(unlinked[0].detail, "source=password");

    // Another account's login cannot be removed from here either.
    let lanh_login = server
        .provider()
        .store
        .identities()
        .of_account(&lanh)
        .await
        .unwrap();
    remove(&home, &lanh_login[0].id).await;
    assert_eq!(
        server
            .provider()
            .store
            .identities()
            .of_account(&lanh)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn linking_needs_a_sign_in_within_ten_minutes_and_the_page_speaks_vietnamese() {
    let op = Upstream::start().await;
    let config = format!(
        "{PASSWORD_SOURCE}{}",
        source("vnpost", "Vietnam Post identity", 3, &op.base, false, "")
    );
    let server = TestServer::start_with(&config).await;
    server.account("mai").await;
    let home = at_account(&server, "mai").await;
    let html = account_page(&home).await;
    let csrf = hidden(&html, "csrf").unwrap();
    // A source whose logins cannot be linked (password) is refused.
    let r = home
        .post_form("/account/link", &[("csrf", &csrf), ("source", "password")])
        .await;
    assert_eq!(r.status(), 400);
    // Without the CSRF token nothing starts.
    let r = home
        .post_form("/account/link", &[("source", "vnpost")])
        .await;
    assert_eq!(r.status(), 403);
    // Eleven minutes on, linking asks to sign in again first.
    server.clock.advance(11 * 60);
    let r = home
        .post_form("/account/link", &[("csrf", &csrf), ("source", "vnpost")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(r.headers()).unwrap(), "/login?request=account");

    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ACCEPT_LANGUAGE, "vi".parse().unwrap());
    let vi = Browser::with_headers(&server.url(""), headers);
    let login = vi.follow(&server.url("/account")).await;
    vi.submit_login(&login, "mai", PASSWORD).await;
    let html = account_page(&vi).await;
    assert!(html.contains("Các cách đăng nhập của bạn"), "{html}");
    assert!(
        html.contains("Liên kết tài khoản Vietnam Post identity (vi)"),
        "{html}"
    );
}
