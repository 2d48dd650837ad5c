//! `/userinfo` and the bearer token rules of RFC 6750.

use portico::store::AuthMethod;
use serde_json::Value;

use crate::common::*;

async fn access_token(server: &TestServer, scope: &str) -> String {
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(server);
    let redirect = browser
        .authorize_interactively(&server.authorize_url(&client, &[("scope", scope)]), "mai")
        .await;
    let code = code_from(&redirect, server, &client);
    let body: Value = server
        .exchange(&client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let granted = portico::oidc::scopes::ScopeSet::parse(body["scope"].as_str().unwrap());
    assert_eq!(granted, portico::oidc::scopes::ScopeSet::parse(scope));
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn claims_follow_the_scopes() {
    let server = TestServer::start().await;
    let token = access_token(&server, "openid national_id").await;
    let http = reqwest::Client::new();
    let r = http
        .get(server.url("/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let claims: Value = r.json().await.unwrap();
    assert_eq!(claims["national_id"], "001099000003");
    assert_eq!(claims["national_id_verified"], true);
    assert!(claims.get("email").is_none() && claims.get("name").is_none());
    // POST with the token in the body (RFC 6750 section 2.2).
    let r = http
        .post(server.url("/userinfo"))
        .form(&[("access_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn access_token_is_an_rfc9068_jwt() {
    let server = TestServer::start().await;
    let token = access_token(&server, "openid").await;
    use base64::Engine;
    let decode = |part: &str| -> Value {
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    let parts: Vec<&str> = token.split('.').collect();
    let header = decode(parts[0]);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    let claims = decode(parts[1]);
    for claim in [
        "iss",
        "exp",
        "aud",
        "sub",
        "client_id",
        "iat",
        "jti",
        "scope",
        "auth_time",
        "acr",
        "amr",
    ] {
        assert!(claims.get(claim).is_some(), "missing {claim}");
    }
    assert_eq!(claims["client_id"], "ministry");
}

#[tokio::test]
async fn bearer_errors() {
    let server = TestServer::start().await;
    let token = access_token(&server, "openid").await;
    let http = reqwest::Client::new();
    let r = http.get(server.url("/userinfo")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"portico\"");
    let r = http
        .get(server.url("/userinfo"))
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    // A tampered token.
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    let r = http
        .get(server.url("/userinfo"))
        .bearer_auth(&tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Expired.
    server.clock.advance(601);
    let r = http
        .get(server.url("/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    // Header and body at once.
    let r = http
        .post(server.url("/userinfo"))
        .bearer_auth(&token)
        .form(&[("access_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_request")
    );
    // Another scheme.
    let r = http
        .get(server.url("/userinfo"))
        .basic_auth("a", Some("b"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
}

#[tokio::test]
async fn discovery_and_jwks() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let d: Value = http
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], server.base);
    assert_eq!(d["token_endpoint"], server.url("/token"));
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    // Nothing advertised that is not implemented yet.
    assert_eq!(d["introspection_endpoint"], server.url("/introspect"));
    assert_eq!(d["revocation_endpoint"], server.url("/revoke"));
    assert_eq!(
        d["grant_types_supported"],
        serde_json::json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    let r = http.get(server.url("/jwks")).send().await.unwrap();
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let jwks: Value = r.json().await.unwrap();
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert!(algs.contains(&"ES256") && algs.contains(&"RS256"));
    assert_eq!(
        http.get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
