//! What a pending authorization request stores (issue 22, finding 2): only the
//! parameters Portico uses, each bounded, so junk parameters cannot fill the disk.

use crate::common::*;

/// The stored size of the pending request that `login` (`/login?request=ID`) names.
async fn stored_size(db: &mut SideDoor, login: &str) -> i64 {
    let id = login.strip_prefix("/login?request=").expect(login);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    db.count(&format!(
        "SELECT CAST(length(request) AS BIGINT) FROM pending_authorizations WHERE id = '{id}'"
    ))
    .await
}

/// RFC 6749 section 3.1: unrecognised parameters are ignored; they are not stored
/// either, so 300 junk parameters cost the database what a plain request does. (Of
/// 190 bytes each: a URI, like a body, carries at most 64 KiB, so that is about the
/// most junk one request can bring; the unit tests pad with 300 KiB.)
#[tokio::test]
async fn rfc6749_3_1_unrecognised_parameters_are_ignored_and_not_stored() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    server.account("mai").await;
    let plain = Browser::new(&server)
        .follow(&server.authorize_url(&client, &[]))
        .await;

    let junk_value = "x".repeat(190);
    let junk: Vec<(String, &str)> = (0..300)
        .map(|i| (format!("junk{i}"), junk_value.as_str()))
        .collect();
    let extra: Vec<(&str, &str)> = junk.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let padded = server.authorize_url(&client, &extra);
    assert!(padded.len() > 56 * 1024 && padded.len() < 64 * 1024);
    let browser = Browser::new(&server);
    let login = browser.follow(&padded).await;

    let mut db = SideDoor::open(server.database_url()).await;
    let plain_size = stored_size(&mut db, &plain).await;
    let padded_size = stored_size(&mut db, &login).await;
    assert!(plain_size > 0 && plain_size < 2048, "{plain_size}");
    assert_eq!(padded_size, plain_size, "the junk was stored");

    // The stored request is validated again on resume: the flow goes on, with the
    // parameters it uses (the nonce reaches the ID token).
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    assert_eq!(r.status(), 303);
    let consent = location(r.headers()).unwrap();
    assert!(consent.starts_with("/consent"), "{consent}");
    let redirect = browser.submit_consent(&consent, true).await;
    let code = code_from(&redirect, &server, &client);
    assert_eq!(
        query(&redirect).get("state").map(String::as_str),
        Some("st-1")
    );
    let r = server.exchange(&client, &code, VERIFIER).await;
    assert_eq!(r.status(), 200);
    let tokens: serde_json::Value = r.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let payload = id_token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["nonce"], "n-1");
}

/// A parameter Portico stores is refused past its bound, not stored at any length.
#[tokio::test]
async fn asvs_5_1_4_stored_authorization_parameters_are_bounded() {
    let server = TestServer::start().await;
    let client = server
        .client("ministry", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let long_scope = format!("openid{}", " profile".repeat(1024));
    for (name, value) in [
        ("scope", long_scope.as_str()),
        ("acr_values", &"urn:portico:loa:2 ".repeat(100)),
        ("ui_locales", &"vi ".repeat(200)),
    ] {
        let r = Browser::new(&server)
            .follow(&server.authorize_url(&client, &[(name, value)]))
            .await;
        assert!(r.starts_with(&client.redirect_uri), "{name}: {r}");
        let q = query(&r);
        assert_eq!(q.get("error").map(String::as_str), Some("invalid_request"));
        assert!(q["error_description"].contains("too long"), "{name}: {r}");
    }
    let mut db = SideDoor::open(server.database_url()).await;
    assert_eq!(
        db.count("SELECT COUNT(*) FROM pending_authorizations")
            .await,
        0
    );
}
