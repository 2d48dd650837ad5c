//! Withdrawing a portal's access on `/account` (issue 22, finding 6; RFC 9700 §4.14's
//! revocation of refresh tokens, RFC 7009 §2): the consent is gone, the portal's
//! refresh tokens answer `invalid_grant`, its access tokens are inactive at
//! `/introspect` and refused at `/userinfo`, other portals keep theirs, and the next
//! authorization asks for consent again.

use portico::store::AuthMethod;

use crate::common::*;
use crate::token_lifecycle::{OFFLINE, introspect, refresh, s, userinfo_status};

/// Authorizes `client` in `browser` (signing in first if needed, consenting if asked)
/// and exchanges the code: the token response.
async fn grant(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
    extra: &[(&str, &str)],
) -> serde_json::Value {
    let mut next = browser.follow(&server.authorize_url(client, extra)).await;
    if next.starts_with("/login") {
        let r = browser.submit_login(&next, "mai", PASSWORD).await;
        next = location(r.headers()).unwrap();
    }
    if next.starts_with("/consent") {
        next = browser.submit_consent(&next, true).await;
    }
    let code = code_from(&next, server, client);
    let r = server.exchange(client, &code, VERIFIER).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn rfc9700_withdrawing_consent_revokes_the_portals_refresh_and_access_tokens() {
    let server = TestServer::start().await;
    let account = server.account("mai").await;
    let ministry = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let tax = server.client("tax", AuthMethod::ClientSecretBasic).await;
    let browser = Browser::new(&server);
    // An offline grant, a grant without a refresh token, and another portal's grant.
    let offline = grant(&server, &browser, &ministry, &OFFLINE).await;
    let online = grant(&server, &browser, &ministry, &[]).await;
    let other = grant(&server, &browser, &tax, &[]).await;
    let (rt, at_offline, at_online) = (
        s(&offline, "refresh_token"),
        s(&offline, "access_token"),
        s(&online, "access_token"),
    );
    // Two minutes on: the codes have expired, and are still known by their grants.
    server.clock.advance(120);
    let page = browser.get("/account").await.text().await.unwrap();
    assert!(page.contains("Portals you have allowed"), "{page}");
    assert_eq!(
        page.matches("action=\"/account/consents/withdraw\"")
            .count(),
        2,
        "{page}"
    );
    assert!(
        page.contains("Stay connected when you are not using it"),
        "the scopes, in words"
    );
    assert!(page.contains("Allowed since "));
    let csrf = hidden(&page, "csrf").unwrap();

    // Without the page's CSRF token nothing happens.
    let r = browser
        .post_form("/account/consents/withdraw", &[("client", "ministry")])
        .await;
    assert_ne!(r.status(), 303);
    assert_eq!(
        introspect(&server, &ministry, &at_offline).await["active"],
        true
    );

    let r = browser
        .post_form(
            "/account/consents/withdraw",
            &[("csrf", csrf.as_str()), ("client", "ministry")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(r.headers()).unwrap(), "/account");

    let r = refresh(&server, &ministry, &rt, None).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    for at in [&at_offline, &at_online] {
        assert_eq!(
            introspect(&server, &ministry, at).await,
            serde_json::json!({"active": false})
        );
        assert_eq!(userinfo_status(&server, at).await, 401);
    }
    // The other portal keeps its access.
    let at_other = s(&other, "access_token");
    assert_eq!(introspect(&server, &tax, &at_other).await["active"], true);
    assert_eq!(userinfo_status(&server, &at_other).await, 200);

    // The page lists only the other portal now.
    let page = browser.get("/account").await.text().await.unwrap();
    assert!(page.contains("value=\"tax\""));
    assert!(!page.contains("value=\"ministry\""));

    // Audited: the three consents given, and the withdrawal.
    let given = server
        .provider()
        .store
        .audit()
        .recent("consent_given", 10)
        .await
        .unwrap();
    assert_eq!(given.len(), 3);
    assert!(
        given
            .iter()
            .all(|e| e.detail.starts_with("scopes: ") && e.detail.contains("openid"))
    );
    let events = server
        .provider()
        .store
        .audit()
        .recent("consent_withdrawn", 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].account_id.as_deref(), Some(account.as_str()));
    assert_eq!(events[0].client_id.as_deref(), Some("ministry"));

    // Signed in still, the person is asked for consent again by the portal.
    let next = browser.follow(&server.authorize_url(&ministry, &[])).await;
    assert!(next.starts_with("/consent"), "{next}");
}
