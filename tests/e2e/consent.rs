//! Consent given on two pages at once: both grants are remembered.

use portico::store::AuthMethod;

use crate::common::*;

/// Rounds of the race. Against the read-merge-write grant this test replaced, both
/// grants read the consent before either wrote it, and one was lost, in about half the
/// rounds on PostgreSQL and in one to five rounds of 100 on SQLite (whose statements
/// run without yielding, so the window is narrow): 4 runs of 5 failed on SQLite, every
/// run on PostgreSQL.
const ROUNDS: usize = 100;

/// The consent page's form, filled in to allow.
async fn allow_form(browser: &Browser, consent_url: &str) -> Vec<(&'static str, String)> {
    let page = browser.get(consent_url).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    vec![
        ("request", hidden(&html, "request").unwrap()),
        ("csrf", hidden(&html, "csrf").unwrap()),
        ("decision", "allow".to_owned()),
    ]
}

async fn post(browser: &Browser, form: &[(&'static str, String)]) -> String {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = browser.post_form("/consent", &form).await;
    assert_eq!(r.status(), 303);
    location(r.headers()).unwrap()
}

// Two worker threads, so that the two consents run in parallel in the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consents_given_at_once_are_both_remembered() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let home = server
        .client_with(
            "home",
            AuthMethod::ClientSecretBasic,
            true,
            portico::crypto::SigningAlg::ES256,
        )
        .await;
    let browser = Browser::new(&server);
    server.sign_in(&browser, &home, "mai").await;

    let mut lost = Vec::new();
    for round in 0..ROUNDS {
        // A portal Mai has not consented to yet, asked two scope sets on two pages.
        let client = server
            .client(&format!("portal-{round}"), AuthMethod::ClientSecretBasic)
            .await;
        let ask = |scope| server.authorize_url(&client, &[("scope", scope)]);
        let profile = browser.follow(&ask("openid profile")).await;
        let email = browser.follow(&ask("openid email")).await;
        assert!(profile.starts_with("/consent?request="), "{profile}");
        assert!(email.starts_with("/consent?request="), "{email}");
        let (profile, email) = (
            allow_form(&browser, &profile).await,
            allow_form(&browser, &email).await,
        );
        let (a, b) = tokio::join!(post(&browser, &profile), post(&browser, &email));
        code_from(&a, &server, &client);
        code_from(&b, &server, &client);

        // The union of the two was granted: no consent page.
        let both = browser.follow(&ask("openid profile email")).await;
        if !both.starts_with(&client.redirect_uri) {
            lost.push(round);
        }
    }
    assert!(lost.is_empty(), "a grant was lost in rounds {lost:?}");
}
