//! Client credentials with resource indicators, introspection (RFC 7662) and
//! revocation (RFC 7009).

use portico::oidc::registration::ClientRegistration;
use portico::store::{AuthMethod, GrantType};
use serde_json::Value;

use crate::common::*;
use crate::token_lifecycle::{OFFLINE, introspect, refresh, s, userinfo_status};

#[tokio::test]
async fn client_credentials_with_resource_indicators() {
    let server = TestServer::start().await;
    let backend = server
        .register(ClientRegistration {
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec!["tax.read".into(), "tax.write".into()],
            audiences: vec![
                "https://tax-api.example.gov".into(),
                "https://land-api.example.gov".into(),
            ],
            ..ClientRegistration::new("tax-backend", vec![])
        })
        .await;
    let r = server
        .post_as(
            &backend,
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("scope", "tax.read"),
                ("resource", "https://tax-api.example.gov"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let at = s(&body, "access_token");
    let info = introspect(&server, &backend, &at).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["sub"], "tax-backend");
    assert_eq!(info["client_id"], "tax-backend");
    assert_eq!(info["aud"], "https://tax-api.example.gov");
    assert_eq!(info["scope"], "tax.read");
    // Two resources give two audiences.
    let both: Value = server
        .post_as(
            &backend,
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("resource", "https://tax-api.example.gov"),
                ("resource", "https://land-api.example.gov"),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    let info = introspect(&server, &backend, &s(&both, "access_token")).await;
    assert_eq!(info["aud"].as_array().unwrap().len(), 2);
    assert_eq!(info["scope"], "tax.read tax.write");
    // A user scope, an unregistered scope, an unregistered resource.
    for (form, error) in [
        (vec![("scope", "openid")], "invalid_scope"),
        (vec![("scope", "land.write")], "invalid_scope"),
        (vec![("resource", "https://evil.example")], "invalid_target"),
    ] {
        let mut f = vec![("grant_type", "client_credentials")];
        f.extend(form);
        let r = server.post_as(&backend, "/token", &f).await;
        assert_eq!(r.status(), 400);
        assert_eq!(r.json::<Value>().await.unwrap()["error"], error);
    }
    // Not a userinfo token.
    assert_eq!(userinfo_status(&server, &at).await, 401);
    // RFC 7662 section 4: the resource server of the audience may introspect it; an
    // unrelated client learns nothing.
    let api = server
        .register(ClientRegistration {
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec!["none.needed".into()],
            serves: vec!["https://tax-api.example.gov".into()],
            ..ClientRegistration::new("tax-api", vec![])
        })
        .await;
    assert_eq!(introspect(&server, &api, &at).await["active"], true);
    let stranger = server
        .client("stranger", AuthMethod::ClientSecretBasic)
        .await;
    assert_eq!(
        introspect(&server, &stranger, &at).await,
        serde_json::json!({"active": false})
    );
    // A client without the grant.
    let portal = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let r = server
        .post_as(&portal, "/token", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unauthorized_client"
    );
}

#[tokio::test]
async fn introspection_and_revocation() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let public = server.client("app", AuthMethod::None).await;
    let t = server.tokens(&client, "mai", &OFFLINE).await;
    let (at, rt) = (s(&t, "access_token"), s(&t, "refresh_token"));

    let info = introspect(&server, &client, &at).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["token_type"], "Bearer");
    assert_eq!(info["scope"], "offline_access openid profile");
    let info = introspect(&server, &client, &rt).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], "ministry");
    assert!(
        info.get("token_type").is_none(),
        "refresh tokens have no RFC 6749 token type"
    );
    // Another portal learns nothing of this one's tokens (nor its pairwise subjects).
    let nosy = server.client("nosy", AuthMethod::ClientSecretBasic).await;
    assert_eq!(
        introspect(&server, &nosy, &rt).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(
        introspect(&server, &nosy, &at).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(
        introspect(&server, &client, "garbage").await,
        serde_json::json!({"active": false})
    );

    // Public clients and unauthenticated callers may not introspect.
    let r = reqwest::Client::new()
        .post(server.url("/introspect"))
        .form(&[("token", at.as_str()), ("client_id", public.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = reqwest::Client::new()
        .post(server.url("/introspect"))
        .form(&[("token", at.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Revoking the access token.
    let r = server
        .post_as(
            &client,
            "/revoke",
            &[("token", at.as_str()), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        introspect(&server, &client, &at).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(userinfo_status(&server, &at).await, 401);
    // An unknown token revokes nothing and is no error (RFC 7009 section 2.2).
    assert_eq!(
        server
            .post_as(&client, "/revoke", &[("token", "unknown")])
            .await
            .status(),
        200
    );
    // Another client may not revoke it.
    let other = server
        .client("province", AuthMethod::ClientSecretBasic)
        .await;
    assert_eq!(
        server
            .post_as(&other, "/revoke", &[("token", rt.as_str())])
            .await
            .status(),
        400
    );

    // Revoking the refresh token revokes the grant: a new access token from it too.
    let fresh: Value = refresh(&server, &client, &rt, None)
        .await
        .json()
        .await
        .unwrap();
    let (at2, rt2) = (s(&fresh, "access_token"), s(&fresh, "refresh_token"));
    assert_eq!(
        server
            .post_as(&client, "/revoke", &[("token", rt2.as_str())])
            .await
            .status(),
        200
    );
    assert_eq!(introspect(&server, &client, &rt2).await["active"], false);
    assert_eq!(introspect(&server, &client, &at2).await["active"], false);
    assert_eq!(refresh(&server, &client, &rt2, None).await.status(), 400);
}
