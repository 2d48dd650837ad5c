//! Logins through an upstream that succeed.

use base64::Engine;
use serde_json::{Value, json};

use super::provider::*;
use super::*;
use crate::common::*;

#[tokio::test]
async fn an_upstream_login_reaches_the_portal_with_the_sources_level_and_mapped_claims() {
    let vnpost = Upstream::start().await;
    vnpost.set_person("vnpost-77", citizen("079201000001"));
    let config = format!(
        "{PASSWORD_SOURCE}{}",
        source("vnpost", "Vietnam Post identity", 3, &vnpost.base, true, "")
    );
    let server = TestServer::start_with(&config).await;
    let client = portal(&server).await;
    let browser = Browser::new(&server);
    let (callback, done) = through_upstream(&server, &browser, &client, &vnpost, "vnpost").await;
    // What went upstream: state is the attempt's handle, PKCE S256, a nonce, the scopes.
    let sent = vnpost.state.last_authorize.lock().unwrap().clone();
    assert!(
        sent["state"].len() >= 32 && sent["nonce"].len() >= 32,
        "{sent:?}"
    );
    assert_eq!(sent["scope"], "openid profile national_id");
    assert_eq!(sent["redirect_uri"], server.url("/login/vnpost/callback"));
    assert_eq!(done.status(), 303);
    let code = code_from(&location(done.headers()).unwrap(), &server, &client);
    let tokens: Value = server
        .exchange(&client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["acr"], "urn:portico:loa:3");
    let amr: Vec<&str> = id["amr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        amr,
        ["fed", "pwd"],
        "fed, and the upstream's RFC 8176 values only"
    );
    let info = userinfo_of(&server, &tokens).await;
    assert_eq!(info["sub"], id["sub"]);
    assert_eq!(info["given_name"], "Lan");
    assert_eq!(info["family_name"], "Nguyễn");
    assert_eq!(info["birthdate"], "1990-04-30");
    assert_eq!(info["national_id"], "079201000001");
    assert_eq!(info["national_id_verified"], true);
    assert_eq!(
        count(&server, "login_attempts").await,
        0,
        "the attempt row is gone"
    );
    // The same callback again (a replay): refused, naming the source; no code.
    let replay = browser.get(&callback).await;
    assert_eq!(replay.status(), 400);
    let html = replay.text().await.unwrap();
    assert!(
        html.contains("The answer from Vietnam Post identity"),
        "{html}"
    );
    // The second login at the same upstream finds the same account.
    let again = tokens_via(&server, &client, &vnpost, "vnpost").await;
    assert_eq!(
        claims_of(again["id_token"].as_str().unwrap())["sub"],
        id["sub"]
    );
    assert_eq!(count(&server, "accounts").await, 1);
}

#[tokio::test]
async fn a_signed_userinfo_is_verified_and_must_be_about_the_same_subject() {
    let op = Upstream::start().await;
    op.set_person("bhxh-1", citizen("079201000002"));
    let config = format!(
        "{PASSWORD_SOURCE}{}",
        source("bhxh", "Social security", 3, &op.base, true, "")
    );
    let server = TestServer::start_with(&config).await;
    let client = portal(&server).await;
    // The login page's own form (POST /login) naming an upstream source does not go
    // upstream: only an attempt begun by its link does.
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let html = browser.get(&login).await.text().await.unwrap();
    let request = hidden(&html, "request")
        .unwrap_or_else(|| login.trim_start_matches("/login?request=").to_owned());
    let csrf = hidden(&html, "csrf").unwrap();
    let posted = browser
        .post_form(
            "/login",
            &[("request", &request), ("csrf", &csrf), ("source", "bhxh")],
        )
        .await;
    assert_eq!(posted.status(), 400);
    assert_eq!(*op.state.discoveries.lock().unwrap(), 0);
    op.set_mode(Mode::UserinfoJwt);
    let tokens = tokens_via(&server, &client, &op, "bhxh").await;
    let info = userinfo_of(&server, &tokens).await;
    assert_eq!(
        info["given_name"], "Lan (signed userinfo)",
        "userinfo wins over the ID token"
    );
    op.set_mode(Mode::UserinfoOtherSub);
    let browser = Browser::new(&server);
    let (_, r) = through_upstream(&server, &browser, &client, &op, "bhxh").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Social security: the answer was not valid"),
        "{html}"
    );
}

#[tokio::test]
async fn two_trusted_sources_with_one_national_id_give_one_account_an_untrusted_one_another() {
    let (vnpost, bhxh, social) = (
        Upstream::start().await,
        Upstream::start().await,
        Upstream::start().await,
    );
    vnpost.set_person("vnpost-sub", citizen("079201000009"));
    bhxh.set_person("bhxh-sub", citizen("079201000009"));
    social.set_person("social-sub", citizen("079201000009"));
    let config = format!(
        "{}{}{}",
        source("vnpost", "Vietnam Post identity", 3, &vnpost.base, true, ""),
        source("bhxh", "Social security", 3, &bhxh.base, true, ""),
        source("social", "Social network", 2, &social.base, false, ""),
    );
    let server = TestServer::start_with(&config).await;
    let client = portal(&server).await;
    // The login page lists every source, in the configured order.
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let html = browser.get(&login).await.text().await.unwrap();
    let at = |name: &str| {
        html.find(name)
            .unwrap_or_else(|| panic!("{name} listed: {html}"))
    };
    assert!(
        at("Vietnam Post identity") < at("Social security")
            && at("Social security") < at("Social network")
    );
    let sub = |t: &Value| claims_of(t["id_token"].as_str().unwrap())["sub"].clone();
    let first = tokens_via(&server, &client, &vnpost, "vnpost").await;
    let second = tokens_via(&server, &client, &bhxh, "bhxh").await;
    assert_eq!(
        sub(&first),
        sub(&second),
        "linked by the verified national id"
    );
    assert_eq!(
        claims_of(second["id_token"].as_str().unwrap())["acr"],
        "urn:portico:loa:3"
    );
    let third = tokens_via(&server, &client, &social, "social").await;
    assert_ne!(sub(&first), sub(&third), "an untrusted source never links");
    assert_eq!(
        claims_of(third["id_token"].as_str().unwrap())["acr"],
        "urn:portico:loa:2"
    );
    assert!(
        userinfo_of(&server, &third)
            .await
            .get("national_id")
            .is_none(),
        "a national id another account holds is not copied"
    );
    assert_eq!(count(&server, "accounts").await, 2);
}

#[tokio::test]
async fn private_key_jwt_authenticates_portico_at_the_upstream_with_its_configured_key() {
    let op = Upstream::start().await;
    op.set_person("vnpost-pk", citizen("079201000011"));
    let dir = tempfile::tempdir().unwrap();
    let pem_path = dir.path().join("vnpost.pem");
    let der =
        portico::crypto::SigningKey::generate_pkcs8(portico::crypto::SigningAlg::ES256).unwrap();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(der)
    );
    std::fs::write(&pem_path, pem).unwrap();
    let config = source("vnpost", "Vietnam Post identity", 3, &op.base, true, "").replace(
        &format!("client_secret = \"{UPSTREAM_SECRET}\"\n"),
        &format!(
            "client_auth = \"private_key_jwt\"\nsigning_key_file = \"{}\"\n",
            pem_path.display()
        ),
    );
    let server = TestServer::start_with(&config).await;
    // The operator registers the public key `portico sources list` prints.
    let jwks = match server.provider().sources.get("vnpost") {
        Some(portico::sources::Source::Oidc(o)) => o.public_jwks().unwrap(),
        _ => panic!("an oidc source"),
    };
    assert!(jwks["keys"][0].get("d").is_none(), "public only: {jwks}");
    *op.state.client_jwks.lock().unwrap() = Some(jwks);
    let client = portal(&server).await;
    let tokens = tokens_via(&server, &client, &op, "vnpost").await;
    assert_eq!(
        userinfo_of(&server, &tokens).await["national_id"],
        "079201000011"
    );
    let assertion = op.state.last_assertion.lock().unwrap().clone().unwrap();
    assert_eq!(assertion["aud"], op.base, "the upstream's issuer alone");
    assert_eq!(assertion["iss"], "portico");
    let lifetime = assertion["exp"].as_i64().unwrap() - assertion["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 60);
    // Without the key registered upstream, the upstream refuses and so does Portico.
    *op.state.client_jwks.lock().unwrap() = None;
    let (_, r) = through_upstream(&server, &Browser::new(&server), &client, &op, "vnpost").await;
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Vietnam Post identity refused the sign-in"),
        "{html}"
    );
}

#[tokio::test]
async fn mobile_connect_the_numbers_prefix_picks_the_operator_and_the_hint_goes_as_msisdn() {
    let (viettel, vina) = (Upstream::start().await, Upstream::start().await);
    let mut claims = citizen("079201000021");
    claims["acr"] = json!("3");
    viettel.set_person("viettel-84961234567", claims.clone());
    vina.set_person("vina-84911234567", claims.clone());
    let mc =
        |prefixes: &str| format!("profile = \"mobile_connect\"\nmsisdn_prefixes = [{prefixes}]\n");
    let config = format!(
        "{PASSWORD_SOURCE}{}{}",
        source(
            "viettel",
            "Viettel Mobile ID",
            3,
            &viettel.base,
            true,
            &mc("\"+8496\", \"+8497\"")
        ),
        source(
            "vina",
            "VinaPhone Mobile ID",
            3,
            &vina.base,
            true,
            &mc("\"+8491\"")
        ),
    );
    let server = TestServer::start_with(&config).await;
    let client = portal(&server).await;
    let browser = Browser::new(&server);
    let authorize = server.authorize_url(
        &client,
        &[
            ("scope", "openid profile national_id"),
            ("login_hint", "MSISDN:+84961234567"),
        ],
    );
    let login = browser.follow(&authorize).await;
    let request = login.trim_start_matches("/login?request=");
    let html = browser.get(&login).await.text().await.unwrap();
    // The number's prefix picks the operator: the other one is not offered.
    assert!(
        html.contains(&format!("/login/viettel?request={request}")),
        "{html}"
    );
    assert!(!html.contains("/login/vina?"), "{html}");
    assert!(html.contains("name=\"password\""), "{html}");
    let other = browser.get(&format!("/login/vina?request={request}")).await;
    assert_eq!(other.status(), 400);
    let away = browser
        .follow(&format!("/login/viettel?request={request}"))
        .await;
    let sent = query(&away);
    assert_eq!(sent["login_hint"], "MSISDN:+84961234567");
    assert_eq!(
        sent["acr_values"], "3",
        "the operator's value for the source's level"
    );
    let back = browser.follow(&away).await;
    let done = browser.get(&back).await;
    assert_eq!(done.status(), 303);
    let code = code_from(&location(done.headers()).unwrap(), &server, &client);
    let tokens: Value = server
        .exchange(&client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        claims_of(tokens["id_token"].as_str().unwrap())["acr"],
        "urn:portico:loa:3"
    );
    assert_eq!(
        userinfo_of(&server, &tokens).await["national_id"],
        "079201000021"
    );
    // A number in Vietnamese national form picks the other operator; one answering a
    // lower acr than the source's level is refused.
    claims["acr"] = json!("2");
    vina.set_person("vina-84911234567", claims);
    let browser = Browser::new(&server);
    let authorize = server.authorize_url(&client, &[("login_hint", "0911234567")]);
    let login = browser.follow(&authorize).await;
    let request = login.trim_start_matches("/login?request=");
    let html = browser.get(&login).await.text().await.unwrap();
    assert!(
        html.contains("/login/vina?") && !html.contains("/login/viettel?"),
        "{html}"
    );
    let away = browser
        .follow(&format!("/login/vina?request={request}"))
        .await;
    assert_eq!(query(&away)["login_hint"], "MSISDN:+84911234567");
    let back = browser.follow(&away).await;
    let refused = browser.get(&back).await.text().await.unwrap();
    assert!(
        refused.contains("VinaPhone Mobile ID: the answer was not valid"),
        "{refused}"
    );
    // Without a number, the person chooses the operator: both are offered.
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let html = browser.get(&login).await.text().await.unwrap();
    assert!(
        html.contains("/login/vina?") && html.contains("/login/viettel?"),
        "{html}"
    );
}
