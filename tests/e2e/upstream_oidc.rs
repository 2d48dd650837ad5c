//! Identity sources of kind `oidc` (issue 19) end to end: portal → Portico → an upstream
//! OpenID provider → Portico → portal. The upstream is a small provider written here
//! with axum on a random port, speaking the real protocol (discovery, JWKS,
//! authorization code with PKCE, a token endpoint with client_secret_basic, userinfo as
//! JSON or as a signed JWT), signing ES256 with its own key, and misbehaving on demand:
//! a key not in its JWKS, a wrong nonce, a wrong issuer, a cancellation, slowness.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::common::*;

const UPSTREAM_SECRET: &str = "upstream-client-secret";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Good,
    /// Signs the ID token with a key its JWKS does not publish.
    RogueKey,
    WrongNonce,
    WrongIss,
    /// The person cancels at the upstream.
    Deny,
    /// The token endpoint answers after three seconds.
    Slow,
    /// Userinfo as a signed JWT (`application/jwt`).
    UserinfoJwt,
    /// Userinfo for another subject than the ID token's.
    UserinfoOtherSub,
    /// The authorization response names another issuer (RFC 9207: a mix-up).
    MixUp,
    /// The authorization response has no `iss`, though discovery promises one.
    NoIssParam,
}

struct Key {
    kid: String,
    encoding: jsonwebtoken::EncodingKey,
    jwk: Value,
}

fn new_key(kid: &str) -> Key {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let point = pair.public_key().as_ref();
    Key {
        kid: kid.to_owned(),
        encoding: jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref()),
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])}),
    }
}

struct Grant {
    nonce: String,
    challenge: String,
    redirect_uri: String,
    sub: String,
    claims: Value,
}

struct OpState {
    issuer: String,
    /// Signs; published at /jwks once `published` says so.
    keys: Vec<Key>,
    /// Which of `keys` signs, and how many of them /jwks publishes.
    signing: Mutex<usize>,
    published: Mutex<usize>,
    rogue: Key,
    mode: Mutex<Mode>,
    /// Who signs in at the upstream next: its `sub` and claims.
    person: Mutex<(String, Value)>,
    codes: Mutex<HashMap<String, Grant>>,
    tokens: Mutex<HashMap<String, (String, Value)>>,
    /// What the last authorization request carried.
    last_authorize: Mutex<HashMap<String, String>>,
    jwks_fetches: Mutex<u32>,
    discoveries: Mutex<u32>,
    /// Portico's public keys, registered for `private_key_jwt`; and the claims of the
    /// last assertion it verified.
    client_jwks: Mutex<Option<Value>>,
    last_assertion: Mutex<Option<Value>>,
}

/// A fake upstream OpenID provider on a random port.
pub(crate) struct Upstream {
    pub(crate) base: String,
    state: Arc<OpState>,
}

impl Upstream {
    pub(crate) async fn start() -> Upstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let state = Arc::new(OpState {
            issuer: base.clone(),
            keys: vec![new_key("k1"), new_key("k2")],
            signing: Mutex::new(0),
            published: Mutex::new(1),
            rogue: new_key("rogue"),
            mode: Mutex::new(Mode::Good),
            person: Mutex::new(("upstream-sub-1".into(), json!({}))),
            codes: Mutex::default(),
            tokens: Mutex::default(),
            last_authorize: Mutex::default(),
            jwks_fetches: Mutex::new(0),
            discoveries: Mutex::new(0),
            client_jwks: Mutex::new(None),
            last_assertion: Mutex::new(None),
        });
        let app = axum::Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Upstream { base, state }
    }

    fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    pub(crate) fn set_person(&self, sub: &str, claims: Value) {
        *self.state.person.lock().unwrap() = (sub.to_owned(), claims);
    }
}

async fn discovery(State(op): State<Arc<OpState>>) -> Response {
    *op.discoveries.lock().unwrap() += 1;
    let b = &op.issuer;
    axum::Json(json!({
        "issuer": b,
        "authorization_endpoint": format!("{b}/authorize"),
        "token_endpoint": format!("{b}/token"),
        "userinfo_endpoint": format!("{b}/userinfo"),
        "jwks_uri": format!("{b}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
    }))
    .into_response()
}

async fn jwks(State(op): State<Arc<OpState>>) -> Response {
    *op.jwks_fetches.lock().unwrap() += 1;
    let n = *op.published.lock().unwrap();
    let keys: Vec<Value> = op.keys[..n].iter().map(|k| k.jwk.clone()).collect();
    axum::Json(json!({ "keys": keys })).into_response()
}

fn redirect(to: String) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

async fn authorize(
    State(op): State<Arc<OpState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    *op.last_authorize.lock().unwrap() = q.clone();
    let redirect_uri = q["redirect_uri"].clone();
    let state = q.get("state").cloned().unwrap_or_default();
    let mut back = url::Url::parse(&redirect_uri).unwrap();
    if *op.mode.lock().unwrap() == Mode::Deny {
        back.query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("state", &state);
        return redirect(back.into());
    }
    let ok = q.get("client_id").map(String::as_str) == Some("portico")
        && q.get("response_type").map(String::as_str) == Some("code")
        && q.get("code_challenge_method").map(String::as_str) == Some("S256")
        && q.get("scope")
            .is_some_and(|s| s.split(' ').any(|s| s == "openid"));
    assert!(ok, "a proper authorization request: {q:?}");
    let (sub, claims) = op.person.lock().unwrap().clone();
    let code = portico::random::token().expose().to_owned();
    op.codes.lock().unwrap().insert(
        code.clone(),
        Grant {
            nonce: q["nonce"].clone(),
            challenge: q["code_challenge"].clone(),
            redirect_uri,
            sub,
            claims,
        },
    );
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state);
    match *op.mode.lock().unwrap() {
        Mode::NoIssParam => {}
        Mode::MixUp => {
            back.query_pairs_mut()
                .append_pair("iss", "https://other-upstream.example");
        }
        _ => {
            back.query_pairs_mut().append_pair("iss", &op.issuer);
        }
    }
    redirect(back.into())
}

fn sign(op: &OpState, claims: &Value, rogue: bool) -> String {
    let key = if rogue {
        &op.rogue
    } else {
        &op.keys[*op.signing.lock().unwrap()]
    };
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

async fn token(
    State(op): State<Arc<OpState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("portico:{UPSTREAM_SECRET}"))
    );
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let authenticated = match form.get("client_assertion") {
        Some(assertion) => auth.is_none() && client_assertion_ok(&op, &form, assertion),
        None => auth == Some(expected.as_str()),
    };
    if !authenticated {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let grant = op.codes.lock().unwrap().remove(&form["code"]);
    let Some(grant) = grant else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, form["code_verifier"].as_bytes());
    assert_eq!(
        URL_SAFE_NO_PAD.encode(digest.as_ref()),
        grant.challenge,
        "PKCE S256"
    );
    assert_eq!(form["redirect_uri"], grant.redirect_uri);
    let mode = *op.mode.lock().unwrap();
    if mode == Mode::Slow {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut claims = json!({
        "iss": if mode == Mode::WrongIss { "https://evil.example" } else { op.issuer.as_str() },
        "sub": grant.sub,
        "aud": "portico",
        "iat": now,
        "exp": now + 300,
        "nonce": if mode == Mode::WrongNonce { "another-nonce" } else { grant.nonce.as_str() },
        "amr": ["pwd", "not-an-rfc8176-value"],
    });
    for (k, v) in grant.claims.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let id_token = sign(&op, &claims, mode == Mode::RogueKey);
    let access = portico::random::token().expose().to_owned();
    op.tokens
        .lock()
        .unwrap()
        .insert(access.clone(), (grant.sub, grant.claims));
    axum::Json(
        json!({"access_token": access, "token_type": "Bearer", "expires_in": 300,
        "id_token": id_token}),
    )
    .into_response()
}

/// RFC 7523 section 3, as an upstream checks Portico's `private_key_jwt`: signed by a
/// registered key, `iss` = `sub` = the client, `aud` = this issuer, a `jti`.
fn client_assertion_ok(op: &OpState, form: &HashMap<String, String>, assertion: &str) -> bool {
    let Some(jwks) = op.client_jwks.lock().unwrap().clone() else {
        return false;
    };
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
    let header = jsonwebtoken::decode_header(assertion).unwrap();
    let Some(jwk) = jwks.find(header.kid.as_deref().unwrap_or_default()) else {
        return false;
    };
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[&op.issuer]);
    validation.set_issuer(&["portico"]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let Ok(data) = jsonwebtoken::decode::<Value>(assertion, &key, &validation) else {
        return false;
    };
    let ok = form.get("client_assertion_type").map(String::as_str)
        == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        && form.get("client_id").map(String::as_str) == Some("portico")
        && data.claims["sub"] == "portico"
        && data.claims["jti"].as_str().is_some_and(|j| j.len() >= 32);
    *op.last_assertion.lock().unwrap() = Some(data.claims);
    ok
}

async fn userinfo(State(op): State<Arc<OpState>>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let Some((sub, claims)) = op.tokens.lock().unwrap().get(&bearer).cloned() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let mode = *op.mode.lock().unwrap();
    let sub = if mode == Mode::UserinfoOtherSub {
        "someone-else".to_owned()
    } else {
        sub
    };
    let mut body = json!({ "sub": sub });
    for (k, v) in claims.as_object().unwrap() {
        body[k] = v.clone();
    }
    if mode == Mode::UserinfoJwt {
        body["iss"] = json!(op.issuer);
        body["aud"] = json!("portico");
        body["given_name"] = json!("Lan (signed userinfo)");
        let jwt = sign(&op, &body, false);
        return ([(header::CONTENT_TYPE, "application/jwt")], jwt).into_response();
    }
    axum::Json(body).into_response()
}

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
async fn a_misbehaving_upstream_is_refused_naming_it_and_the_portal_gets_no_code() {
    let op = Upstream::start().await;
    op.set_person("vnpost-9", citizen("079201000003"));
    let config = format!(
        "{PASSWORD_SOURCE}{}",
        source(
            "vnpost",
            "Vietnam Post identity",
            3,
            &op.base,
            true,
            "timeout = 1\n"
        )
    );
    let server = TestServer::start_with(&config).await;
    let client = portal(&server).await;
    let cases = [
        (
            Mode::RogueKey,
            "the answer could not be verified (its signature is not valid)",
        ),
        (
            Mode::WrongNonce,
            "the answer does not belong to this sign-in",
        ),
        (
            Mode::WrongIss,
            "the answer came from another identity provider",
        ),
        (Mode::Deny, "the sign-in was cancelled"),
        (Mode::Slow, "did not answer in time"),
        (
            Mode::MixUp,
            "the answer came from another identity provider",
        ),
        (
            Mode::NoIssParam,
            "the answer came from another identity provider",
        ),
    ];
    for (mode, text) in cases {
        op.set_mode(mode);
        let browser = Browser::new(&server);
        let (callback, r) = through_upstream(&server, &browser, &client, &op, "vnpost").await;
        assert_eq!(
            r.status(),
            200,
            "{mode:?}: the login page again, not the portal"
        );
        let html = r.text().await.unwrap();
        assert!(
            html.contains("Vietnam Post identity"),
            "{mode:?}: names the source"
        );
        assert!(html.contains(text), "{mode:?}: {html}");
        // Another way to sign in is offered on the same page.
        assert!(html.contains("name=\"password\""), "{mode:?}: {html}");
        assert_eq!(count(&server, "login_attempts").await, 0, "{mode:?}");
        assert_eq!(
            count(&server, "accounts").await,
            0,
            "{mode:?}: nothing created"
        );
        assert_eq!(count(&server, "authorization_codes").await, 0, "{mode:?}");
        // And the callback cannot be replayed into a login either.
        assert_eq!(browser.get(&callback).await.status(), 400, "{mode:?}");
    }
    // The same page in Vietnamese.
    op.set_mode(Mode::WrongNonce);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ACCEPT_LANGUAGE, "vi".parse().unwrap());
    let browser = Browser::with_headers(&server.url(""), headers);
    let (_, r) = through_upstream(&server, &browser, &client, &op, "vnpost").await;
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Vietnam Post identity (vi): kết quả trả về không thuộc lượt đăng nhập này"),
        "{html}"
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_refused_naming_it() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = format!(
        "{PASSWORD_SOURCE}{}",
        source(
            "vnpost",
            "Vietnam Post identity",
            3,
            &format!("http://127.0.0.1:{closed}"),
            true,
            ""
        )
    );
    let server = TestServer::start_with(&config).await;
    let client = portal(&server).await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let request = login.trim_start_matches("/login?request=");
    let r = browser
        .get(&format!("/login/vnpost?request={request}"))
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Vietnam Post identity cannot be reached right now"),
        "{html}"
    );
    assert!(
        html.contains("name=\"password\""),
        "another way is offered: {html}"
    );
    assert_eq!(count(&server, "login_attempts").await, 0);
}

#[tokio::test]
async fn an_unknown_kid_fetches_the_key_set_again_once_and_not_again_soon() {
    let op = Upstream::start().await;
    op.set_person("vnpost-5", citizen("079201000005"));
    let server = TestServer::start_with(&source(
        "vnpost",
        "Vietnam Post identity",
        3,
        &op.base,
        true,
        "",
    ))
    .await;
    let client = portal(&server).await;
    tokens_via(&server, &client, &op, "vnpost").await;
    assert_eq!(*op.state.jwks_fetches.lock().unwrap(), 1);
    // Later, the upstream rotates to a key Portico has not seen: one refetch, and it
    // verifies.
    server.clock.advance(11);
    *op.state.published.lock().unwrap() = 2;
    *op.state.signing.lock().unwrap() = 1;
    tokens_via(&server, &client, &op, "vnpost").await;
    assert_eq!(*op.state.jwks_fetches.lock().unwrap(), 2);
    // A kid that is in no key set, right after: refused without fetching again.
    op.set_mode(Mode::RogueKey);
    let (_, r) = through_upstream(&server, &Browser::new(&server), &client, &op, "vnpost").await;
    assert!(r.text().await.unwrap().contains("could not be verified"));
    assert_eq!(*op.state.jwks_fetches.lock().unwrap(), 2, "rate-limited");
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

#[tokio::test]
async fn callback_refusals_are_counted_per_address_and_audited_with_source_and_reason() {
    let op = Upstream::start().await;
    op.set_person("vnpost-5", citizen("079201000005"));
    let config = format!(
        "{PASSWORD_SOURCE}{}[brute_force]\naddress_backoff_after = 3\naddress_lock_after = 5\n",
        source("vnpost", "Vietnam Post identity", 3, &op.base, true, "")
    );
    let server = TestServer::start_with(&config).await;
    let client = portal(&server).await;
    // Cancelling at the upstream checks no credential: never charged.
    op.set_mode(Mode::Deny);
    for _ in 0..6 {
        let (_, r) =
            through_upstream(&server, &Browser::new(&server), &client, &op, "vnpost").await;
        assert_eq!(r.status(), 200);
    }
    // A forged answer is charged to the address like a wrong password.
    op.set_mode(Mode::RogueKey);
    for i in 0..5 {
        let (_, r) =
            through_upstream(&server, &Browser::new(&server), &client, &op, "vnpost").await;
        assert_eq!(
            r.status(),
            200,
            "forged answer {i}: refused, not yet blocked"
        );
        server.clock.advance(70);
    }
    // Locked now: even a good answer from the upstream is not looked at.
    op.set_mode(Mode::Good);
    let (_, r) = through_upstream(&server, &Browser::new(&server), &client, &op, "vnpost").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key(reqwest::header::RETRY_AFTER));
    assert!(r.text().await.unwrap().contains("try again later"));
    assert_eq!(count(&server, "accounts").await, 0, "nothing signed in");
    assert_eq!(count(&server, "authorization_codes").await, 0);

    let audit = server
        .provider()
        .store
        .audit()
        .recent("login_failed", 50)
        .await
        .unwrap();
    let with = |reason: &str| {
        audit
            .iter()
            .filter(|e| {
                e.detail.contains("source=vnpost")
                    && e.detail.contains(&format!("reason={reason} "))
                    && e.detail.contains("address=127.0.0.1")
            })
            .count()
    };
    assert_eq!(with("upstream_cancelled"), 6, "{audit:?}");
    assert_eq!(with("upstream_bad_signature"), 5, "{audit:?}");
    assert_eq!(with("throttled"), 1, "{audit:?}");
}
