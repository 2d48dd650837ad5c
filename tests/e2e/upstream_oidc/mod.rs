//! Identity sources of kind `oidc` (issue 19) end to end: portal → Portico → an upstream
//! OpenID provider → Portico → portal. The upstream is a small provider written here
//! with axum on a random port, speaking the real protocol (discovery, JWKS,
//! authorization code with PKCE, a token endpoint with client_secret_basic, userinfo as
//! JSON or as a signed JWT), signing ES256 with its own key, and misbehaving on demand:
//! a key not in its JWKS, a wrong nonce, a wrong issuer, a cancellation, slowness.
//!
//! `provider.rs` is that upstream; `logins.rs` the logins that succeed (mapped claims,
//! signed userinfo, linking by national id, `private_key_jwt`, Mobile Connect);
//! `failures.rs` each way an upstream fails and what the person and the portal see.

mod failures;
mod logins;
mod provider;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::common::*;

use provider::UPSTREAM_SECRET;
pub(crate) use provider::Upstream;

/// An `[[sources]]` table for an upstream.
pub(crate) fn source(
    id: &str,
    name: &str,
    loa: u8,
    issuer: &str,
    trusted: bool,
    extra: &str,
) -> String {
    format!(
        "[[sources]]\nid = \"{id}\"\nkind = \"oidc\"\ndisplay_name = {{ vi = \"{name} (vi)\", en = \"{name}\" }}\n\
         loa = {loa}\nissuer = \"{issuer}\"\nclient_id = \"portico\"\nclient_secret = \"{UPSTREAM_SECRET}\"\n\
         scopes = [\"openid\", \"profile\", \"national_id\"]\ntrusted_for_linking = {trusted}\n{extra}\n\
         [sources.claims]\nnational_id = \"national_id\"\ngiven_name = \"given_name\"\n\
         family_name = \"family_name\"\nbirthdate = \"birthdate\"\n"
    )
}

pub(crate) const PASSWORD_SOURCE: &str = "[[sources]]\nid = \"password\"\nkind = \"password\"\n";

pub(crate) fn citizen(national_id: &str) -> Value {
    json!({"national_id": national_id, "given_name": "Lan", "family_name": "Nguyễn",
        "birthdate": "1990-04-30"})
}

/// From the portal's authorization request to Portico's answer at the callback: the
/// login page lists the source, its link leads to the upstream, which sends the
/// browser back. Answers the callback URL and Portico's response to it.
async fn through_upstream(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
    upstream: &Upstream,
    source_id: &str,
) -> (String, reqwest::Response) {
    let authorize = server.authorize_url(client, &[("scope", "openid profile national_id")]);
    let login = browser.follow(&authorize).await;
    let html = browser.get(&login).await.text().await.unwrap();
    let request = login.trim_start_matches("/login?request=");
    let link = format!("/login/{source_id}?request={request}");
    assert!(html.contains(&link), "the page links the source: {html}");
    let away = browser.follow(&link).await;
    assert!(
        away.starts_with(&format!("{}/authorize?", upstream.base)),
        "{away}"
    );
    let back = browser.follow(&away).await;
    let callback = server.url(&format!("/login/{source_id}/callback"));
    assert!(back.starts_with(&format!("{callback}?")), "{back}");
    let response = browser.get(&back).await;
    (back, response)
}

/// A whole login through the upstream: the portal's tokens.
pub(crate) async fn tokens_via(
    server: &TestServer,
    client: &TestClient,
    upstream: &Upstream,
    source_id: &str,
) -> Value {
    let browser = Browser::new(server);
    let (_, done) = through_upstream(server, &browser, client, upstream, source_id).await;
    assert_eq!(done.status(), 303, "{}", done.text().await.unwrap());
    let code = code_from(&location(done.headers()).unwrap(), server, client);
    let r = server.exchange(client, &code, VERIFIER).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn userinfo_of(server: &TestServer, tokens: &Value) -> Value {
    reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub(crate) fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub(crate) async fn portal(server: &TestServer) -> TestClient {
    server
        .client_with(
            "ministry",
            portico::store::AuthMethod::ClientSecretBasic,
            true,
            portico::crypto::SigningAlg::ES256,
        )
        .await
}

async fn count(server: &TestServer, table: &str) -> i64 {
    SideDoor::open(server.database_url())
        .await
        .count(&format!("SELECT COUNT(*) FROM {table}"))
        .await
}
