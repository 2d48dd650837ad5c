//! `/authorize` errors: a page when the client or redirect URI is not trusted, a
//! redirect with `error`, `error_description`, `state` and `iss` otherwise.

use portico::store::AuthMethod;

use crate::common::*;

async fn assert_error_page(server: &TestServer, url: &str, code: &str) {
    let r = Browser::new(server).get(url).await;
    assert_eq!(r.status(), 400, "{url}");
    assert!(location(r.headers()).is_none(), "must never redirect");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = r.text().await.unwrap();
    assert!(html.contains(code), "{html}");
}

#[tokio::test]
async fn unregistered_redirect_uri_shows_a_page_and_never_redirects() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    for bad in [
        "https://attacker.example/cb",
        "http://127.0.0.1:9/ministry/cb/",
        "http://127.0.0.1:9/ministry/cb?x=1",
        "http://127.0.0.1:9/ministry/CB",
    ] {
        assert_error_page(
            &server,
            &server.authorize_url(&client, &[("redirect_uri", bad)]),
            "invalid_request",
        )
        .await;
    }
    // Missing redirect_uri too.
    assert_error_page(
        &server,
        &server.authorize_url(&client, &[("redirect_uri", "")]),
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn unknown_client_shows_a_page() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let url = server.authorize_url(&client, &[("client_id", "nobody")]);
    assert_error_page(&server, &url, "invalid_client").await;
}

async fn redirect_error(
    server: &TestServer,
    client: &TestClient,
    extra: &[(&str, &str)],
) -> std::collections::HashMap<String, String> {
    let browser = Browser::new(server);
    let to = browser.follow(&server.authorize_url(client, extra)).await;
    assert!(to.starts_with(&client.redirect_uri), "{to}");
    let q = query(&to);
    assert_eq!(q["iss"], server.base);
    assert!(q.contains_key("error_description"));
    assert!(!q.contains_key("code"));
    q
}

#[tokio::test]
async fn prompt_none_without_a_session_answers_login_required() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let q = redirect_error(&server, &client, &[("prompt", "none")]).await;
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["state"], "st-1");
}

#[tokio::test]
async fn request_errors_redirect_with_the_rfc_codes() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let public = server.client("app", AuthMethod::None).await;
    type Case<'a> = (&'a TestClient, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            &client,
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (&client, vec![("response_type", "")], "invalid_request"),
        (&client, vec![("scope", "profile")], "invalid_scope"),
        (
            &client,
            vec![("code_challenge_method", "plain")],
            "invalid_request",
        ),
        (
            &client,
            vec![("code_challenge_method", "")],
            "invalid_request",
        ),
        (
            &client,
            vec![("code_challenge", "tooshort")],
            "invalid_request",
        ),
        (
            &public,
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "invalid_request",
        ),
        (&client, vec![("prompt", "none login")], "invalid_request"),
        (&client, vec![("prompt", "sometimes")], "invalid_request"),
        (&client, vec![("max_age", "soon")], "invalid_request"),
        (
            &client,
            vec![("response_mode", "fragment")],
            "invalid_request",
        ),
        (
            &client,
            vec![("request", "eyJhbGciOiJub25lIn0.e30.")],
            "request_not_supported",
        ),
        (
            &client,
            vec![("request_uri", "https://rp.example/req")],
            "request_uri_not_supported",
        ),
        (
            &client,
            vec![("acr_values", "urn:portico:loa:4")],
            "unmet_authentication_requirements",
        ),
    ];
    for (c, extra, expected) in cases {
        let q = redirect_error(&server, c, &extra).await;
        assert_eq!(q["error"], expected, "{extra:?}");
        assert_eq!(q["state"], "st-1", "{extra:?}");
    }
}

#[tokio::test]
async fn repeated_parameters_are_refused() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let url = format!("{}&scope=openid", server.authorize_url(&client, &[]));
    let q = redirect_error_raw(&server, &client, &url).await;
    assert_eq!(q["error"], "invalid_request");
    let url = format!(
        "{}&redirect_uri=https%3A%2F%2Fevil.example",
        server.authorize_url(&client, &[])
    );
    assert_error_page(&server, &url, "invalid_request").await;
}

async fn redirect_error_raw(
    server: &TestServer,
    client: &TestClient,
    url: &str,
) -> std::collections::HashMap<String, String> {
    let to = Browser::new(server).follow(url).await;
    assert!(to.starts_with(&client.redirect_uri), "{to}");
    query(&to)
}

#[tokio::test]
async fn post_authorize_works_like_get() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let url = server.authorize_url(&client, &[("prompt", "none")]);
    let params: Vec<(String, String)> = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let browser = Browser::new(&server);
    // A browser that holds its cookie (a POST without one is moved to a GET).
    browser.get("/account").await;
    let r = browser
        .http
        .post(server.url("/authorize"))
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        query(&location(r.headers()).unwrap())["error"],
        "login_required"
    );
}

#[tokio::test]
async fn login_form_without_csrf_token_is_refused_and_loses_nothing() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let html = browser.get(&login).await.text().await.unwrap();
    let request = hidden(&html, "request").unwrap();
    for csrf in [None, Some("forged"), Some("")] {
        let mut form = vec![
            ("request", request.as_str()),
            ("source", "password"),
            ("username", "mai"),
            ("password", PASSWORD),
        ];
        if let Some(c) = csrf {
            form.push(("csrf", c));
        }
        let r = browser.post_form("/login", &form).await;
        assert_eq!(r.status(), 403);
        assert!(location(r.headers()).is_none());
        assert!(r.text().await.unwrap().contains("csrf_token_invalid"));
    }
    // The request survives and completes with the real token.
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn a_login_request_belongs_to_the_browser_that_started_it() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let login = Browser::new(&server)
        .follow(&server.authorize_url(&client, &[]))
        .await;
    let other = Browser::new(&server);
    // A browser with no cookie at all, then one with its own cookie.
    let r = other.get(&login).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("another browser"));
    other.follow(&server.authorize_url(&client, &[])).await;
    let r = other.get(&login).await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let r = browser.get(&login).await;
    let h = r.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["referrer-policy"], "no-referrer");
}

#[tokio::test]
async fn the_pages_assets_are_served_and_the_icon_answers_at_favicon_ico() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    for (path, content_type) in [
        ("/static/portico.css", "text/css; charset=utf-8"),
        ("/static/favicon.svg", "image/svg+xml"),
        // Browsers ask for it on their own, for any page of the origin.
        ("/favicon.ico", "image/svg+xml"),
    ] {
        let r = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], content_type, "{path}");
    }
    let page = http
        .get(server.url("/authorize?client_id=nobody"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"<link rel="icon" href="/static/favicon.svg""#));
}
