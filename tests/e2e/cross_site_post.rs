//! A portal's cross-site form POST to `/authorize` (issue 22, finding 11). Such a POST
//! carries no SameSite=Lax cookie, so answering it by minting a browser cookie would
//! replace the real one and break a sign-in pending in another tab.

use std::sync::Arc;

use portico::store::AuthMethod;
use reqwest::cookie::Jar;
use reqwest::header::{ACCEPT_LANGUAGE, HeaderValue};

use crate::common::*;

/// A browser whose cookie jar the test can also write to, as a real browser stores the
/// cookies of a response to a request that did not send them.
fn browser_with(jar: Arc<Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(
            [(ACCEPT_LANGUAGE, HeaderValue::from_static("en"))]
                .into_iter()
                .collect(),
        )
        .build()
        .unwrap()
}

async fn submit_login(
    http: &reqwest::Client,
    server: &TestServer,
    login: &str,
) -> reqwest::Response {
    let page = http.get(server.url(login)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    http.post(server.url("/login"))
        .form(&[
            ("request", hidden(&html, "request").unwrap().as_str()),
            ("csrf", hidden(&html, "csrf").unwrap().as_str()),
            ("source", "password"),
            ("username", "mai"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn rfc9700_4_4_cross_site_post_to_authorize_keeps_the_browser_cookie() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let base = url::Url::parse(&server.base).unwrap();
    let jar = Arc::new(Jar::default());
    let http = browser_with(jar.clone());

    // A sign-in pending in one tab.
    let r = http
        .get(server.authorize_url(&client, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let pending = location(r.headers()).unwrap();
    assert!(pending.starts_with("/login?request="), "{pending}");

    // In another tab, a portal's page posts a form to /authorize: cross-site, so the
    // browser sends no cookie, but it keeps any cookie the answer sets.
    let params: Vec<(String, String)> = url::Url::parse(&server.authorize_url(&client, &[]))
        .unwrap()
        .query_pairs()
        .into_owned()
        .chain([("unknown".to_owned(), "ignored".to_owned())])
        .collect();
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(server.url("/authorize"))
        .form(&params)
        .send()
        .await
        .unwrap();
    for cookie in r.headers().get_all("set-cookie") {
        jar.add_cookie_str(cookie.to_str().unwrap(), &base);
    }
    // The first tab's sign-in still works.
    let login = submit_login(&http, &server, &pending).await;
    assert_eq!(login.status(), 303, "{}", login.text().await.unwrap());
    let next = location(login.headers()).unwrap();
    assert!(next.starts_with("/consent?request="), "{next}");

    assert_eq!(r.status(), 303);
    let moved = location(r.headers()).unwrap();
    assert!(moved.starts_with("/authorize?"), "{moved}");
    assert!(
        !moved.contains("unknown"),
        "only the parameters Portico reads: {moved}"
    );
    assert!(
        r.headers().get("set-cookie").is_none(),
        "no browser cookie minted over the real one"
    );
    // The browser follows it as a top-level GET, with its cookies (the session too).
    let r = http.get(server.url(&moved)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let second = location(r.headers()).unwrap();

    // Signed in by then: on to consent, like the first tab.
    assert!(second.starts_with("/consent?request="), "{second}");
}
