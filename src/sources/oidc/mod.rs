//! `kind = "oidc"`: an upstream OpenID provider (the postal identity, the social-security
//! accounts...) of which Portico is a relying party. `openidconnect` builds the
//! authorization request (code flow, PKCE S256, `state` = the attempt's handle, a nonce)
//! and exchanges the code; Portico verifies the ID token and a signed userinfo answer
//! itself ([`verify`]) against the upstream's key set, refetched once on an unknown `kid`.
//!
//! The attempt's state (nonce, PKCE verifier) is sealed by `login` in `login_attempts`;
//! the provider's discovery document and keys are cached in memory ([`provider`]).

mod msisdn;
mod provider;
mod upstream;
mod verify;

use std::sync::Arc;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreTokenResponse,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RequestTokenError, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{
    Advance, AttemptState, Begin, BeginContext, Input, Refusal, Rejection, SourceDeps, Step,
    UpstreamFailure,
};
use crate::clock::Clock;
use crate::config::{OidcSourceConfig, SecretMethod, SourceConfig, UpstreamClientAuth};
use crate::crypto::keys::KeyEntry;
use crate::crypto::{KeyRing, SigningAlg, SigningKey};
use crate::model::VerifiedIdentity;
use provider::{Provider, ProviderCache};

/// The client `openidconnect` builds from discovery: an authorization endpoint, and a
/// token and userinfo endpoint if the document has them.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;
use upstream::{CallError, Upstream};
use verify::{Expect, Invalid};

/// RFC 8176 methods passed on from the upstream's `amr` (beside Portico's own `fed`).
const RFC8176_AMR: [&str; 20] = [
    "face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pop", "pwd", "rba",
    "retina", "sc", "sms", "swk", "tel", "user", "vbm",
];

#[derive(Clone)]
pub struct OidcSource {
    pub config: SourceConfig,
    pub kind: OidcSourceConfig,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    /// `{issuer}/login/{id}/callback`, the redirect URI registered upstream.
    callback_url: String,
    /// The `private_key_jwt` key, when that is how Portico authenticates upstream.
    signing: Option<(Arc<KeyRing>, SigningAlg)>,
    cache: Arc<ProviderCache>,
}

impl std::fmt::Debug for OidcSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSource")
            .field("config", &self.config)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Where an attempt is, sealed in the attempt row between steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum State {
    /// A Mobile Connect operator begun without a number: the page asking it is shown.
    Number,
    /// Gone upstream; what the callback must match. Both values are secrets the
    /// browser never sees.
    Upstream {
        nonce: String,
        pkce_verifier: String,
    },
}

/// What the callback's checks found wrong.
struct Failed(UpstreamFailure, String);

impl From<CallError> for Failed {
    fn from(e: CallError) -> Self {
        Failed(e.failure, e.detail)
    }
}

/// The configured `private_key_jwt` key (checked when the configuration was read).
fn signing_key(kind: &OidcSourceConfig) -> Option<(Arc<KeyRing>, SigningAlg)> {
    use base64::Engine;
    let UpstreamClientAuth::PrivateKeyJwt { key_pkcs8, alg } = &kind.client_auth else {
        return None;
    };
    let der = base64::engine::general_purpose::STANDARD
        .decode(key_pkcs8.expose())
        .ok()?;
    let key = SigningKey::from_pkcs8(*alg, &der).ok()?;
    let ring = KeyRing::new(vec![KeyEntry {
        key,
        activates_at: i64::MIN,
        retired_at: None,
    }]);
    Some((Arc::new(ring), *alg))
}

impl OidcSource {
    pub fn new(config: &SourceConfig, kind: &OidcSourceConfig, deps: &SourceDeps<'_>) -> Self {
        let issuer = deps.issuer.trim_end_matches('/');
        OidcSource {
            config: config.clone(),
            kind: kind.clone(),
            http: deps.http.clone(),
            clock: deps.clock.clone(),
            callback_url: format!("{issuer}/login/{}/callback", config.id),
            signing: signing_key(kind),
            cache: Arc::default(),
        }
    }

    fn upstream(&self) -> Upstream<'_> {
        Upstream {
            http: &self.http,
            timeout: self.kind.timeout,
        }
    }

    fn refusal(&self, Failed(failure, detail): Failed) -> Refusal {
        Refusal::Upstream {
            source_id: self.config.id.clone(),
            failure,
            detail,
        }
    }

    async fn provider(&self) -> Result<Arc<Provider>, Failed> {
        let ttl = self.kind.discovery_ttl.as_secs() as i64;
        let now = self.clock.now();
        Ok(self
            .cache
            .get(self.upstream(), &self.kind.issuer, ttl, now)
            .await?)
    }

    /// The public key set to register at the upstream for `private_key_jwt`.
    pub fn public_jwks(&self) -> Option<serde_json::Value> {
        let (ring, _) = self.signing.as_ref()?;
        serde_json::from_slice(&ring.jwks_json()).ok()
    }

    /// Whether this source can serve a portal's `login_hint`: a Mobile Connect
    /// operator serves only the numbers of its prefixes (a hint that is not a plain
    /// number says nothing about the operator); any other source serves every hint.
    pub fn serves(&self, login_hint: Option<&str>) -> bool {
        let Some(mc) = &self.kind.mobile_connect else {
            return true;
        };
        match login_hint.and_then(msisdn::parse) {
            Some(msisdn::Hint::Msisdn(number)) => {
                mc.msisdn_prefixes.iter().any(|p| number.starts_with(p))
            }
            _ => true,
        }
    }

    /// Whether this is a Mobile Connect operator serving the number of this
    /// `login_hint` (`MSISDN:+84...`).
    pub fn serves_number(&self, login_hint: &str) -> bool {
        self.kind.mobile_connect.is_some()
            && matches!(msisdn::parse(login_hint), Some(msisdn::Hint::Msisdn(_)))
            && self.serves(Some(login_hint))
    }

    /// The redirect URI to register at the upstream.
    pub fn callback_url(&self) -> &str {
        &self.callback_url
    }

    fn client(&self, provider: &Provider) -> Result<Client, Failed> {
        let secret = match &self.kind.client_auth {
            UpstreamClientAuth::Secret { secret, .. } => {
                Some(ClientSecret::new(secret.expose().to_owned()))
            }
            UpstreamClientAuth::PrivateKeyJwt { .. } => None,
        };
        let redirect = RedirectUrl::new(self.callback_url.clone())
            .map_err(|e| Failed(UpstreamFailure::Invalid, format!("callback URL: {e}")))?;
        let client = CoreClient::from_provider_metadata(
            provider.metadata.clone(),
            ClientId::new(self.kind.client_id.clone()),
            secret,
        )
        .set_redirect_uri(redirect);
        Ok(client.set_auth_type(self.auth_type(provider)))
    }

    /// `client_secret_basic` unless configured otherwise or the upstream's metadata
    /// lists `client_secret_post` and not basic (basic is the default when it lists
    /// none: OIDC Discovery section 3); `private_key_jwt` sends the client id and the
    /// assertion in the body.
    fn auth_type(&self, provider: &Provider) -> AuthType {
        match &self.kind.client_auth {
            UpstreamClientAuth::PrivateKeyJwt { .. } => AuthType::RequestBody,
            UpstreamClientAuth::Secret {
                method: Some(SecretMethod::Basic),
                ..
            } => AuthType::BasicAuth,
            UpstreamClientAuth::Secret {
                method: Some(SecretMethod::Post),
                ..
            } => AuthType::RequestBody,
            UpstreamClientAuth::Secret { method: None, .. } => {
                match provider.metadata.token_endpoint_auth_methods_supported() {
                    Some(list)
                        if list.contains(&CoreClientAuthMethod::ClientSecretPost)
                            && !list.contains(&CoreClientAuthMethod::ClientSecretBasic) =>
                    {
                        AuthType::RequestBody
                    }
                    _ => AuthType::BasicAuth,
                }
            }
        }
    }

    /// The redirect to the upstream's authorization endpoint.
    pub async fn begin(&self, ctx: &BeginContext<'_>) -> Result<Begin, Refusal> {
        // Only a stored attempt goes upstream (its handle is the `state`); the login
        // page's own form has none, and must not make Portico call the upstream.
        if ctx.handle.is_empty() {
            return Err(Refusal::Expired {
                source_id: self.config.id.clone(),
            });
        }
        let hint = ctx.login_hint.and_then(msisdn::parse);
        if self.kind.mobile_connect.is_some() && hint.is_none() {
            // The operator pushes the approval to a phone: it must know which one.
            return Ok(Begin {
                step: Step::Form(msisdn::number_form()),
                state: AttemptState::Oidc(State::Number),
            });
        }
        let provider = self.provider().await.map_err(|f| self.refusal(f))?;
        let client = self.client(&provider).map_err(|f| self.refusal(f))?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = crate::random::token().expose().to_owned();
        let (state, sent_nonce) = (ctx.handle.to_owned(), nonce.clone());
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(sent_nonce),
            )
            .set_pkce_challenge(challenge);
        // openidconnect sends `openid` itself.
        for scope in self.kind.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if let Some(mc) = &self.kind.mobile_connect {
            // Mobile Connect: the number the portal named, and the operator's acr values
            // for the source's level or above, lowest first.
            if let Some(hint) = &hint {
                request = request.add_extra_param("login_hint", msisdn::login_hint(hint));
            }
            let mut wanted: Vec<(&u8, &String)> = mc
                .acr_values
                .iter()
                .filter(|(_, level)| **level >= self.config.loa.level())
                .map(|(value, level)| (level, value))
                .collect();
            wanted.sort();
            let values: Vec<&str> = wanted.iter().map(|(_, v)| v.as_str()).collect();
            if !values.is_empty() {
                request = request.add_extra_param("acr_values", values.join(" "));
            }
        }
        let (url, _, _) = request.url();
        Ok(Begin {
            step: Step::Redirect { url: url.into() },
            state: AttemptState::Oidc(State::Upstream {
                nonce,
                pkce_verifier: verifier.secret().clone(),
            }),
        })
    }

    /// The browser came back to the callback: the code exchanged, the ID token (and
    /// userinfo) verified, the mapped claims taken.
    pub async fn advance(&self, state: State, input: Input<'_>) -> Advance {
        let now = self.clock.now();
        match (state, input) {
            (State::Number, Input::Form(_)) => self.number_typed(input),
            (
                State::Upstream {
                    nonce,
                    pkce_verifier,
                },
                Input::Returned(_),
            ) => match self.returned(&nonce, pkce_verifier, input, now).await {
                Ok(v) => Advance::Verified(v),
                Err(f) => Advance::Refused(self.refusal(f)),
            },
            _ => Advance::Refused(Refusal::Expired {
                source_id: self.config.id.clone(),
            }),
        }
    }

    /// The number page was answered: begin again with the number as the login hint
    /// (at the operator whose prefix it has, which `login` picks).
    fn number_typed(&self, input: Input<'_>) -> Advance {
        let typed = input.get(msisdn::NUMBER_FIELD).unwrap_or_default();
        match msisdn::parse(typed) {
            Some(number @ msisdn::Hint::Msisdn(_)) => Advance::Restart {
                login_hint: msisdn::login_hint(&number),
            },
            _ => Advance::Refused(Refusal::Rejected {
                source_id: self.config.id.clone(),
                reason: if typed.trim().is_empty() {
                    Rejection::Incomplete {
                        field: msisdn::NUMBER_FIELD,
                    }
                } else {
                    Rejection::NotAMobileNumber
                },
            }),
        }
    }

    async fn returned(
        &self,
        nonce: &str,
        pkce_verifier: String,
        input: Input<'_>,
        now: i64,
    ) -> Result<VerifiedIdentity, Failed> {
        use UpstreamFailure::*;
        // RFC 6749 section 4.1.2.1; OIDC Core 3.1.2.6.
        if let Some(error) = input.get("error") {
            let described = input.get("error_description").unwrap_or_default();
            // The upstream's (or anyone's) text, for the log: bounded, one line.
            let detail: String = format!("{error}: {described}")
                .chars()
                .filter(|c| !c.is_control())
                .take(300)
                .collect();
            let failure = if error == "access_denied" {
                Cancelled
            } else {
                Error
            };
            return Err(Failed(failure, detail));
        }
        let provider = self.provider().await?;
        // RFC 9207: the upstream's `iss` must be this one (a mix-up between two
        // configured providers otherwise), and is required when it says it sends one.
        match input.get("iss") {
            Some(iss) if iss != self.kind.issuer => {
                return Err(Failed(WrongIssuer, format!("iss parameter is {iss:?}")));
            }
            None if provider.iss_parameter => {
                return Err(Failed(
                    WrongIssuer,
                    "no iss parameter, which it promised".into(),
                ));
            }
            _ => {}
        }
        let code = input
            .get("code")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Failed(Invalid, "no code in the callback".into()))?;
        let tokens = self.exchange(&provider, code, pkce_verifier, now).await?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| Failed(Invalid, "no id_token in the token response".into()))?
            .to_string();
        let expect = Expect {
            issuer: &self.kind.issuer,
            client_id: &self.kind.client_id,
            nonce: Some(nonce),
            now,
        };
        let (claims, provider) = self.verified(provider, &id_token, &expect).await?;
        let subject = claims["sub"].as_str().unwrap_or_default().to_owned();
        if let Some(mc) = &self.kind.mobile_connect {
            // The operator's `acr` must mean at least the source's level.
            let acr = claims
                .get("acr")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match mc.acr_values.get(acr) {
                Some(level) if *level >= self.config.loa.level() => {}
                _ => {
                    return Err(Failed(
                        Invalid,
                        format!("acr {acr:?} is not one of the source's level or above"),
                    ));
                }
            }
        }
        let endpoint = provider
            .metadata
            .userinfo_endpoint()
            .map(|e| e.url().to_string());
        let userinfo = match endpoint {
            Some(endpoint) if self.kind.userinfo => {
                let token = tokens.access_token().secret();
                let expect = Expect {
                    nonce: None,
                    ..expect
                };
                let info = self.userinfo(provider, &endpoint, token, &expect).await?;
                if info.get("sub").and_then(Value::as_str) != Some(subject.as_str()) {
                    return Err(Failed(Invalid, "userinfo sub is not the ID token's".into()));
                }
                Some(info)
            }
            _ => None,
        };
        let mut amr = vec!["fed".to_owned()];
        if let Some(Value::Array(list)) = claims.get("amr") {
            for m in list.iter().filter_map(Value::as_str) {
                if RFC8176_AMR.contains(&m) && !amr.iter().any(|a| a == m) {
                    amr.push(m.to_owned());
                }
            }
        }
        Ok(VerifiedIdentity {
            source_id: self.config.id.clone(),
            subject,
            loa: self.config.loa,
            amr,
            attributes: verify::attributes(&self.kind.claims, &claims, userinfo.as_ref()),
        })
    }

    async fn exchange(
        &self,
        provider: &Provider,
        code: &str,
        verifier: String,
        now: i64,
    ) -> Result<CoreTokenResponse, Failed> {
        let client = self.client(provider)?;
        let upstream = self.upstream();
        let mut request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| Failed(UpstreamFailure::Invalid, format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier));
        let assertion;
        if let Some((ring, alg)) = &self.signing {
            assertion = self.assertion(ring, *alg, now)?;
            request = request
                .add_extra_param(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                )
                .add_extra_param("client_assertion", assertion.as_str());
        }
        request.request_async(&upstream).await.map_err(|e| match e {
            RequestTokenError::Request(e) => Failed::from(e),
            RequestTokenError::ServerResponse(e) => {
                Failed(UpstreamFailure::Error, format!("token endpoint: {e}"))
            }
            RequestTokenError::Parse(e, _) => {
                Failed(UpstreamFailure::Invalid, format!("token response: {e}"))
            }
            RequestTokenError::Other(e) => {
                Failed(UpstreamFailure::Invalid, format!("token response: {e}"))
            }
        })
    }

    /// RFC 7523 section 2.2: Portico's client assertion, for the upstream's issuer
    /// alone (the 2025 `private_key_jwt` audience advisory), one minute long.
    fn assertion(&self, ring: &KeyRing, alg: SigningAlg, now: i64) -> Result<String, Failed> {
        let claims = serde_json::json!({
            "iss": self.kind.client_id,
            "sub": self.kind.client_id,
            "aud": self.kind.issuer,
            "iat": now,
            "exp": now + 60,
            "jti": crate::random::token().expose(),
        });
        ring.sign(alg, "JWT", &claims, now).map_err(|e| {
            Failed(
                UpstreamFailure::Invalid,
                format!("signing the client assertion: {e}"),
            )
        })
    }

    /// Verifies a JWS of the upstream; on an unknown `kid`, once more with the key set
    /// fetched again (rate-limited by the cache). Answers the provider it used.
    async fn verified(
        &self,
        provider: Arc<Provider>,
        token: &str,
        expect: &Expect<'_>,
    ) -> Result<(Map<String, Value>, Arc<Provider>), Failed> {
        let no_key = || {
            Failed(
                UpstreamFailure::BadSignature,
                "no key of the upstream's JWKS matches the token's kid".into(),
            )
        };
        match verify::verify(&provider.jwks, token, expect) {
            Ok(claims) => Ok((claims, provider)),
            Err(Invalid::Other(f, d)) => Err(Failed(f, d)),
            Err(Invalid::UnknownKey) => {
                let now = self.clock.now();
                let refreshed = self.cache.refresh_jwks(self.upstream(), now).await?;
                let provider = refreshed.ok_or_else(no_key)?;
                match verify::verify(&provider.jwks, token, expect) {
                    Ok(claims) => Ok((claims, provider)),
                    Err(Invalid::Other(f, d)) => Err(Failed(f, d)),
                    Err(Invalid::UnknownKey) => Err(no_key()),
                }
            }
        }
    }

    /// OIDC Core 5.3: the userinfo answer, as JSON or as a signed JWT
    /// (`application/jwt`, verified like the ID token but without a nonce).
    async fn userinfo(
        &self,
        provider: Arc<Provider>,
        endpoint: &str,
        access_token: &str,
        expect: &Expect<'_>,
    ) -> Result<Map<String, Value>, Failed> {
        use openidconnect::http;
        let request = http::Request::get(endpoint)
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {access_token}"),
            )
            .header(http::header::ACCEPT, "application/json, application/jwt")
            .body(Vec::new())
            .map_err(|e| Failed(UpstreamFailure::Invalid, format!("userinfo request: {e}")))?;
        let response = self.upstream().send(request).await?;
        if response.status() != http::StatusCode::OK {
            return Err(Failed(
                UpstreamFailure::Error,
                format!("userinfo: status {}", response.status()),
            ));
        }
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if content_type.starts_with("application/jwt") {
            let jwt = std::str::from_utf8(response.body())
                .map_err(|_| Failed(UpstreamFailure::Invalid, "userinfo JWT not UTF-8".into()))?;
            return Ok(self.verified(provider, jwt.trim(), expect).await?.0);
        }
        serde_json::from_slice(response.body())
            .map_err(|e| Failed(UpstreamFailure::Invalid, format!("userinfo: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both stages survive the sealing `login` does (JSON inside `AttemptState`).
    #[test]
    fn both_stages_round_trip_as_sealed_state() {
        for state in [
            State::Number,
            State::Upstream {
                nonce: "n".into(),
                pkce_verifier: "v".into(),
            },
        ] {
            let sealed = serde_json::to_string(&AttemptState::Oidc(state.clone())).unwrap();
            let back: AttemptState = serde_json::from_str(&sealed).unwrap();
            assert_eq!(back, AttemptState::Oidc(state));
        }
    }
}
