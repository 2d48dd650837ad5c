//! Entry points for the fuzz targets in `fuzz/` (`cargo +nightly fuzz run <target>`),
//! built only with the `fuzzing` feature.
//!
//! Each target feeds untrusted bytes to the code that reads them in production, through
//! the real router of a real provider (SQLite in a temporary folder, keys generated on
//! start, two registered clients), so that a panic anywhere on the path (parsing,
//! validation, the database, the error responses) is found, not only in one parser.
//! Inputs that would need valid signatures to get past the first check are also fed in a
//! "signed" form: the fuzzer's bytes become the JWT's claims, signed with a key the
//! provider trusts, so the claim checks behind the signature are fuzzed too.

mod certificate_mapping;

pub use certificate_mapping::{Mapped, certificate_mapping};

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use tower::ServiceExt;

use crate::app::App;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::SigningAlg;
use crate::crypto::keys::{KeyEntry, KeyRing, SigningKey};
use crate::model::{AuthMethod, GrantType};
use crate::oidc::registration::{ClientRegistration, register};

/// The provider's time, fixed so that a corpus entry's `exp` and `iat` stay meaningful:
/// 2033-05-18T03:33:20Z.
pub const NOW: i64 = 2_000_000_000;

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        NOW
    }
}

/// The client whose redirect URI the authorization target may use.
pub const CODE_CLIENT: &str = "fuzz-portal";
/// The `private_key_jwt` client of the client-assertion target.
pub const JWT_CLIENT: &str = "fuzz-jwt";

struct Harness {
    runtime: tokio::runtime::Runtime,
    app: Arc<App>,
    router: Router,
    /// Signs the "signed" form of client assertions; its public key is `JWT_CLIENT`'s.
    client_key: KeyRing,
    _dir: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let dir = tempfile::tempdir().expect("a temporary folder");
        let toml = format!(
            "issuer = \"http://127.0.0.1:9\"\nlisten = \"127.0.0.1:9\"\n\
             database_url = \"sqlite://{db}\"\nkeys_dir = \"{keys}\"\n\
             [password]\nmemory_kib = 8192\niterations = 1\n",
            db = dir.path().join("fuzz.db").display(),
            keys = dir.path().join("keys").display(),
        );
        let config = Config::from_parts(&toml, &[]).expect("fuzz configuration");
        let alg = SigningAlg::ES256;
        let key = SigningKey::from_pkcs8(alg, &SigningKey::generate_pkcs8(alg).expect("key"))
            .expect("key");
        let jwks = serde_json::json!({ "keys": [key.public_jwk.clone()] }).to_string();
        let client_key = KeyRing::new(vec![KeyEntry {
            key,
            activates_at: 0,
            retired_at: None,
        }]);
        let app = runtime.block_on(async {
            let app = App::start(config, Arc::new(FixedClock))
                .await
                .expect("the provider starts");
            let code_client = ClientRegistration {
                grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                ..ClientRegistration::new(CODE_CLIENT, vec!["https://portal.example/cb".into()])
            };
            let jwt_client = ClientRegistration {
                grant_types: vec![GrantType::ClientCredentials],
                scopes: vec!["reports.read".into()],
                audiences: vec!["https://reports.example".into()],
                auth_method: Some(AuthMethod::PrivateKeyJwt),
                jwks: Some(jwks),
                ..ClientRegistration::new(JWT_CLIENT, vec![])
            };
            for reg in [code_client, jwt_client] {
                let (client, _secret) = register(reg, app.issuer_url(), app.config.outbound, 0)
                    .await
                    .expect("a valid registration");
                app.store.clients().insert(&client).await.expect("stored");
            }
            app
        });
        let app = Arc::new(app);
        Harness {
            router: crate::http::router(app.clone()),
            runtime,
            app,
            client_key,
            _dir: dir,
        }
    })
}

/// Sends one request through the router and reads the whole answer. Any status is
/// fine to the fuzzer, which looks for panics; the tests below check that the seeds
/// reach the paths they are for.
fn send(h: &Harness, request: Request<Body>) -> Answer {
    let mut request = request;
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    h.runtime.block_on(async {
        let response = h
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let answer = Answer {
            status: response.status(),
            location: response
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned),
        };
        let _ = axum::body::to_bytes(response.into_body(), 1 << 20).await;
        answer
    })
}

/// What an endpoint answered, for the harness's own tests.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
}

fn form_post(path: &str, authorization: Option<&[u8]>, body: Vec<u8>) -> Request<Body> {
    let mut r = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(value) = authorization.filter(|v| !v.is_empty()) {
        r = r.header(header::AUTHORIZATION, value);
    }
    // A header value the fuzzer made invalid is refused by the builder: fall back to
    // the body alone, which still exercises the endpoint.
    r.body(Body::from(body.clone())).unwrap_or_else(|_| {
        Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("a plain request")
    })
}

fn query(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The authorization request (`/authorize`): the input is the query string of a GET,
/// or with a leading `P` the form body of a POST (RFC 6749 4.1.1, OIDC Core 3.1.2.1).
pub fn authorization_request(data: &[u8]) -> Option<Answer> {
    let h = harness();
    let request = match data.split_first() {
        Some((b'P', body)) => form_post("/authorize", None, body.to_vec()),
        _ => {
            // The URI parser refuses some bytes before any Portico code runs; encode
            // those so that the request reaches the parameter parser.
            let raw: String = data
                .iter()
                .map(|&b| match b {
                    b'!'..=b'~' if b != b'#' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            Request::get(format!("/authorize?{raw}"))
                .body(Body::empty())
                .ok()?
        }
    };
    Some(send(h, request))
}

/// The token request (`/token`): the bytes before the first newline are the
/// `Authorization` header (empty for none), the rest the form body.
pub fn token_request(data: &[u8]) -> Option<Answer> {
    let h = harness();
    let (authorization, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (Some(&data[..i]), &data[i + 1..]),
        None => (None, data),
    };
    Some(send(h, form_post("/token", authorization, body.to_vec())))
}

/// A `private_key_jwt` client assertion (RFC 7523) at `/token`. With a leading `S`
/// the rest is the JSON claims set, signed with the client's registered key; otherwise
/// the input is the assertion as presented.
pub fn client_assertion(data: &[u8]) -> Option<Answer> {
    let h = harness();
    let assertion = match data.split_first() {
        Some((b'S', claims)) => {
            let claims = serde_json::from_slice::<serde_json::Value>(claims).ok()?;
            h.client_key
                .sign(SigningAlg::ES256, "JWT", &claims, 0)
                .ok()?
        }
        _ => String::from_utf8_lossy(data).into_owned(),
    };
    let body = query(&[
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", &assertion),
        ("client_id", JWT_CLIENT),
    ]);
    Some(send(h, form_post("/token", None, body.into_bytes())))
}

/// The `id_token_hint` of RP-initiated logout (`/end_session`). With a leading `S` the
/// rest is the JSON claims set, signed with the provider's own ID-token key (as an
/// ID token it issued would be); otherwise the input is the hint as presented.
pub fn id_token_hint(data: &[u8]) -> Option<Answer> {
    let h = harness();
    let hint = match data.split_first() {
        Some((b'S', claims)) => {
            let claims = serde_json::from_slice::<serde_json::Value>(claims).ok()?;
            h.app
                .keys
                .ring()
                .sign(SigningAlg::ES256, "JWT", &claims, NOW)
                .ok()?
        }
        _ => String::from_utf8_lossy(data).into_owned(),
    };
    let q = query(&[
        ("id_token_hint", &hint),
        ("post_logout_redirect_uri", "https://portal.example/bye"),
    ]);
    let request = Request::get(format!("/end_session?{q}"))
        .body(Body::empty())
        .ok()?;
    Some(send(h, request))
}

/// The harness is only useful if the seeds reach what they are for: a valid request
/// must get past every check, or the fuzzer explores error paths alone.
/// `cargo test --features fuzzing --lib fuzzing` (run by `.ci/run` before the fuzzing).
#[cfg(test)]
mod tests {
    use super::*;

    fn seed(target: &str, name: &str) -> Vec<u8> {
        let path = format!("{}/fuzz/corpus/{target}/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn status(answer: Option<Answer>) -> StatusCode {
        answer.expect("a request").status
    }

    #[test]
    fn the_seeds_reach_the_paths_they_are_for() {
        // A valid authorization request needs a login: to the login page, not an error.
        for name in ["seed-code", "seed-claims"] {
            let a = authorization_request(&seed("authorization_request", name)).unwrap();
            assert_eq!(a.status, StatusCode::SEE_OTHER, "{name}");
            let to = a.location.unwrap_or_default();
            assert!(to.starts_with("/login?request="), "{name}: {to}");
        }
        // A level no source reaches is an error sent back to the portal (OIDC Unmet
        // Authentication Requirements 1.0).
        let a = authorization_request(&seed("authorization_request", "seed-unmet")).unwrap();
        let to = a.location.unwrap_or_default();
        assert!(
            to.contains("error=unmet_authentication_requirements"),
            "{to}"
        );
        // An unknown client's request is an error page, never a redirect.
        assert_eq!(
            status(authorization_request(
                b"client_id=nobody&response_type=code"
            )),
            StatusCode::BAD_REQUEST
        );
        // A signed assertion with valid claims authenticates the client: a token.
        let signed = seed("client_assertion", "seed-signed");
        assert_eq!(status(client_assertion(&signed)), StatusCode::OK);
        // The same assertion again is a replay, and `none` is no signature: refused.
        assert_eq!(status(client_assertion(&signed)), StatusCode::UNAUTHORIZED);
        let none = seed("client_assertion", "seed-none");
        assert_eq!(status(client_assertion(&none)), StatusCode::UNAUTHORIZED);
        // A wrong secret at /token is an OAuth JSON error.
        let code = seed("token_request", "seed-code");
        assert_eq!(status(token_request(&code)), StatusCode::UNAUTHORIZED);
        // A hint signed by the provider is read (the logout confirmation page); an
        // unsigned one is refused.
        let hint = seed("id_token_hint", "seed-signed");
        assert_eq!(status(id_token_hint(&hint)), StatusCode::OK);
        let none = seed("id_token_hint", "seed-none");
        assert_eq!(status(id_token_hint(&none)), StatusCode::BAD_REQUEST);
    }

    fn mapped(name: &str) -> Mapped {
        certificate_mapping(&seed("certificate_mapping", name)).expect("a certificate")
    }

    fn claim<'a>(v: &'a Option<crate::model::VerifiedIdentity>, claim: &str) -> Option<&'a str> {
        v.as_ref().and_then(|v| v.verified(claim))
    }

    #[test]
    fn the_certificate_seeds_reach_each_mapping() {
        let person = mapped("seed-cccd");
        let v = person.default.as_ref().expect("a person");
        assert_eq!(v.subject, "CCCD:079201000001");
        assert_eq!(v.amr, ["hwk"]);
        assert_eq!(
            claim(&person.issuer_mapping, "national_id"),
            Some("079201000001")
        );
        assert_eq!(person.issuer_mapping.as_ref().unwrap().amr, ["hwk", "sc"]);
        assert!(
            person.audited.starts_with("issuer=\"C=VN, CN="),
            "{}",
            person.audited
        );

        let old = mapped("seed-cmnd");
        assert_eq!(claim(&old.default, "national_id"), Some("025123456"));
        assert_eq!(claim(&old.default, "family_name"), Some("Trần"));

        let enterprise = mapped("seed-mst");
        assert_eq!(
            claim(&enterprise.default, "tax_code"),
            Some("0101234567-001")
        );
        assert_eq!(
            claim(&enterprise.default, "account_kind"),
            Some("enterprise")
        );

        let both = mapped("seed-representative");
        assert_eq!(claim(&both.default, "national_id"), Some("001088000123"));
        assert_eq!(
            claim(&both.default, "representative_of"),
            Some("0101234567")
        );

        // The tax code in `serialNumber` is read only when the CA's mapping says so.
        let serial = mapped("seed-serial-number");
        assert_eq!(claim(&serial.default, "representative_of"), None);
        assert_eq!(
            claim(&serial.issuer_mapping, "representative_of"),
            Some("0309876543")
        );

        // The structured mode builds a certificate the mapping reads.
        let built = mapped("seed-structured");
        assert_eq!(claim(&built.default, "national_id"), Some("025123456"));
        assert_eq!(
            claim(&built.default, "representative_of"),
            Some("0101234567")
        );
        assert_eq!(claim(&built.default, "name"), Some("Hoàng Văn Em"));

        // Bytes that are no certificate name nobody, and the audit line says so.
        let junk = certificate_mapping(b"\x30\x03\x02\x01\x00").unwrap();
        assert!(junk.default.is_none() && junk.issuer_mapping.is_none());
        assert_eq!(junk.audited, "issuer=? serial=?");
        // Numeric attribute types are not built (const-oid's text parser overflows on
        // long arcs: the fuzzer's first find, in the harness only).
        let long_arc = format!("N{}=x", "1".repeat(40));
        assert!(certificate_mapping(long_arc.as_bytes()).is_none());
        assert!(certificate_mapping(b"N2.5.4.3=Nobody").is_none());
    }
}
