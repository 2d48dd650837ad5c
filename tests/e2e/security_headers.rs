//! Transport and form headers (issue 22, finding 9): HSTS on an https issuer, and a page
//! CSP whose `form-action` lets forms reach Portico and, on the login, consent and
//! logout-confirmation pages, the one portal origin the flow leads to.

use std::sync::Arc;

use portico::store::AuthMethod;

use crate::common::*;
use crate::logout::urlencode;

const PORTAL: &str = "https://portal.example:8443";

fn csp(r: &reqwest::Response) -> String {
    r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned()
}

fn form_action(csp: &str) -> &str {
    csp.split(';')
        .map(str::trim)
        .find(|d| d.starts_with("form-action"))
        .unwrap_or_else(|| panic!("no form-action: {csp}"))
}

async fn portal(server: &TestServer) -> TestClient {
    let reg = portico::oidc::registration::ClientRegistration {
        auth_method: Some(AuthMethod::ClientSecretBasic),
        post_logout_redirect_uris: vec![format!("{PORTAL}/bye")],
        ..portico::oidc::registration::ClientRegistration::new(
            "portal",
            vec![format!("{PORTAL}/cb")],
        )
    };
    let reg = portico::oidc::registration::ClientRegistration {
        grant_types: server.registration("portal").grant_types,
        ..reg
    };
    server.register(reg).await
}

#[tokio::test]
async fn asvs_14_4_login_and_consent_forms_may_reach_only_portico_and_the_redirect_origin() {
    let server = TestServer::start().await;
    let client = portal(&server).await;
    server.account("an").await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let page = browser.get(&login).await;
    assert_eq!(
        form_action(&csp(&page)),
        format!("form-action 'self' {PORTAL}")
    );

    let r = browser.submit_login(&login, "an", PASSWORD).await;
    assert_eq!(r.status(), 303);
    let consent = location(r.headers()).unwrap();
    assert!(consent.starts_with("/consent"), "{consent}");
    let page = browser.get(&consent).await;
    assert_eq!(
        form_action(&csp(&page)),
        format!("form-action 'self' {PORTAL}")
    );
    // And the consent form's answer goes there, which the policy allows.
    let redirect = browser.submit_consent(&consent, true).await;
    assert!(redirect.starts_with(&format!("{PORTAL}/cb?")), "{redirect}");
    server.stop().await;
}

#[tokio::test]
async fn asvs_14_4_other_pages_forms_may_reach_only_portico() {
    let server = TestServer::start().await;
    let client = portal(&server).await;
    let browser = Browser::new(&server);
    // The account page's own login, an error page, a logout confirmation going nowhere.
    for path in [
        "/login?request=account".to_owned(),
        "/no-such-page".to_owned(),
        "/end_session".to_owned(),
    ] {
        let r = browser.get(&server.url(&path)).await;
        assert_eq!(form_action(&csp(&r)), "form-action 'self'", "{path}");
    }
    // A confirmed logout may redirect to the registered post-logout URI: allowed there.
    server.account("an").await;
    browser
        .authorize_interactively(&server.authorize_url(&client, &[]), "an")
        .await;
    let r = browser
        .get(&format!(
            "{}?client_id={}&post_logout_redirect_uri={}",
            server.url("/end_session"),
            client.id,
            urlencode(&format!("{PORTAL}/bye"))
        ))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        form_action(&csp(&r)),
        format!("form-action 'self' {PORTAL}")
    );
    server.stop().await;
}

#[tokio::test]
async fn rfc6797_hsts_on_every_response_of_an_https_issuer_only() {
    let http = TestServer::start().await;
    let r = reqwest::get(http.url("/healthz")).await.unwrap();
    assert!(r.headers().get("strict-transport-security").is_none());
    http.stop().await;

    // An https issuer behind a TLS-terminating proxy: Portico itself speaks http.
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let toml = format!(
        "issuer = \"https://id.example.gov\"\ndatabase_url = \"{}\"\nkeys_dir = \"{}\"\n\
         [password]\nmemory_kib = 8192\niterations = 1\n",
        database.url,
        dir.path().join("keys").display()
    );
    let config = portico::config::Config::from_parts(&toml, &[]).unwrap();
    let clock = Arc::new(portico::clock::OffsetClock::default());
    let app = Arc::new(portico::app::App::start(config, clock).await.unwrap());
    let server = portico::server::serve(listener, app).unwrap();
    for path in [
        "/healthz",
        "/jwks",
        "/.well-known/openid-configuration",
        "/login",
        "/nope",
    ] {
        let r = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(
            r.headers()["strict-transport-security"],
            "max-age=31536000; includeSubDomains",
            "{path}"
        );
    }
    server.stop().await.unwrap();
}
