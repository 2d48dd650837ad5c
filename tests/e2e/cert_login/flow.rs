//! The browser steps of a certificate login, and what a test checks after one.

use super::pki::*;
use crate::common::*;

/// A browser that presents `holder`'s certificate (or none) and trusts the listener.
pub(super) fn browser(server: &TestServer, pki: &Pki, holder: Option<&Holder>) -> Browser {
    browser_in(server, pki, holder, "en")
}

/// As [`browser`], asking for pages in `language`.
pub(super) fn browser_in(
    server: &TestServer,
    pki: &Pki,
    holder: Option<&Holder>,
    language: &'static str,
) -> Browser {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_LANGUAGE,
        reqwest::header::HeaderValue::from_static(language),
    );
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pki.listener.0.as_bytes()).unwrap());
    if let Some(h) = holder {
        builder = builder.identity(reqwest::Identity::from_pem(h.pem.as_bytes()).unwrap());
    }
    Browser::with_client(&server.base, builder.build().unwrap())
}

/// From the authorization request to the main origin's answer after the listener.
pub(super) async fn certificate_login(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
    port: u16,
) -> reqwest::Response {
    let login = browser
        .follow(&server.authorize_url(
            client,
            &[
                ("acr_values", "urn:portico:loa:4"),
                ("scope", "openid profile national_id enterprise"),
            ],
        ))
        .await;
    let html = browser.get(&login).await.text().await.unwrap();
    let request = login.trim_start_matches("/login?request=");
    let link = format!("/login/gov-pki?request={request}");
    assert!(
        html.contains(&link),
        "the page offers the certificate: {html}"
    );
    assert!(
        !html.contains("name=\"password\""),
        "a password cannot reach level 4"
    );
    let away = browser.follow(&link).await;
    let prefix = format!("https://127.0.0.1:{port}/certificate/");
    assert!(away.starts_with(&prefix), "{away}");
    assert!(query(&away).contains_key("handoff"), "{away}");
    let back = browser.follow(&away).await;
    assert!(
        back.starts_with(&server.url("/login/gov-pki/callback?handoff=")),
        "{back}"
    );
    assert!(
        !back.contains("national_id"),
        "nothing verified travels in the URL"
    );
    browser.get(&back).await
}

pub(super) fn claims_of(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// A full login with `holder`: the ID token's claims and userinfo.
pub(super) async fn signed_in(
    server: &TestServer,
    pki: &Pki,
    client: &TestClient,
    port: u16,
    holder: &Holder,
) -> (serde_json::Value, serde_json::Value) {
    let b = browser(server, pki, Some(holder));
    let done = certificate_login(server, &b, client, port).await;
    assert_eq!(done.status(), 303, "{:?}", done.text().await);
    let code = code_from(&location(done.headers()).unwrap(), server, client);
    let tokens: serde_json::Value = server
        .exchange(client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let userinfo = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (claims_of(tokens["id_token"].as_str().unwrap()), userinfo)
}

/// The refusal page for `holder`, its audit, and no session.
pub(super) async fn refused(
    server: &TestServer,
    pki: &Pki,
    client: &TestClient,
    port: u16,
    holder: Option<&Holder>,
    title: &str,
    reason: &str,
) {
    let b = browser(server, pki, holder);
    let page = certificate_login(server, &b, client, port).await;
    assert_eq!(page.status(), 403, "{reason}");
    let cookies: Vec<_> = page
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter(|c| c.to_str().unwrap().contains("session"))
        .collect();
    assert!(cookies.is_empty(), "no session on a refusal: {cookies:?}");
    let html = page.text().await.unwrap();
    assert!(html.contains(title), "{reason}: {html}");
    assert!(html.contains("Try again"), "{html}");
    assert!(html.contains("href=\"/login/gov-pki?request="), "{html}");
    assert!(html.contains("Use another way to sign in"), "{html}");
    let audit = server
        .provider()
        .store
        .audit()
        .recent("login_certificate_refused", 1)
        .await
        .unwrap();
    let detail = &audit[0].detail;
    assert!(detail.contains(&format!("reason={reason}")), "{detail}");
    // The refusal came back through the callback: counted and audited as a failed login.
    let failed = server
        .provider()
        .store
        .audit()
        .recent("login_failed", 1)
        .await
        .unwrap();
    let failed = &failed[0].detail;
    assert!(
        failed.contains("source=gov-pki")
            && failed.contains(&format!("reason=certificate_{reason} "))
            && failed.contains("address="),
        "{failed}"
    );
    if let Some(h) = holder {
        let serial: String = h
            .serial
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        assert!(detail.contains(&format!("serial={serial}")), "{detail}");
        assert!(detail.contains("CN=Test"), "the issuer is named: {detail}");
    }
}

pub(super) async fn start(
    pki: &Pki,
    crls: &[String],
    extra: &str,
) -> (TestServer, u16, TestClient) {
    let port = free_port();
    let server = TestServer::start_with(&pki.source(port, crls, extra)).await;
    let client = server
        .client_with(
            "portal",
            portico::store::AuthMethod::ClientSecretBasic,
            true,
            portico::crypto::SigningAlg::ES256,
        )
        .await;
    (server, port, client)
}
