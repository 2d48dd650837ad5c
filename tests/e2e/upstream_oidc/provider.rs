//! The fake upstream OpenID provider: real protocol on a random port, misbehaving on demand.

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

pub(crate) const UPSTREAM_SECRET: &str = "upstream-client-secret";

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Mode {
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

pub(crate) struct Key {
    pub(crate) kid: String,
    pub(crate) encoding: jsonwebtoken::EncodingKey,
    pub(crate) jwk: Value,
}

pub(crate) fn new_key(kid: &str) -> Key {
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

pub(crate) struct Grant {
    pub(crate) nonce: String,
    pub(crate) challenge: String,
    pub(crate) redirect_uri: String,
    pub(crate) sub: String,
    pub(crate) claims: Value,
}

pub(crate) struct OpState {
    pub(crate) issuer: String,
    /// Signs; published at /jwks once `published` says so.
    pub(crate) keys: Vec<Key>,
    /// Which of `keys` signs, and how many of them /jwks publishes.
    pub(crate) signing: Mutex<usize>,
    pub(crate) published: Mutex<usize>,
    pub(crate) rogue: Key,
    pub(crate) mode: Mutex<Mode>,
    /// Who signs in at the upstream next: its `sub` and claims.
    pub(crate) person: Mutex<(String, Value)>,
    pub(crate) codes: Mutex<HashMap<String, Grant>>,
    pub(crate) tokens: Mutex<HashMap<String, (String, Value)>>,
    /// What the last authorization request carried.
    pub(crate) last_authorize: Mutex<HashMap<String, String>>,
    pub(crate) jwks_fetches: Mutex<u32>,
    pub(crate) discoveries: Mutex<u32>,
    /// Portico's public keys, registered for `private_key_jwt`; and the claims of the
    /// last assertion it verified.
    pub(crate) client_jwks: Mutex<Option<Value>>,
    pub(crate) last_assertion: Mutex<Option<Value>>,
}

/// A fake upstream OpenID provider on a random port.
pub(crate) struct Upstream {
    pub(crate) base: String,
    pub(crate) state: Arc<OpState>,
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

    pub(crate) fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    pub(crate) fn set_person(&self, sub: &str, claims: Value) {
        *self.state.person.lock().unwrap() = (sub.to_owned(), claims);
    }
}

pub(crate) async fn discovery(State(op): State<Arc<OpState>>) -> Response {
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

pub(crate) async fn jwks(State(op): State<Arc<OpState>>) -> Response {
    *op.jwks_fetches.lock().unwrap() += 1;
    let n = *op.published.lock().unwrap();
    let keys: Vec<Value> = op.keys[..n].iter().map(|k| k.jwk.clone()).collect();
    axum::Json(json!({ "keys": keys })).into_response()
}

pub(crate) fn redirect(to: String) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

pub(crate) async fn authorize(
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

pub(crate) fn sign(op: &OpState, claims: &Value, rogue: bool) -> String {
    let key = if rogue {
        &op.rogue
    } else {
        &op.keys[*op.signing.lock().unwrap()]
    };
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

pub(crate) async fn token(
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
pub(crate) fn client_assertion_ok(
    op: &OpState,
    form: &HashMap<String, String>,
    assertion: &str,
) -> bool {
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

pub(crate) async fn userinfo(State(op): State<Arc<OpState>>, headers: HeaderMap) -> Response {
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
