//! Pairwise subject identifiers and signing key rotation.

use portico::oidc::registration::ClientRegistration;
use portico::store::SubjectType;
use serde_json::Value;

use crate::code_flow::id_token_claims;
use crate::common::*;

async fn sub_for(server: &TestServer, client: &TestClient) -> String {
    let browser = Browser::new(server);
    let redirect = browser
        .authorize_interactively(&server.authorize_url(client, &[]), "mai")
        .await;
    let claims = id_token_claims(server, client, &code_from(&redirect, server, client)).await;
    claims["sub"].as_str().unwrap().to_owned()
}

fn pairwise(server: &TestServer, id: &str, host: &str) -> ClientRegistration {
    ClientRegistration {
        subject_type: SubjectType::Pairwise,
        redirect_uris: vec![format!("http://{host}:9/{id}/cb")],
        ..server.registration(id)
    }
}

#[tokio::test]
async fn pairwise_subjects_differ_across_sectors_and_match_within_one() {
    let server = TestServer::start().await;
    let account = server.account("mai").await;
    let tax = server.register(pairwise(&server, "tax", "localhost")).await;
    let customs = server
        .register(pairwise(&server, "customs", "localhost"))
        .await;
    let health = server
        .register(pairwise(&server, "health", "127.0.0.1"))
        .await;
    let public = server.register(server.registration("public-portal")).await;

    let (a, b, c, d) = (
        sub_for(&server, &tax).await,
        sub_for(&server, &customs).await,
        sub_for(&server, &health).await,
        sub_for(&server, &public).await,
    );
    assert_eq!(a, b, "one sector, one subject");
    assert_ne!(a, c, "sectors cannot correlate");
    assert_eq!(d, account, "public clients see the account id");
    assert_ne!(a, account);
    assert_eq!(a, sub_for(&server, &tax).await, "stable");

    // Userinfo leads the pairwise subject back to the person.
    let t = server.tokens(&health, "mai", &[]).await;
    let info: Value = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], c);
    assert_eq!(info["given_name"], "Mai");
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn rotation_publishes_before_signing_and_keeps_old_keys_until_tokens_expire() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let before = server.tokens(&client, "mai", &[]).await;
    let old_token = before["id_token"].as_str().unwrap().to_owned();
    let old_kid = kid_of(&old_token);

    let p = server.provider();
    let rotated = portico::app::rotate_keys(&p.config, &p.store, &p.master, p.now())
        .await
        .unwrap();
    let new_kid = rotated
        .iter()
        .find(|r| r.alg == portico::crypto::SigningAlg::ES256)
        .unwrap()
        .kid
        .clone();
    p.keys.reload(p.now()).await.unwrap();

    let jwks = || async {
        let v: Value = reqwest::get(server.url("/jwks"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    // Published at once, but not signing yet (10 minutes of lead time).
    let kids = jwks().await;
    assert!(kids.contains(&new_kid) && kids.contains(&old_kid));
    let during = server.tokens(&client, "mai", &[]).await;
    assert_eq!(kid_of(during["id_token"].as_str().unwrap()), old_kid);

    server.clock.advance(601);
    let after = server.tokens(&client, "mai", &[]).await;
    assert_eq!(kid_of(after["id_token"].as_str().unwrap()), new_kid);
    // The token signed before the rotation still verifies against the published keys.
    let set: jsonwebtoken::jwk::JwkSet = reqwest::get(server.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = set.find(&old_kid).expect("old key still published");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[client.id.as_str()]);
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(
        &old_token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .expect("old ID token verifies");

    // Once every token of the old key has expired, it is no longer published.
    server.clock.advance(1200);
    p.keys.reload(p.now()).await.unwrap();
    assert!(!jwks().await.contains(&old_kid));
}

#[tokio::test]
async fn jwks_cache_lifetime_is_shorter_than_the_rotation_lead_time() {
    let server = TestServer::start().await;
    let r = reqwest::get(server.url("/jwks")).await.unwrap();
    let cc = r.headers()["cache-control"].to_str().unwrap().to_owned();
    let max_age: u64 = cc.rsplit('=').next().unwrap().parse().unwrap();
    assert!(max_age + 30 < 600, "{cc}");
}

#[tokio::test]
async fn a_token_signed_with_a_key_this_node_has_not_loaded_yet_verifies() {
    // Another node rotated and signs with a key this node has not reloaded yet.
    let server = TestServer::start().await;
    let account = server.account("mai").await;
    server
        .client("ministry", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let p = server.provider();
    portico::app::rotate_keys(&p.config, &p.store, &p.master, p.now())
        .await
        .unwrap();
    server.clock.advance(601);
    let other_node = portico::app::load_or_create_keys(&p.store, &p.master, p.now())
        .await
        .unwrap();
    let now = p.now();
    let claims = portico::oidc::tokens::AccessTokenClaims {
        iss: server.base.clone(),
        sub: account.clone(),
        aud: portico::oidc::tokens::Audience(vec![server.base.clone()]),
        exp: now + 300,
        iat: now,
        jti: portico::ids::new_uuid(),
        client_id: "ministry".into(),
        scope: "openid".into(),
        grant_id: None,
        auth_time: Some(now),
        acr: None,
        amr: None,
        sid: None,
        userinfo_claims: Vec::new(),
    };
    let token = other_node
        .sign(portico::crypto::SigningAlg::ES256, "at+jwt", &claims, now)
        .unwrap();
    assert!(
        p.keys.ring().get(&kid_of(&token)).is_none(),
        "this node does not know the key yet"
    );
    let r = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        p.keys.ring().get(&kid_of(&token)).is_some(),
        "reloaded on the unknown kid"
    );
}
