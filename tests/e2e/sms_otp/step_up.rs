//! The SMS code as a second factor: a level-2 password session asked for level 3 steps
//! up on the same session by a code sent to the account's verified phone.

use super::*;

/// A password account whose verified phone is `+84912345678`: its subject.
pub(super) async fn account_with_phone(server: &TestServer, username: &str) -> String {
    use portico::model::Attributes;
    use portico::secret::Secret;
    use portico::store::{AccountKind, NewAccount};
    let p = server.provider();
    let hash = p.passwords.hash(&Secret::new(PASSWORD)).await.unwrap();
    let new = NewAccount {
        kind: Some(AccountKind::Citizen),
        attributes: Attributes::default()
            .with_entry("name", "Trần Văn Bình", false, 0)
            .with_entry("phone_number", "+84912345678", true, 0),
    };
    p.store
        .accounts()
        .create_with_password(&new, "password", username, &hash, p.now())
        .await
        .unwrap()
        .to_string()
}

/// A password login for a request with no level: the portal's ID token claims.
pub(super) async fn password_session(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
    username: &str,
) -> serde_json::Value {
    let redirect = browser
        .authorize_interactively(&server.authorize_url(client, &[]), username)
        .await;
    let code = code_from(&redirect, server, client);
    let tokens: serde_json::Value = server
        .exchange(client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    claims_of(tokens["id_token"].as_str().unwrap())
}

/// A request asking more than the session has, from the login page on: the password is
/// not offered (nor begun from a crafted URL), the SMS code is; answers the claims.
async fn step_up(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
    extra: &[(&str, &str)],
    gateway: &Gateway,
) -> serde_json::Value {
    let login = browser.follow(&server.authorize_url(client, extra)).await;
    assert!(login.starts_with("/login?request="), "a new login: {login}");
    let request = login.trim_start_matches("/login?request=");
    let chooser = browser.get(&login).await.text().await.unwrap();
    assert!(!chooser.contains("name=\"password\""), "{chooser}");
    assert!(chooser.contains(&format!("/login/mobile?request={request}")));
    let crafted = browser
        .get(&format!("/login/password?request={request}"))
        .await;
    assert_eq!(
        crafted.status(),
        400,
        "a source below the level is not begun"
    );
    let number = browser
        .get(&format!("/login/mobile?request={request}"))
        .await
        .text()
        .await
        .unwrap();
    let page = code_page(browser, &Page { html: number }, "0912 345 678").await;
    finish(server, browser, client, &page, &gateway.last_code()).await
}

#[tokio::test]
async fn step_up_a_level_2_password_session_to_level_3_by_sms_on_the_same_session() {
    let (server, gateway) = start().await;
    let sub = account_with_phone(&server, "binh").await;
    let client = server
        .client(
            "social-insurance",
            portico::store::AuthMethod::ClientSecretBasic,
        )
        .await;
    let browser = Browser::new(&server);
    let first = password_session(&server, &browser, &client, "binh").await;
    assert_eq!(first["acr"], "urn:portico:loa:2");
    assert_eq!(first["sub"], sub.as_str());
    let sid = first["sid"].as_str().expect("a sid").to_owned();

    let stepped = step_up(
        &server,
        &browser,
        &client,
        &[("acr_values", "urn:portico:loa:3")],
        &gateway,
    )
    .await;
    assert_eq!(stepped["acr"], "urn:portico:loa:3");
    assert_eq!(stepped["amr"], serde_json::json!(["pwd", "sms", "mfa"]));
    assert_eq!(stepped["sub"], sub.as_str(), "the same person");
    assert_eq!(stepped["sid"], sid.as_str(), "the same session");
    let audit = server
        .provider()
        .store
        .audit()
        .recent("login_second_factor", 5)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].account_id.as_deref(), Some(sub.as_str()));
    assert!(
        !audit[0].detail.contains("912345678"),
        "no number in the audit"
    );
    assert!(audit[0].detail.contains("source=mobile"), "{:?}", audit[0]);

    // Discovery lists every configured level, and the claims parameter.
    let meta: serde_json::Value = browser
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["acr_values_supported"],
        serde_json::json!(["urn:portico:loa:2", "urn:portico:loa:3"])
    );
    assert_eq!(meta["claims_parameter_supported"], true);

    // Asked for a level no configured method reaches: the portal is told, no login.
    let unmet = browser
        .get(&server.authorize_url(&client, &[("acr_values", "urn:portico:loa:4")]))
        .await;
    assert_eq!(unmet.status(), 303);
    let to = location(unmet.headers()).unwrap();
    assert_eq!(
        query(&to).get("error").map(String::as_str),
        Some("unmet_authentication_requirements"),
        "{to}"
    );
}

#[tokio::test]
async fn an_essential_acr_in_claims_steps_up_the_same_way() {
    let (server, gateway) = start().await;
    let sub = account_with_phone(&server, "binh").await;
    let client = server
        .client(
            "land-registry",
            portico::store::AuthMethod::ClientSecretBasic,
        )
        .await;
    let browser = Browser::new(&server);
    let first = password_session(&server, &browser, &client, "binh").await;
    let essential = r#"{"id_token":{"acr":{"essential":true,"values":["urn:portico:loa:3"]}}}"#;
    let stepped = step_up(
        &server,
        &browser,
        &client,
        &[("claims", essential)],
        &gateway,
    )
    .await;
    assert_eq!(stepped["acr"], "urn:portico:loa:3");
    assert_eq!(stepped["sub"], sub.as_str());
    assert_eq!(stepped["sid"], first["sid"]);
    let unmet = browser
        .get(&server.authorize_url(
            &client,
            &[(
                "claims",
                r#"{"id_token":{"acr":{"essential":true,"value":"urn:portico:loa:4"}}}"#,
            )],
        ))
        .await;
    let to = location(unmet.headers()).unwrap();
    assert_eq!(
        query(&to).get("error").map(String::as_str),
        Some("unmet_authentication_requirements"),
        "{to}"
    );
}

#[tokio::test]
async fn a_number_that_is_not_the_accounts_does_not_step_up_its_session() {
    let (server, gateway) = start().await;
    account_with_phone(&server, "binh").await;
    let client = server
        .client("tax", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let first = password_session(&server, &browser, &client, "binh").await;
    let login = browser
        .follow(&server.authorize_url(&client, &[("acr_values", "urn:portico:loa:3")]))
        .await;
    let request = login.trim_start_matches("/login?request=");
    let number = browser
        .get(&format!("/login/mobile?request={request}"))
        .await
        .text()
        .await
        .unwrap();
    let page = code_page(&browser, &Page { html: number }, "0988 777 666").await;
    let claims = finish(&server, &browser, &client, &page, &gateway.last_code()).await;
    assert_ne!(
        claims["sub"], first["sub"],
        "another person: the number's own account"
    );
    assert_ne!(claims["sid"], first["sid"]);
    assert_eq!(claims["amr"], serde_json::json!(["sms"]));
}
