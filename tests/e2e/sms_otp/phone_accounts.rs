//! The number signs in to the account whose *verified* phone it is, whichever source
//! verified it (here the operator, with `portico account add --phone ...
//! --phone-verified`), with no login of its own for the number; an unverified phone
//! counts for nothing; two accounts with the same verified phone get neither signed in
//! (numbers are recycled), a page says so and the audit trail names both accounts.

use portico::store::AuthMethod;

use super::step_up::password_session;
use super::*;
use crate::account_attributes::account_add;

/// A server with the SMS source on a database where `portico account add` (the real
/// binary) made each of `accounts` first.
async fn start_after(accounts: &[&[&str]]) -> (TestServer, Gateway) {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(dir.path()).await;
    for args in accounts {
        let out = account_add(dir.path(), &database.url, args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (gateway, url) = Gateway::start().await;
    let server = TestServer::start_on(database, dir, &sources_toml(&url, "", "")).await;
    (server, gateway)
}

/// A new browser's SMS login at the portal with `typed`: the response to the code.
async fn sms_login(
    server: &TestServer,
    client: &TestClient,
    gateway: &Gateway,
    typed: &str,
) -> (Browser, reqwest::Response) {
    let browser = Browser::new(server);
    let number = number_page(server, &browser, client).await;
    let page = code_page(&browser, &number, typed).await;
    let done = post(&browser, &page, &[("code", &gateway.last_code())]).await;
    (browser, done)
}

async fn accounts(server: &TestServer) -> i64 {
    SideDoor::open(server.database_url())
        .await
        .count("SELECT COUNT(*) FROM accounts")
        .await
}

#[tokio::test]
async fn an_sms_login_lands_in_the_account_whose_verified_phone_it_is() {
    let (server, gateway) = start_after(&[
        &[
            "--username",
            "lan",
            "--name",
            "Lê Thị Lan",
            "--phone",
            "+84912345678",
            "--phone-verified",
        ],
        // The operator did not check this one: it finds nothing.
        &["--username", "tuan", "--phone", "+84988777666"],
    ])
    .await;
    let client = server.client("tax", AuthMethod::ClientSecretBasic).await;
    let by_password = password_session(&server, &Browser::new(&server), &client, "lan").await;
    let lan = by_password["sub"].as_str().unwrap().to_owned();

    let (browser, done) = sms_login(&server, &client, &gateway, "0912 345 678").await;
    assert_eq!(done.status(), 303, "{}", done.text().await.unwrap());
    let next = location(done.headers()).unwrap();
    let next = if next.starts_with("/consent") {
        browser.submit_consent(&next, true).await
    } else {
        next
    };
    let code = code_from(&next, &server, &client);
    let tokens: serde_json::Value = server
        .exchange(&client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], lan.as_str(), "the account whose phone it is");
    assert_eq!(claims["amr"], serde_json::json!(["sms"]));
    assert_eq!(accounts(&server).await, 2, "no account made for the number");
    let audit = server
        .provider()
        .store
        .audit()
        .recent("login_verified_phone_found", 5)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].account_id.as_deref(), Some(lan.as_str()));
    assert!(!audit[0].detail.contains("912345678"), "{:?}", audit[0]);
    // No login of the number's own was written: the account's phone is the link.
    let mut db = SideDoor::open(server.database_url()).await;
    assert_eq!(
        db.count("SELECT COUNT(*) FROM identities WHERE source_id = 'mobile'")
            .await,
        0
    );

    // The unverified phone: the number makes an account of its own.
    server.clock.advance(61);
    let tuan = server
        .provider()
        .store
        .identities()
        .account_of("password", "tuan")
        .await
        .unwrap()
        .unwrap();
    let (_, done) = sms_login(&server, &client, &gateway, "0988 777 666").await;
    assert_eq!(done.status(), 303);
    assert_eq!(accounts(&server).await, 3, "a new account for the number");
    let holder = server
        .provider()
        .store
        .identities()
        .account_of("mobile", "+84988777666")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(holder, tuan, "not the account whose phone is unverified");
}

#[tokio::test]
async fn two_accounts_with_the_same_verified_phone_get_neither_signed_in() {
    let phone = [
        "--phone",
        "+84912345678",
        "--phone-verified",
        "--name",
        "Nguyễn Văn An",
    ];
    let first: Vec<&str> = ["--username", "an-cu"]
        .iter()
        .chain(&phone)
        .copied()
        .collect();
    let second: Vec<&str> = ["--username", "an-moi"]
        .iter()
        .chain(&phone)
        .copied()
        .collect();
    let (server, gateway) = start_after(&[&first, &second]).await;
    let client = server.client("tax", AuthMethod::ClientSecretBasic).await;

    let (_, done) = sms_login(&server, &client, &gateway, "+84 912 345 678").await;
    assert_eq!(done.status(), 200, "the login page again, no redirect");
    assert!(
        done.headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().contains("portico_session")),
        "no session"
    );
    let html = done.text().await.unwrap();
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(
        html.contains("recorded as the verified phone of more than one account"),
        "{html}"
    );
    assert_eq!(accounts(&server).await, 2, "nothing made");
    let mut db = SideDoor::open(server.database_url()).await;
    assert_eq!(db.count("SELECT COUNT(*) FROM sessions").await, 0);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM identities WHERE source_id = 'mobile'")
            .await,
        0
    );
    let audit = server
        .provider()
        .store
        .audit()
        .recent("login_phone_ambiguous", 5)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    let store = &server.provider().store;
    for username in ["an-cu", "an-moi"] {
        let id = store
            .identities()
            .account_of("password", username)
            .await
            .unwrap()
            .unwrap();
        assert!(audit[0].detail.contains(&id), "{:?}", audit[0]);
    }
    assert!(audit[0].detail.contains("source=mobile"), "{:?}", audit[0]);
    assert!(!audit[0].detail.contains("912345678"), "never the number");
}
