//! OpenID Provider Metadata (OIDC Discovery section 3), listing exactly what is
//! implemented.

use serde_json::{Value, json};

use super::scopes::SUPPORTED;
use crate::config::{Config, Lang};

const ASSERTION_ALGS: [&str; 8] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
];

/// Every claim Portico can release: about the authentication, and about the person.
fn claims_supported() -> Vec<&'static str> {
    super::claims::PROTOCOL
        .iter()
        .chain(super::claims::PERSONAL)
        .copied()
        .filter(|c| *c != "at_hash")
        .collect()
}

pub fn document(config: &Config) -> Value {
    let issuer = config.issuer.as_str().trim_end_matches('/');
    let mut loas: Vec<crate::model::Loa> = config.sources.iter().map(|s| s.loa).collect();
    loas.sort_unstable();
    loas.dedup();
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "end_session_endpoint": format!("{issuer}/end_session"),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": true,
        "frontchannel_logout_session_supported": true,
        "scopes_supported": SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": loas.into_iter().map(crate::model::Loa::acr).collect::<Vec<_>>(),
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_supported": claims_supported(),
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "ui_locales_supported": Lang::ALL.map(Lang::as_str),
    })
}
