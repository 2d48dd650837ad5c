//! Unit tests of the authorization request rules.
use super::*;
use crate::crypto::SigningAlg;
use crate::ids::ClientId;
use crate::model::{AuthMethod, SubjectType};

fn client(public: bool) -> Client {
    Client {
        client_id: ClientId::new("rp"),
        name: "RP".into(),
        secret_hash: None,
        previous_secret_hash: None,
        previous_secret_expires_at: None,
        auth_method: if public {
            AuthMethod::None
        } else {
            AuthMethod::ClientSecretBasic
        },
        redirect_uris: vec!["https://rp.example/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::AuthorizationCode],
        scopes: vec!["openid".into(), "profile".into(), "email".into()],
        subject_type: SubjectType::Public,
        sector: None,
        jwks_uri: None,
        jwks: None,
        backchannel_logout_uri: None,
        frontchannel_logout_uri: None,
        serves: vec![],
        first_party: false,
        id_token_alg: SigningAlg::ES256,
        audiences: vec![],
        refresh_grace_secs: 0,
        created_at: 0,
    }
}

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn params(extra: &[(&str, &str)]) -> Params {
    let mut pairs: Vec<(String, String)> = vec![
        ("client_id".into(), "rp".into()),
        ("redirect_uri".into(), "https://rp.example/cb".into()),
        ("response_type".into(), "code".into()),
        ("scope".into(), "openid profile".into()),
        ("state".into(), "xyz".into()),
        ("code_challenge".into(), CHALLENGE.into()),
        ("code_challenge_method".into(), "S256".into()),
    ];
    for (k, v) in extra {
        pairs.retain(|(n, _)| n != k);
        if !v.is_empty() {
            pairs.push((k.to_string(), v.to_string()));
        }
    }
    Params::from_pairs(pairs)
}

fn oauth() -> OAuthConfig {
    OAuthConfig {
        require_pkce: PkceRequirement::All,
    }
}

fn redirect_error(p: Params) -> ErrorCode {
    match AuthorizationRequest::validate(&p, &client(false), &oauth()) {
        Err(AuthorizeError::Redirect { error, target }) => {
            assert_eq!(target.uri(), "https://rp.example/cb");
            error.code
        }
        other => panic!("expected a redirect error, got {other:?}"),
    }
}

#[test]
fn valid_request() {
    let r = AuthorizationRequest::validate(&params(&[]), &client(false), &oauth()).unwrap();
    assert_eq!(r.scopes.to_string(), "openid profile");
    assert_eq!(r.code_challenge.as_deref(), Some(CHALLENGE));
    let url = r.target.with_code("abc", "https://id.example");
    assert_eq!(
        url,
        "https://rp.example/cb?code=abc&state=xyz&iss=https%3A%2F%2Fid.example"
    );
}

#[test]
fn unregistered_redirect_uri_is_a_page_never_a_redirect() {
    for uri in [
        "https://rp.example/cb/",
        "https://rp.example/cb?x=1",
        "https://evil.example/cb",
    ] {
        let p = params(&[("redirect_uri", uri)]);
        assert!(matches!(
            AuthorizationRequest::validate(&p, &client(false), &oauth()),
            Err(AuthorizeError::Page(e)) if e.code == ErrorCode::InvalidRequest
        ));
    }
    let p = params(&[("redirect_uri", "")]);
    assert!(matches!(
        AuthorizationRequest::validate(&p, &client(false), &oauth()),
        Err(AuthorizeError::Page(_))
    ));
}

#[test]
fn errors_after_the_redirect_uri_redirect() {
    assert_eq!(
        redirect_error(params(&[("response_type", "token")])),
        ErrorCode::UnsupportedResponseType
    );
    assert_eq!(
        redirect_error(params(&[("scope", "profile")])),
        ErrorCode::InvalidScope
    );
    assert_eq!(
        redirect_error(params(&[("scope", "openid phone")])),
        ErrorCode::InvalidScope
    );
    assert_eq!(
        redirect_error(params(&[("code_challenge_method", "plain")])),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        redirect_error(params(&[("code_challenge_method", "")])),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        redirect_error(params(&[
            ("code_challenge", ""),
            ("code_challenge_method", "")
        ])),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        redirect_error(params(&[("prompt", "none login")])),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        redirect_error(params(&[("max_age", "-1")])),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        redirect_error(params(&[("request", "eyJ")])),
        ErrorCode::RequestNotSupported
    );
    assert_eq!(
        redirect_error(params(&[("request_uri", "urn:x")])),
        ErrorCode::RequestUriNotSupported
    );
    let mut repeated = params(&[]);
    repeated
        .values
        .get_mut("scope")
        .unwrap()
        .push("openid".into());
    assert_eq!(redirect_error(repeated), ErrorCode::InvalidRequest);
}

#[test]
fn unknown_scopes_are_ignored() {
    let r = AuthorizationRequest::validate(
        &params(&[("scope", "openid custom:thing")]),
        &client(false),
        &oauth(),
    )
    .unwrap();
    assert_eq!(r.scopes.to_string(), "openid");
}

#[test]
fn pkce_optional_for_confidential_clients_only_when_configured() {
    let p = params(&[("code_challenge", ""), ("code_challenge_method", "")]);
    let relaxed = OAuthConfig {
        require_pkce: PkceRequirement::Public,
    };
    assert!(AuthorizationRequest::validate(&p, &client(false), &relaxed).is_ok());
    assert!(AuthorizationRequest::validate(&p, &client(true), &relaxed).is_err());
}

fn session(auth_time: i64, acr: &str) -> Session {
    Session {
        id: crate::ids::SessionId::new("s"),
        account_id: crate::ids::AccountId::new("a"),
        source_id: "password".into(),
        auth_time,
        acr: acr.into(),
        amr: vec!["pwd".into()],
        created_at: auth_time,
        last_seen_at: auth_time,
        expires_at: auth_time + 3600,
    }
}

#[test]
fn prompt_none_answers_exactly() {
    let r =
        AuthorizationRequest::validate(&params(&[("prompt", "none")]), &client(false), &oauth())
            .unwrap();
    assert_eq!(
        r.decide(false, true).unwrap_err().code,
        ErrorCode::LoginRequired
    );
    assert_eq!(
        r.decide(true, false).unwrap_err().code,
        ErrorCode::ConsentRequired
    );
    assert_eq!(r.decide(true, true).unwrap(), Decision::IssueCode);
}

#[test]
fn max_age_zero_is_prompt_login_even_in_the_second_of_the_login() {
    let s = session(1000, "urn:portico:loa:2");
    let r = AuthorizationRequest::validate(&params(&[("max_age", "0")]), &client(false), &oauth())
        .unwrap();
    assert!(!r.session_suffices(Some(&s), 1000));
    assert!(!r.session_suffices(Some(&s), 1001));
    assert_eq!(r.decide(false, true).unwrap(), Decision::Login);
    // The smallest other age still counts whole seconds.
    let r = AuthorizationRequest::validate(&params(&[("max_age", "1")]), &client(false), &oauth())
        .unwrap();
    assert!(r.session_suffices(Some(&s), 1001));
    assert!(!r.session_suffices(Some(&s), 1002));
}

#[test]
fn max_age_prompt_login_and_acr_force_login() {
    let s = session(1000, "urn:portico:loa:2");
    let r = AuthorizationRequest::validate(&params(&[("max_age", "60")]), &client(false), &oauth())
        .unwrap();
    assert!(r.session_suffices(Some(&s), 1060));
    assert!(!r.session_suffices(Some(&s), 1061));
    let r =
        AuthorizationRequest::validate(&params(&[("prompt", "login")]), &client(false), &oauth())
            .unwrap();
    assert!(!r.session_suffices(Some(&s), 1001));
    let r = AuthorizationRequest::validate(
        &params(&[("acr_values", "urn:portico:loa:3 urn:portico:loa:4")]),
        &client(false),
        &oauth(),
    )
    .unwrap();
    assert_eq!(r.min_loa, crate::model::Loa::new(3));
    assert!(!r.session_suffices(Some(&s), 1001));
    assert_eq!(r.decide(false, false).unwrap(), Decision::Login);
}

/// RFC 6749 section 3.1: unrecognised parameters are ignored, and not kept either.
#[test]
fn only_the_parameters_used_are_kept_and_they_validate_the_same() {
    let mut pairs: Vec<(String, String)> = (0..300)
        .map(|i| (format!("junk{i}"), "x".repeat(1024)))
        .collect();
    pairs.push(("nonce".into(), "n".into()));
    pairs.push(("max_age".into(), "60".into()));
    pairs.push(("resource".into(), "https://api.example".into()));
    let mut full = params(&[]);
    for (k, v) in pairs {
        full.values.entry(k).or_default().push(v);
    }
    let kept = full.authorization_only();
    let names: Vec<&String> = kept.values.keys().collect();
    assert!(
        names.iter().all(|n| PARAMETERS.contains(&n.as_str())),
        "{names:?}"
    );
    assert_eq!(kept.get("nonce").unwrap(), Some("n"));
    assert!(serde_json::to_string(&kept).unwrap().len() < 512);
    let (client, oauth) = (client(false), oauth());
    assert_eq!(
        AuthorizationRequest::validate(&kept, &client, &oauth).unwrap(),
        AuthorizationRequest::validate(&full, &client, &oauth).unwrap()
    );
}

#[test]
fn every_kept_parameter_is_bounded() {
    for (name, max) in [
        ("state", MAX_STATE),
        ("nonce", MAX_NONCE),
        ("login_hint", MAX_HINT),
        ("id_token_hint", MAX_ID_TOKEN_HINT),
        ("scope", MAX_SCOPE),
        ("acr_values", MAX_ACR_VALUES),
        ("ui_locales", MAX_UI_LOCALES),
        ("prompt", MAX_PROMPT),
    ] {
        // Values that would otherwise pass: repeated valid words.
        let word = match name {
            "scope" => "openid ",
            "prompt" => "login ",
            "ui_locales" => "vi ",
            _ => "a",
        };
        let long = word.repeat(max / word.len() + 1);
        assert_eq!(
            redirect_error(params(&[(name, &long)])),
            ErrorCode::InvalidRequest,
            "{name}"
        );
    }
    let padded_max_age = format!("{}60", "0".repeat(MAX_MAX_AGE));
    assert_eq!(
        redirect_error(params(&[("max_age", &padded_max_age)])),
        ErrorCode::InvalidRequest
    );
    // Within each bound, but too much together (a long registered redirect URI).
    let uri = format!("https://rp.example/cb?{}", "p".repeat(8000));
    let mut client = client(false);
    client.redirect_uris = vec![uri.clone()];
    let p = params(&[
        ("redirect_uri", &uri),
        ("id_token_hint", &"h".repeat(MAX_ID_TOKEN_HINT)),
        ("state", &"s".repeat(MAX_STATE)),
    ]);
    match AuthorizationRequest::validate(&p, &client, &oauth()) {
        Err(AuthorizeError::Redirect { error, .. }) => {
            assert_eq!(error.code, ErrorCode::InvalidRequest);
            assert!(error.description.contains("too large"), "{error:?}");
        }
        other => panic!("expected a redirect error, got {other:?}"),
    }
}
