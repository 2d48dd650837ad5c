//! The authorization request (RFC 6749 section 4.1.1, OIDC Core section 3.1.2.1):
//! parsed once into [`AuthorizationRequest`]; after that no code reads raw strings.
//!
//! Errors come in two kinds that cannot be confused: [`AuthorizeError::Page`] when the
//! client or redirect URI cannot be trusted (shown to the person, never redirected), and
//! [`AuthorizeError::Redirect`] carrying a [`RedirectTarget`] that only this module can
//! build, from a registered redirect URI.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use url::Url;

use super::error::{ErrorCode, OAuthError};
use super::pkce;
use super::scopes::{ScopeSet, is_user_scope, is_valid_scope_token};
use crate::config::{OAuthConfig, PkceRequirement};
use crate::model::Loa;
use crate::model::{Client, GrantType, Session};

mod claims_request;
pub use claims_request::{ClaimRequest, ClaimsRequest, MAX_CLAIMS};

const MAX_STATE: usize = 2048;
const MAX_NONCE: usize = 512;
const MAX_HINT: usize = 256;
const MAX_ID_TOKEN_HINT: usize = 8192;
const MAX_SCOPE: usize = 2048;
const MAX_ACR_VALUES: usize = 1024;
const MAX_UI_LOCALES: usize = 256;
const MAX_PROMPT: usize = 128;
/// `max_age` as a `u32` of seconds: ten digits (leading zeros would parse too).
const MAX_MAX_AGE: usize = 10;
/// The parameters of [`PARAMETERS`] together, names included: each is bounded above
/// (`client_id` and `redirect_uri` by being registered), and so is their sum, since
/// that is what a pending request stores.
const MAX_REQUEST: usize = 16 * 1024;

/// The parameters [`AuthorizationRequest::validate`] reads and a request that passes it
/// may carry: all that a pending request keeps ([`Params::authorization_only`]).
/// `request`, `request_uri` and `registration` are read only to be refused.
pub const PARAMETERS: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "ui_locales",
    "id_token_hint",
    "acr_values",
    "claims",
];

/// The origin a registered redirect URI leads the browser to, as a CSP source
/// (`https://rp.example:8443`); a private-use scheme (RFC 8252 section 7.1) has no
/// origin, so it is the scheme (`com.example.app:`).
pub fn origin_of(uri: &str) -> String {
    match Url::parse(uri) {
        Ok(url) => match url.origin() {
            url::Origin::Tuple(..) => url.origin().ascii_serialization(),
            url::Origin::Opaque(_) => format!("{}:", url.scheme()),
        },
        // Registered URIs are absolute; nothing else is allowed then.
        Err(_) => "'none'".to_owned(),
    }
}

/// Where errors and codes go back to: a redirect URI registered for the client, with
/// the request's `state`. Only [`AuthorizationRequest::validate`] creates one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectTarget {
    uri: String,
    state: Option<String>,
}

impl RedirectTarget {
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// See [`origin_of`].
    pub fn origin(&self) -> String {
        origin_of(&self.uri)
    }

    fn with(&self, issuer: &str, pairs: &[(&str, &str)]) -> String {
        let mut url = Url::parse(&self.uri).expect("registered redirect URIs are absolute URLs");
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
            if let Some(state) = &self.state {
                q.append_pair("state", state);
            }
            // RFC 9207: the issuer identifies who answered, against mix-up attacks.
            q.append_pair("iss", issuer);
        }
        url.into()
    }

    /// The success response: `code`, `state`, `iss`.
    pub fn with_code(&self, code: &str, issuer: &str) -> String {
        self.with(issuer, &[("code", code)])
    }

    /// The error response: `error`, `error_description`, `state`, `iss`.
    pub fn with_error(&self, error: &OAuthError, issuer: &str) -> String {
        self.with(
            issuer,
            &[
                ("error", error.code.as_str()),
                ("error_description", &error.description),
            ],
        )
    }
}

#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or its redirect URI cannot be trusted: render, never redirect.
    Page(OAuthError),
    /// Send the error back to the client's registered redirect URI.
    Redirect {
        target: RedirectTarget,
        error: OAuthError,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
    pub select_account: bool,
}

/// A validated authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub target: RedirectTarget,
    pub scopes: ScopeSet,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Vec<String>,
    /// The `acr_values`, in order of preference.
    pub acr_values: Vec<String>,
    /// The lowest level of assurance among the recognised `acr_values`.
    pub min_loa: Option<Loa>,
    /// An ID token naming who the client expects to be logged in.
    pub id_token_hint: Option<String>,
    /// The `claims` parameter (OIDC Core section 5.5), its `acr` already folded into
    /// `acr_values` and `min_loa`.
    pub claims: ClaimsRequest,
}

/// The query or form parameters of a request, with repeated names remembered: RFC 6749
/// section 3.1 forbids repeating a parameter (RFC 8707's `resource` is the exception).
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Params {
    values: HashMap<String, Vec<String>>,
}

impl Params {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Params {
        let mut p = Params::default();
        for (k, v) in pairs {
            p.values.entry(k).or_default().push(v);
        }
        p
    }

    /// A parameter given once, with an empty value treated as absent (RFC 6749 section
    /// 3.1). `Err` names a repeated parameter.
    pub fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        match self.values.get(name).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([one]) => Ok(Some(one.as_str()).filter(|v| !v.is_empty())),
            Some(_) => Err(OAuthError::invalid_request(format!(
                "the `{name}` parameter must not be repeated"
            ))),
        }
    }

    /// Every value of a parameter that may be repeated.
    pub fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or_default()
    }

    /// The first parameter repeated that may not be, if any.
    pub fn first_repeated(&self) -> Option<&str> {
        let mut names: Vec<&String> = self
            .values
            .iter()
            .filter(|(k, v)| v.len() > 1 && k.as_str() != "resource")
            .map(|(k, _)| k)
            .collect();
        names.sort();
        names.first().map(|k| k.as_str())
    }

    /// Only the [`PARAMETERS`] an authorization request uses. RFC 6749 section 3.1 has
    /// unrecognised parameters ignored; a pending request stores this, so a request
    /// padded with junk costs the database no more than a plain one, and validating
    /// it again on resume reads the same values.
    pub fn authorization_only(&self) -> Params {
        Params {
            values: self
                .values
                .iter()
                .filter(|(k, _)| PARAMETERS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// The bytes of the [`PARAMETERS`] present, names and values.
    fn authorization_size(&self) -> usize {
        PARAMETERS
            .iter()
            .map(|name| {
                self.all(name)
                    .iter()
                    .map(|v| name.len() + v.len())
                    .sum::<usize>()
            })
            .sum()
    }

    /// The same parameters with `name` set to `value` (or removed): a pending request
    /// stores the `claims` it read in their normal form, not as sent.
    pub fn replaced(mut self, name: &str, value: Option<String>) -> Params {
        match value {
            Some(v) => self.values.insert(name.to_owned(), vec![v]),
            None => self.values.remove(name),
        };
        self
    }

    pub fn client_id(&self) -> Result<&str, OAuthError> {
        self.get("client_id")?
            .ok_or_else(|| OAuthError::invalid_request("the `client_id` parameter is missing"))
    }
}

impl AuthorizationRequest {
    pub fn validate(
        params: &Params,
        client: &Client,
        oauth: &OAuthConfig,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        // Until the redirect URI is verified, every error is a page.
        let redirect_uri = params
            .get("redirect_uri")
            .map_err(AuthorizeError::Page)?
            .ok_or_else(|| {
                AuthorizeError::Page(OAuthError::invalid_request(
                    "the `redirect_uri` parameter is missing",
                ))
            })?;
        // Exact string comparison (RFC 9700 section 2.1): no prefix, no normalisation.
        if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
            return Err(AuthorizeError::Page(
                OAuthError::invalid_request("the `redirect_uri` is not registered for this client")
                    .with_detail(format!("redirect_uri={redirect_uri}")),
            ));
        }
        let state = params.get("state").ok().flatten();
        let target = RedirectTarget {
            uri: redirect_uri.to_owned(),
            state: state.map(|s| s.chars().take(MAX_STATE).collect()),
        };
        let fail = |error: OAuthError| AuthorizeError::Redirect {
            target: target.clone(),
            error,
        };
        Self::validate_rest(params, client, oauth, target.clone()).map_err(fail)
    }

    fn validate_rest(
        params: &Params,
        client: &Client,
        oauth: &OAuthConfig,
        target: RedirectTarget,
    ) -> Result<AuthorizationRequest, OAuthError> {
        if let Some(name) = params.first_repeated() {
            return Err(OAuthError::invalid_request(format!(
                "the `{name}` parameter must not be repeated"
            )));
        }
        if params.authorization_size() > MAX_REQUEST {
            return Err(OAuthError::invalid_request(
                "the authorization request is too large",
            ));
        }
        let too_long = |name: &str, max: usize| -> Result<(), OAuthError> {
            match params.get(name)? {
                Some(v) if v.len() > max => {
                    Err(OAuthError::invalid_request(format!("`{name}` is too long")))
                }
                _ => Ok(()),
            }
        };
        // Every stored parameter is bounded: these here, the PKCE pair and the response
        // type and mode by their allowed values, the client and redirect URI by being
        // registered.
        too_long("state", MAX_STATE)?;
        too_long("nonce", MAX_NONCE)?;
        too_long("login_hint", MAX_HINT)?;
        too_long("id_token_hint", MAX_ID_TOKEN_HINT)?;
        too_long("scope", MAX_SCOPE)?;
        too_long("acr_values", MAX_ACR_VALUES)?;
        too_long("ui_locales", MAX_UI_LOCALES)?;
        too_long("prompt", MAX_PROMPT)?;
        too_long("claims", MAX_CLAIMS)?;
        if params.get("request")?.is_some() {
            return Err(OAuthError::new(
                ErrorCode::RequestNotSupported,
                "request objects are not supported",
            ));
        }
        if params.get("request_uri")?.is_some() {
            return Err(OAuthError::new(
                ErrorCode::RequestUriNotSupported,
                "`request_uri` is not supported",
            ));
        }
        if params.get("registration")?.is_some() {
            return Err(OAuthError::new(
                ErrorCode::RegistrationNotSupported,
                "the `registration` parameter is not supported",
            ));
        }
        match params.get("response_type")? {
            None => {
                return Err(OAuthError::invalid_request(
                    "the `response_type` parameter is missing",
                ));
            }
            Some("code") => {}
            Some(other) => {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedResponseType,
                    "only the `code` response type is supported",
                )
                .with_detail(format!("response_type={other}")));
            }
        }
        match params.get("response_mode")? {
            None | Some("query") => {}
            Some(_) => {
                return Err(OAuthError::invalid_request(
                    "only `response_mode=query` is supported",
                ));
            }
        }
        if !client.allows_grant(GrantType::AuthorizationCode) {
            return Err(OAuthError::unauthorized_client(
                "this client may not use the authorization code flow",
            ));
        }
        let scopes = parse_scopes(params.get("scope")?, client)?;
        let code_challenge = parse_pkce(params, client, oauth)?;
        let nonce = params.get("nonce")?;
        let prompt = parse_prompt(params.get("prompt")?)?;
        let max_age = match params.get("max_age")? {
            None => None,
            Some(v) => Some(
                v.parse::<u32>()
                    .ok()
                    .filter(|_| v.len() <= MAX_MAX_AGE)
                    .ok_or_else(|| {
                        OAuthError::invalid_request("`max_age` must be a number of seconds")
                    })? as i64,
            ),
        };
        let login_hint = params.get("login_hint")?;
        let ui_locales = params
            .get("ui_locales")?
            .map(|l| {
                l.split(' ')
                    .filter(|s| !s.is_empty())
                    .take(10)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let id_token_hint = params.get("id_token_hint")?;
        let claims = params
            .get("claims")?
            .map(ClaimsRequest::parse)
            .transpose()?
            .unwrap_or_default();
        let acr_values: Vec<String> = params
            .get("acr_values")?
            .map(|v| {
                v.split(' ')
                    .filter(|s| !s.is_empty())
                    .take(10)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let (acr_values, min_loa) = claims_request::acr_requirement(acr_values, &claims)?;
        Ok(AuthorizationRequest {
            client_id: client.client_id.to_string(),
            target,
            scopes,
            nonce: nonce.map(str::to_owned),
            code_challenge,
            prompt,
            max_age,
            login_hint: login_hint.map(str::to_owned),
            ui_locales,
            acr_values,
            min_loa,
            id_token_hint: id_token_hint.map(str::to_owned),
            claims,
        })
    }
}

fn parse_scopes(raw: Option<&str>, client: &Client) -> Result<ScopeSet, OAuthError> {
    let raw = raw.ok_or_else(|| OAuthError::invalid_scope("the `openid` scope is required"))?;
    if !raw
        .split(' ')
        .filter(|s| !s.is_empty())
        .all(is_valid_scope_token)
    {
        return Err(OAuthError::invalid_scope("`scope` has invalid characters"));
    }
    // Unknown scopes are ignored (OIDC Core section 3.1.2.1), and so is offline_access
    // for a client that may not hold refresh tokens (section 11).
    let requested = ScopeSet::parse(raw).filter(|s| {
        (is_user_scope(s) || client.scopes.iter().any(|c| c == s))
            && (s != "offline_access" || client.allows_grant(GrantType::RefreshToken))
    });
    if !requested.contains("openid") {
        return Err(OAuthError::invalid_scope("the `openid` scope is required"));
    }
    let refused: Vec<&str> = requested
        .iter()
        .filter(|s| !client.scopes.iter().any(|c| c == s))
        .collect();
    if !refused.is_empty() {
        return Err(OAuthError::invalid_scope(format!(
            "this client may not request: {}",
            refused.join(" ")
        )));
    }
    Ok(requested)
}

fn parse_pkce(
    params: &Params,
    client: &Client,
    oauth: &OAuthConfig,
) -> Result<Option<String>, OAuthError> {
    let challenge = params.get("code_challenge")?;
    let method = params.get("code_challenge_method")?;
    let required = client.is_public() || oauth.require_pkce == PkceRequirement::All;
    match (challenge, method) {
        (None, None) if required => Err(OAuthError::invalid_request(
            "PKCE is required: send `code_challenge` with `code_challenge_method=S256`",
        )),
        (None, None) => Ok(None),
        (None, Some(_)) => Err(OAuthError::invalid_request("`code_challenge` is missing")),
        // RFC 7636 section 4.3: an absent method means `plain`, which is refused.
        (Some(_), None) | (Some(_), Some("plain")) => Err(OAuthError::invalid_request(
            "`code_challenge_method` must be S256 (plain is not accepted)",
        )),
        (Some(_), Some(m)) if m != "S256" => Err(OAuthError::invalid_request(
            "`code_challenge_method` must be S256",
        )),
        (Some(c), Some(_)) if !pkce::is_valid_s256_challenge(c) => {
            Err(OAuthError::invalid_request(
                "`code_challenge` must be the 43-character base64url SHA-256 of the verifier",
            ))
        }
        (Some(c), Some(_)) => Ok(Some(c.to_owned())),
    }
}

fn parse_prompt(raw: Option<&str>) -> Result<Prompt, OAuthError> {
    let mut p = Prompt::default();
    let Some(raw) = raw else { return Ok(p) };
    for value in raw.split(' ').filter(|s| !s.is_empty()) {
        match value {
            "none" => p.none = true,
            "login" => p.login = true,
            "consent" => p.consent = true,
            "select_account" => p.select_account = true,
            other => {
                return Err(OAuthError::invalid_request(format!(
                    "unknown prompt value `{other}`"
                )));
            }
        }
    }
    if p.none && (p.login || p.consent || p.select_account) {
        return Err(OAuthError::invalid_request(
            "`prompt=none` cannot be combined with other values",
        ));
    }
    Ok(p)
}

/// What an authorization request needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Login,
    Consent,
    IssueCode,
}

impl AuthorizationRequest {
    /// Whether the session (if any) is good enough for this request, without asking
    /// the person: present, recent enough for `max_age` (never for `max_age=0`), strong
    /// enough for `acr_values`, and not overridden by `prompt=login`/`select_account`.
    pub fn session_suffices(&self, session: Option<&Session>, now: i64) -> bool {
        let Some(s) = session else { return false };
        if self.prompt.login || self.prompt.select_account {
            return false;
        }
        // `max_age=0` is `prompt=login` (OIDC Core 3.1.2.1); by the age alone, in whole
        // seconds, a login in this very second would pass.
        if self
            .max_age
            .is_some_and(|max| max == 0 || now - s.auth_time > max)
        {
            return false;
        }
        if let Some(min) = self.min_loa {
            if Loa::from_acr(&s.acr).is_none_or(|have| have < min) {
                return false;
            }
        }
        true
    }

    /// The next step. `session_ok` says whether the person is authenticated well enough
    /// (see [`Self::session_suffices`], or a login just completed); `consent_given`
    /// whether the client needs no consent screen for these scopes.
    pub fn decide(&self, session_ok: bool, consent_given: bool) -> Result<Decision, OAuthError> {
        if !session_ok {
            if self.prompt.none {
                return Err(OAuthError::new(
                    ErrorCode::LoginRequired,
                    "the user must log in, and prompt=none forbids asking",
                ));
            }
            return Ok(Decision::Login);
        }
        if !consent_given || self.prompt.consent {
            if self.prompt.none {
                return Err(OAuthError::new(
                    ErrorCode::ConsentRequired,
                    "the user must consent, and prompt=none forbids asking",
                ));
            }
            return Ok(Decision::Consent);
        }
        Ok(Decision::IssueCode)
    }
}

#[cfg(test)]
mod tests;
