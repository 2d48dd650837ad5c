//! The `claims` request parameter (OIDC Core section 5.5): claims asked for by name
//! reach UserInfo or the ID token beyond what the scopes give, after consent; a claim
//! the account lacks is absent; `acr` and `sub` with values are requirements of the
//! login; and nothing is released that was neither asked nor given by a scope.

use portico::store::AuthMethod;
use serde_json::{Value, json};

use crate::common::*;

fn payload(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn userinfo(server: &TestServer, access_token: &str) -> Value {
    let r = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn exchange_json(server: &TestServer, client: &TestClient, redirect: &str) -> Value {
    let code = code_from(redirect, server, client);
    let r = server.exchange(client, &code, VERIFIER).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn oidc_5_5_an_essential_userinfo_claim_is_released_with_openid_alone_after_consent() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let asked = r#"{"userinfo":{"national_id":{"essential":true},"shoe_size":{"essential":true}}}"#;
    let url = server.authorize_url(
        &client,
        &[("scope", "openid"), ("claims", asked), ("ui_locales", "vi")],
    );
    let login = browser.follow(&url).await;
    // The pending request stores the parameter as read: the unknown claim is not kept.
    let id = login.trim_start_matches("/login?request=");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
    );
    let mut db = SideDoor::open(server.database_url()).await;
    let sql = |like: &str| {
        format!(
            "SELECT COUNT(*) FROM pending_authorizations WHERE id = '{id}' AND request LIKE '%{like}%'"
        )
    };
    assert_eq!(db.count(&sql("national_id")).await, 1);
    assert_eq!(db.count(&sql("shoe_size")).await, 0);
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    let consent = location(r.headers()).unwrap();
    assert!(consent.starts_with("/consent?request="), "{consent}");
    // The consent page names the claim asked beyond the scopes, here in Vietnamese.
    let page = browser.get(&consent).await.text().await.unwrap();
    assert!(
        page.contains("Cổng dịch vụ cũng đề nghị được xem riêng"),
        "{page}"
    );
    assert!(page.contains("Số định danh cá nhân của bạn"), "{page}");
    let redirect = browser.submit_consent(&consent, true).await;
    let tokens = exchange_json(&server, &client, &redirect).await;
    assert_eq!(tokens["scope"], "openid");

    let claims = userinfo(&server, tokens["access_token"].as_str().unwrap()).await;
    let sub = claims["sub"].clone();
    // national_id asked by name; email, the names, its verified flag were not.
    assert_eq!(claims, json!({"sub": sub, "national_id": "001099000003"}));
    let id_token = payload(tokens["id_token"].as_str().unwrap());
    assert!(id_token.get("national_id").is_none(), "{id_token}");

    // Consent is remembered for the claim: the same request goes straight back.
    let again = browser.follow(&url).await;
    assert!(again.starts_with(&client.redirect_uri), "{again}");
    let tokens = exchange_json(&server, &client, &again).await;
    let claims = userinfo(&server, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["national_id"], "001099000003");

    // Another claim by name needs consent again; the page is in English when asked.
    let other = server.authorize_url(
        &client,
        &[
            ("scope", "openid"),
            ("claims", r#"{"userinfo":{"email":null}}"#),
            ("ui_locales", "en"),
        ],
    );
    let consent = browser.follow(&other).await;
    assert!(consent.starts_with("/consent?request="), "{consent}");
    let page = browser.get(&consent).await.text().await.unwrap();
    assert!(
        page.contains("It also asks for these details by name:"),
        "{page}"
    );
    assert!(page.contains("Your email address"), "{page}");
    assert!(
        !page.contains("Your national identification number"),
        "{page}"
    );

    // A claim a granted scope already gives asks nothing more.
    let by_scope = server.authorize_url(
        &client,
        &[
            ("scope", "openid"),
            ("claims", r#"{"userinfo":{"openid":null}}"#),
        ],
    );
    assert!(
        browser
            .follow(&by_scope)
            .await
            .starts_with(&client.redirect_uri)
    );
}

#[tokio::test]
async fn oidc_5_5_id_token_claims_reach_the_id_token_and_survive_a_refresh_and_lacked_ones_are_absent()
 {
    let server = TestServer::start().await;
    server.account("mai").await;
    // First party: no consent page, and still only what was asked is released.
    let client = server
        .client_with(
            "tax",
            AuthMethod::ClientSecretBasic,
            true,
            portico::crypto::SigningAlg::ES256,
        )
        .await;
    let asked = json!({
        "id_token": {"given_name": {"essential": true}, "family_name": null,
                     "birthdate": {"essential": true}, "acr": null},
        "userinfo": {"email": null, "phone_number": {"essential": true}}
    })
    .to_string();
    let browser = Browser::new(&server);
    let url = server.authorize_url(
        &client,
        &[("scope", "openid offline_access"), ("claims", &asked)],
    );
    let login = browser.follow(&url).await;
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    let tokens = exchange_json(&server, &client, &location(r.headers()).unwrap()).await;

    let check = |tokens: &Value| {
        let id = payload(tokens["id_token"].as_str().unwrap());
        assert_eq!(id["given_name"], "Mai", "{id}");
        assert_eq!(id["family_name"], "Nguyen", "{id}");
        // Essential but lacked: absent, never null and never invented.
        assert!(id.get("birthdate").is_none(), "{id}");
        // Asked for UserInfo only, or not at all: not in the ID token.
        assert!(
            id.get("email").is_none() && id.get("name").is_none(),
            "{id}"
        );
        assert!(id["acr"].is_string(), "{id}");
        id
    };
    check(&tokens);
    let claims = userinfo(&server, tokens["access_token"].as_str().unwrap()).await;
    let sub = claims["sub"].clone();
    assert_eq!(claims, json!({"sub": sub, "email": "mai@example.gov"}));

    // The refresh token family keeps both requests.
    let refreshed: Value = server
        .post_as(
            &client,
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    let id = check(&refreshed);
    assert_eq!(id["sub"], sub);
    let claims = userinfo(&server, refreshed["access_token"].as_str().unwrap()).await;
    assert_eq!(claims, json!({"sub": sub, "email": "mai@example.gov"}));
    // And once more from the rotated token's successor.
    let again: Value = server
        .post_as(
            &client,
            "/token",
            &[
                ("grant_type", "refresh_token"),
                (
                    "refresh_token",
                    refreshed["refresh_token"].as_str().unwrap(),
                ),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    check(&again);
}

#[tokio::test]
async fn oidc_5_5_a_malformed_claims_parameter_is_an_invalid_request_redirect() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let too_long = format!(
        r#"{{"userinfo":{{"email":null}},"x":"{}"}}"#,
        "y".repeat(5000)
    );
    for bad in [
        "{not json",
        "[\"email\"]",
        r#"{"userinfo":{"email":{"essential":"yes"}}}"#,
        r#"{"id_token":["name"]}"#,
        too_long.as_str(),
    ] {
        let r = browser
            .get(&server.authorize_url(&client, &[("claims", bad)]))
            .await;
        assert_eq!(r.status(), 303, "{bad}");
        let to = location(r.headers()).unwrap();
        assert!(to.starts_with(&client.redirect_uri), "{to}");
        let q = query(&to);
        assert_eq!(q["error"], "invalid_request", "{bad}");
        assert_eq!(q["state"], "st-1");
        assert!(q["error_description"].contains("claims"), "{q:?}");
    }
}

fn with_operator() -> String {
    "[[sources]]\nid = \"password\"\nkind = \"password\"\n\
     [[sources]]\nid = \"telco\"\nkind = \"test_two_step\"\n\
     display_name = { vi = \"Nhà mạng di động\", en = \"Mobile operator\" }\nloa = 3\n\
     other_origin = \"https://operator.example/authorize\"\ncode = \"246810\"\n\
     subject = \"84901234567\"\n"
        .to_owned()
}

#[tokio::test]
async fn oidc_5_5_1_1_an_essential_acr_above_the_session_forces_a_new_login() {
    let server = TestServer::start_with(&with_operator()).await;
    server.account("mai").await;
    let client = server
        .client_with(
            "tax",
            AuthMethod::ClientSecretBasic,
            true,
            portico::crypto::SigningAlg::ES256,
        )
        .await;
    let browser = Browser::new(&server);
    let tokens = server.sign_in(&browser, &client, "mai").await;
    assert_eq!(
        payload(tokens["id_token"].as_str().unwrap())["acr"],
        "urn:portico:loa:2"
    );

    let essential = r#"{"id_token":{"acr":{"essential":true,"values":["urn:portico:loa:3"]}}}"#;
    // With the level-2 session: a new login, where only the level-3 source is offered.
    let login = browser
        .follow(&server.authorize_url(&client, &[("claims", essential)]))
        .await;
    assert!(login.starts_with("/login?request="), "{login}");
    let html = browser.get(&login).await.text().await.unwrap();
    assert!(!html.contains("name=\"password\""), "{html}");
    assert!(html.contains("/login/telco?request="), "{html}");
    // prompt=none cannot ask for it.
    let to = browser
        .follow(&server.authorize_url(&client, &[("claims", essential), ("prompt", "none")]))
        .await;
    assert_eq!(query(&to)["error"], "login_required", "{to}");
    // Level 2 asked (essential or voluntary): the session is enough.
    for asked in [
        r#"{"id_token":{"acr":{"essential":true,"value":"urn:portico:loa:2"}}}"#,
        r#"{"id_token":{"acr":{"values":["urn:portico:loa:2"]}}}"#,
    ] {
        let to = browser
            .follow(&server.authorize_url(&client, &[("claims", asked), ("prompt", "none")]))
            .await;
        assert!(query(&to).contains_key("code"), "{to}");
    }
    // A voluntary acr above the session is a preference met when it can be, like
    // acr_values: a new login.
    let voluntary = r#"{"id_token":{"acr":{"values":["urn:portico:loa:3"]}}}"#;
    let to = browser
        .follow(&server.authorize_url(&client, &[("claims", voluntary)]))
        .await;
    assert!(to.starts_with("/login?request="), "{to}");
    // An essential acr no source offers fails at once.
    let unknown = r#"{"id_token":{"acr":{"essential":true,"values":["urn:elsewhere:gold"]}}}"#;
    let to = browser
        .follow(&server.authorize_url(&client, &[("claims", unknown)]))
        .await;
    assert_eq!(
        query(&to)["error"],
        "unmet_authentication_requirements",
        "{to}"
    );
}

#[tokio::test]
async fn oidc_5_5_1_a_sub_value_for_someone_else_is_refused() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client_with(
            "tax",
            AuthMethod::ClientSecretBasic,
            true,
            portico::crypto::SigningAlg::ES256,
        )
        .await;
    let other = r#"{"id_token":{"sub":{"value":"not-mai"}}}"#;
    // A fresh browser: the login succeeds, but it is not the person asked for.
    let browser = Browser::new(&server);
    let login = browser
        .follow(&server.authorize_url(&client, &[("claims", other)]))
        .await;
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    let to = location(r.headers()).unwrap();
    assert!(to.starts_with(&client.redirect_uri), "{to}");
    assert_eq!(query(&to)["error"], "access_denied", "{to}");
    assert!(!query(&to).contains_key("code"));

    // The login made a session: it does not count for another sub (prompt=none: login_required),
    // and it does for the right one.
    let to = browser
        .follow(&server.authorize_url(&client, &[("prompt", "none")]))
        .await;
    let tokens = exchange_json(&server, &client, &to).await;
    let sub = payload(tokens["id_token"].as_str().unwrap())["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let to = browser
        .follow(&server.authorize_url(&client, &[("claims", other), ("prompt", "none")]))
        .await;
    assert_eq!(query(&to)["error"], "login_required", "{to}");
    let right = json!({"id_token": {"sub": {"value": sub}}}).to_string();
    let to = browser
        .follow(&server.authorize_url(&client, &[("claims", &right), ("prompt", "none")]))
        .await;
    let tokens = exchange_json(&server, &client, &to).await;
    assert_eq!(payload(tokens["id_token"].as_str().unwrap())["sub"], sub);
}

#[tokio::test]
async fn discovery_says_the_claims_parameter_is_supported() {
    let server = TestServer::start().await;
    let doc: Value = reqwest::get(server.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["claims_parameter_supported"], true);
    let supported: Vec<&str> = doc["claims_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for claim in [
        "sub",
        "acr",
        "auth_time",
        "national_id",
        "given_name",
        "email_verified",
    ] {
        assert!(supported.contains(&claim), "{claim} in {supported:?}");
    }
}
