//! Passkeys without a browser's authenticator: the `/account` forms (CSRF, the
//! ten-minute rule, a registration ceremony taken once) and a sign-in ceremony that is
//! refused and cannot be replayed. `step_up` runs the ceremonies with a software
//! authenticator (`authenticator`): a passkey as the second factor after a password;
//! tests/browser runs them in Chromium.

mod authenticator;
mod autofill;
mod step_up;

use crate::common::*;

const SOURCES: &str = "[[sources]]\nid = \"password\"\nkind = \"password\"\n\n\
                       [[sources]]\nid = \"passkey\"\nkind = \"webauthn\"\nloa = 3\n";

async fn start() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(dir.path()).await;
    TestServer::start_named(database, dir, "localhost", SOURCES).await
}

async fn signed_in(server: &TestServer) -> (Browser, String) {
    server.account("mai").await;
    let browser = Browser::new(server);
    let login = browser.follow(&server.url("/account")).await;
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    assert_eq!(location(r.headers()).unwrap(), "/account");
    let html = browser.get("/account").await.text().await.unwrap();
    assert!(html.contains("You have no passkey yet"), "{html}");
    let csrf = hidden(&html, "csrf").unwrap();
    (browser, csrf)
}

#[tokio::test]
async fn registering_a_passkey_needs_the_csrf_token_a_recent_sign_in_and_is_taken_once() {
    let server = start().await;
    let (browser, csrf) = signed_in(&server).await;

    for bad in [None, Some("not-the-token")] {
        let mut form = vec![];
        if let Some(bad) = bad {
            form.push(("csrf", bad));
        }
        let r = browser.post_form("/account/passkeys/new", &form).await;
        assert_eq!(r.status(), 403, "{bad:?}");
    }

    let r = browser
        .post_form("/account/passkeys/new", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.ends_with("; script-src 'self'"), "{csp}");
    let html = r.text().await.unwrap();
    assert!(html.contains("data-webauthn=\"create\""), "{html}");
    assert!(html.contains("\"residentKey\":\"required\""), "{html}");
    let handle = hidden(&html, "handle").unwrap();

    // Not a credential: refused, and the ceremony is used up.
    let register = |credential: &'static str| {
        let (browser, csrf, handle) = (&browser, csrf.clone(), handle.clone());
        async move {
            browser
                .post_form(
                    "/account/passkeys/register",
                    &[
                        ("csrf", &csrf),
                        ("handle", &handle),
                        ("name", "Laptop"),
                        ("credential", credential),
                    ],
                )
                .await
        }
    };
    let r = register("{\"id\":\"x\"}").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("could not be verified"));
    let r = register("{\"id\":\"x\"}").await;
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("expired or was already used")
    );

    // A sign-in more than ten minutes ago: sign in again first.
    let mut db = SideDoor::open(server.database_url()).await;
    db.execute("UPDATE sessions SET auth_time = auth_time - 601")
        .await;
    let r = browser
        .post_form("/account/passkeys/new", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("within the last 10 minutes")
    );

    // Rename and remove need the token too.
    for path in ["/account/passkeys/rename", "/account/passkeys/remove"] {
        let r = browser
            .post_form(path, &[("passkey", "p"), ("name", "x")])
            .await;
        assert_eq!(r.status(), 403, "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_passkey_sign_in_is_hidden_without_script_refused_once_and_not_replayed() {
    let server = start().await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.url("/account")).await;
    let html = browser.get(&login).await.text().await.unwrap();
    // Without the script the passkey offer is hidden; the page loads the script.
    assert!(
        html.contains(
            "data-passkey hidden><a class=\"button\" href=\"/login/passkey?request=account\""
        ),
        "{html}"
    );
    assert!(html.contains("<script src=\"/static/passkey.js\" defer></script>"));
    let script = browser.get("/static/passkey.js").await;
    assert_eq!(script.status(), 200);
    assert!(
        script
            .text()
            .await
            .unwrap()
            .contains("navigator.credentials.get")
    );

    let r = browser.get("/login/passkey?request=account").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-webauthn=\"get\""), "{html}");
    let (attempt, csrf) = (
        hidden(&html, "attempt").unwrap(),
        hidden(&html, "csrf").unwrap(),
    );
    let form = [
        ("request", "account"),
        ("csrf", csrf.as_str()),
        ("attempt", attempt.as_str()),
        (
            "credential",
            "{\"id\":\"x\",\"rawId\":\"eA\",\"type\":\"public-key\"}",
        ),
    ];
    let post = || browser.post_form("/login/passkey", &form);
    // Refused: the login page again, saying so.
    let r = post().await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("role=\"alert\""), "{html}");
    // The same attempt again: gone.
    let r = post().await;
    assert_eq!(r.status(), 400);
    server.stop().await;
}
