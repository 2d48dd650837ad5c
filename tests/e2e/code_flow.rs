//! The authorization code flow with the `openidconnect` crate as the relying party.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse, reqwest,
};
use portico::crypto::SigningAlg;
use portico::store::AuthMethod;

use crate::common::*;

fn rp_http() -> reqwest::Client {
    reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn full_flow(alg: SigningAlg, method: AuthMethod) {
    let server = TestServer::start().await;
    let account_id = server.account("mai").await;
    let client = server.client_with("ministry", method, false, alg).await;
    let http = rp_http();

    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.base.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client.id.clone()),
        client.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(client.redirect_uri.clone()).unwrap())
    .set_auth_type(if method == AuthMethod::ClientSecretPost {
        AuthType::RequestBody
    } else {
        AuthType::BasicAuth
    });
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("national_id".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = Browser::new(&server);
    let redirect = browser
        .authorize_interactively(auth_url.as_str(), "mai")
        .await;
    let q = query(&redirect);
    assert_eq!(q["state"], *state.secret());
    let code = code_from(&redirect, &server, &client);

    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let expected = match alg {
        SigningAlg::ES256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        SigningAlg::RS256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    };
    let id_verifier = rp
        .id_token_verifier()
        .set_allowed_algs(vec![expected.clone()]);
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("ID token verifies against /jwks");
    assert_eq!(claims.subject().as_str(), account_id);
    assert_eq!(claims.issuer().as_str(), server.base);
    assert!(claims.auth_time().is_some());
    assert_eq!(
        claims.auth_context_ref().unwrap().as_str(),
        "urn:portico:loa:2"
    );
    assert_eq!(claims.auth_method_refs().unwrap()[0].as_str(), "pwd");
    // Data minimisation: profile claims come from userinfo, not the ID token.
    assert!(claims.email().is_none());
    let at_hash = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(*at_hash, actual);
    assert_eq!(*id_token.signing_alg().unwrap(), expected);

    let raw: serde_json::Value = serde_json::from_slice(&base64_decode(
        id_token.to_string().split('.').nth(1).unwrap(),
    ))
    .unwrap();
    assert!(
        raw["sid"].as_str().is_some_and(|s| !s.is_empty()),
        "sid claim"
    );

    let userinfo: CoreUserInfoClaims = rp
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(userinfo.subject().as_str(), account_id);
    assert_eq!(userinfo.email().unwrap().as_str(), "mai@example.gov");
    assert_eq!(userinfo.email_verified(), Some(true));
    assert_eq!(
        userinfo.given_name().unwrap().get(None).unwrap().as_str(),
        "Mai"
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

#[tokio::test]
async fn openidconnect_rp_confidential_client_es256() {
    full_flow(SigningAlg::ES256, AuthMethod::ClientSecretBasic).await;
}

#[tokio::test]
async fn openidconnect_rp_client_secret_post_rs256() {
    full_flow(SigningAlg::RS256, AuthMethod::ClientSecretPost).await;
}

#[tokio::test]
async fn openidconnect_rp_public_client_with_pkce() {
    full_flow(SigningAlg::ES256, AuthMethod::None).await;
}

#[tokio::test]
async fn consent_is_remembered_per_scope_set_and_sso_issues_at_once() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let redirect = browser
        .authorize_interactively(&server.authorize_url(&client, &[]), "mai")
        .await;
    code_from(&redirect, &server, &client);

    // Same scopes again: the live session and remembered consent answer at once.
    let again = browser.follow(&server.authorize_url(&client, &[])).await;
    code_from(&again, &server, &client);
    // prompt=none too.
    let silent = browser
        .follow(&server.authorize_url(&client, &[("prompt", "none")]))
        .await;
    code_from(&silent, &server, &client);

    // A wider scope set asks again; prompt=none answers consent_required.
    let wider = [("scope", "openid profile email phone")];
    let none = browser
        .follow(&server.authorize_url(&client, &[wider[0], ("prompt", "none")]))
        .await;
    assert_eq!(query(&none)["error"], "consent_required");
    let asks = browser.follow(&server.authorize_url(&client, &wider)).await;
    assert!(asks.starts_with("/consent?request="), "{asks}");

    // prompt=consent asks even when covered.
    let forced = browser
        .follow(&server.authorize_url(&client, &[("prompt", "consent")]))
        .await;
    assert!(forced.starts_with("/consent?request="), "{forced}");
}

#[tokio::test]
async fn first_party_clients_skip_consent() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client_with(
            "portal",
            AuthMethod::ClientSecretBasic,
            true,
            SigningAlg::ES256,
        )
        .await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    let redirect = location(r.headers()).unwrap();
    code_from(&redirect, &server, &client);
}

#[tokio::test]
async fn a_login_form_submitted_twice_at_once_yields_one_code() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client_with(
            "portal",
            AuthMethod::ClientSecretBasic,
            true,
            SigningAlg::ES256,
        )
        .await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let html = browser.get(&login).await.text().await.unwrap();
    let (request, csrf) = (
        hidden(&html, "request").unwrap(),
        hidden(&html, "csrf").unwrap(),
    );
    let form = [
        ("request", request.as_str()),
        ("csrf", csrf.as_str()),
        ("source", "password"),
        ("username", "mai"),
        ("password", PASSWORD),
    ];
    // A double click: both reach the server; the pending request is taken with the code.
    let (a, b) = tokio::join!(
        browser.post_form("/login", &form),
        browser.post_form("/login", &form)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [303, 400], "one code, one expired request");
    let issued = if a.status() == 303 { a } else { b };
    code_from(&location(issued.headers()).unwrap(), &server, &client);
}

#[tokio::test]
async fn prompt_login_and_max_age_reauthenticate_and_update_auth_time() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client_with(
            "portal",
            AuthMethod::ClientSecretBasic,
            true,
            SigningAlg::ES256,
        )
        .await;
    let browser = Browser::new(&server);
    let first = browser
        .authorize_interactively(&server.authorize_url(&client, &[]), "mai")
        .await;
    let t1 = id_token_claims(&server, &client, &code_from(&first, &server, &client)).await;

    server.clock.advance(120);
    let forced = browser
        .follow(&server.authorize_url(&client, &[("prompt", "login")]))
        .await;
    assert!(
        forced.starts_with("/login?request="),
        "prompt=login shows the login page: {forced}"
    );
    let r = browser.submit_login(&forced, "mai", PASSWORD).await;
    let t2 = id_token_claims(
        &server,
        &client,
        &code_from(&location(r.headers()).unwrap(), &server, &client),
    )
    .await;
    // The clock moved 120 s, plus whatever real time the test took.
    let moved = t2["auth_time"].as_i64().unwrap() - t1["auth_time"].as_i64().unwrap();
    assert!((120..125).contains(&moved), "auth_time moved by {moved}");
    assert_eq!(
        t2["sid"], t1["sid"],
        "the same person re-authenticating keeps the session"
    );

    server.clock.advance(30);
    let fresh = browser
        .follow(&server.authorize_url(&client, &[("max_age", "60")]))
        .await;
    code_from(&fresh, &server, &client);
    let stale = browser
        .follow(&server.authorize_url(&client, &[("max_age", "10")]))
        .await;
    assert!(
        stale.starts_with("/login?request="),
        "max_age exceeded: {stale}"
    );
}

/// OIDC Core 3.1.2.1: `max_age=0` is `prompt=login`, even in the second of the last
/// login (the test clock stands still; time is counted in whole seconds).
#[tokio::test]
async fn max_age_zero_asks_for_a_login_even_in_the_second_of_the_last_one() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client_with(
            "portal",
            AuthMethod::ClientSecretBasic,
            true,
            SigningAlg::ES256,
        )
        .await;
    let browser = Browser::new(&server);
    // Start at the beginning of a second, so that the login and the next request fall
    // in the same one (the case a bare age check lets through).
    let into_second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_millis();
    if into_second > 300 {
        tokio::time::sleep(std::time::Duration::from_millis(1000 - into_second as u64)).await;
    }
    let first = server.sign_in(&browser, &client, "mai").await;
    let t1 = crate::logout::payload(first["id_token"].as_str().unwrap());

    let forced = browser
        .follow(&server.authorize_url(&client, &[("max_age", "0")]))
        .await;
    assert!(
        forced.starts_with("/login?request="),
        "max_age=0 shows the login page: {forced}"
    );
    let r = browser.submit_login(&forced, "mai", PASSWORD).await;
    let code = code_from(&location(r.headers()).unwrap(), &server, &client);
    let t2 = id_token_claims(&server, &client, &code).await;
    // Required when max_age was asked (OIDC Core section 2).
    let auth_time = t2["auth_time"].as_i64().expect("auth_time is present");
    assert!(auth_time >= t1["auth_time"].as_i64().unwrap());
    assert_eq!(t2["sid"], t1["sid"], "the same person keeps the session");
}

#[tokio::test]
async fn failed_login_keeps_the_request_and_says_why() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let login = browser
        .follow(&server.authorize_url(&client, &[("login_hint", "mai")]))
        .await;
    let page = browser.get(&login).await.text().await.unwrap();
    assert!(
        page.contains("value=\"mai\""),
        "login_hint prefills the username"
    );
    let r = browser.submit_login(&login, "mai", "wrong password").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("the username or password is incorrect"),
        "{html}"
    );
    let r = browser.submit_login(&login, "nobody", PASSWORD).await;
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("the username or password is incorrect")
    );
    // The same request still completes.
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn consent_denied_redirects_access_denied() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    let consent = location(r.headers()).unwrap();
    let redirect = browser.submit_consent(&consent, false).await;
    let q = query(&redirect);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["iss"], server.base);
}

#[tokio::test]
async fn session_cookie_is_host_prefixed_http_only_secure_lax() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-portico_session="))
        .expect("session cookie");
    for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!cookie.contains("Domain"), "__Host- cookies have no Domain");
}

/// Exchanges a code and answers the ID token's claims (unverified: other tests verify).
pub async fn id_token_claims(
    server: &TestServer,
    client: &TestClient,
    code: &str,
) -> serde_json::Value {
    let r = server.exchange(client, code, VERIFIER).await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    let payload = body["id_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    serde_json::from_slice(&base64_decode(payload)).unwrap()
}
