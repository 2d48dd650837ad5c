//! What Portico knows of one upstream provider: its discovery document and key set,
//! cached in memory per node and per source (one entry each: bounded by the
//! configuration), reused for `discovery_ttl`, fetched one at a time, a failure
//! remembered briefly, and the key set refetched early on an unknown `kid` at most every
//! [`JWKS_MIN_REFETCH`].

use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use openidconnect::core::CoreProviderMetadata;

use super::upstream::{CallError, Upstream};
use crate::sources::UpstreamFailure;

/// An unknown `kid` refetches the key set at most this often: the ID tokens that
/// cause it come through the browser, so anyone can send one.
pub const JWKS_MIN_REFETCH: i64 = 10;
/// A failed discovery is answered from memory this long, so that a burst of logins
/// while the upstream is down makes one request to it, not one each.
const FAILURE_TTL: i64 = 5;

/// One upstream, as last fetched.
#[derive(Debug)]
pub struct Provider {
    pub metadata: CoreProviderMetadata,
    pub jwks: JwkSet,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 section 3): every
    /// authorization response must then name the issuer.
    pub iss_parameter: bool,
}

#[derive(Debug, Default)]
struct State {
    current: Option<(Arc<Provider>, i64)>,
    jwks_at: Option<i64>,
    failed: Option<(UpstreamFailure, String, i64)>,
}

/// The cache of one source. Held across a fetch: concurrent logins wait for it and use
/// its result.
#[derive(Debug, Default)]
pub struct ProviderCache {
    state: tokio::sync::Mutex<State>,
}

impl ProviderCache {
    /// The provider, fetched when absent or older than `ttl`.
    pub async fn get(
        &self,
        upstream: Upstream<'_>,
        issuer: &str,
        ttl: i64,
        now: i64,
    ) -> Result<Arc<Provider>, CallError> {
        let mut state = self.state.lock().await;
        if let Some((provider, at)) = &state.current {
            if now - at < ttl {
                return Ok(provider.clone());
            }
        }
        if let Some((failure, detail, at)) = &state.failed {
            if now - at < FAILURE_TTL {
                return Err(CallError::new(*failure, format!("{detail} (remembered)")));
            }
        }
        match discover(upstream, issuer).await {
            Ok(provider) => {
                let provider = Arc::new(provider);
                state.current = Some((provider.clone(), now));
                state.jwks_at = Some(now);
                state.failed = None;
                Ok(provider)
            }
            Err(e) => {
                state.failed = Some((e.failure, e.detail.clone(), now));
                Err(e)
            }
        }
    }

    /// After an unknown `kid`: the key set fetched again unless it was fetched within
    /// [`JWKS_MIN_REFETCH`]; `None` when it was not refetched.
    pub async fn refresh_jwks(
        &self,
        upstream: Upstream<'_>,
        now: i64,
    ) -> Result<Option<Arc<Provider>>, CallError> {
        let mut state = self.state.lock().await;
        if state.jwks_at.is_some_and(|at| now - at < JWKS_MIN_REFETCH) {
            return Ok(None);
        }
        let Some((current, fetched_at)) = &state.current else {
            return Ok(None);
        };
        let (current, fetched_at) = (current.clone(), *fetched_at);
        // Counted before the fetch: a failing key set is not asked again sooner either.
        state.jwks_at = Some(now);
        let jwks: JwkSet = upstream
            .get_json(current.metadata.jwks_uri().url().as_str())
            .await?;
        let provider = Arc::new(Provider {
            metadata: current.metadata.clone(),
            jwks,
            iss_parameter: current.iss_parameter,
        });
        state.current = Some((provider.clone(), fetched_at));
        Ok(Some(provider))
    }
}

/// OIDC Discovery section 4: the document at `{issuer}/.well-known/openid-configuration`,
/// whose `issuer` must be the configured one exactly (section 4.3); then its `jwks_uri`.
async fn discover(upstream: Upstream<'_>, issuer: &str) -> Result<Provider, CallError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let document: serde_json::Value = upstream.get_json(&url).await?;
    let iss_parameter = document["authorization_response_iss_parameter_supported"] == true;
    let metadata: CoreProviderMetadata = serde_json::from_value(document).map_err(|e| {
        CallError::new(UpstreamFailure::Invalid, format!("discovery at {url}: {e}"))
    })?;
    if metadata.issuer().as_str() != issuer {
        return Err(CallError::new(
            UpstreamFailure::WrongIssuer,
            format!(
                "discovery at {url} names issuer `{}`, not `{issuer}`",
                metadata.issuer().as_str()
            ),
        ));
    }
    let jwks: JwkSet = upstream
        .get_json(metadata.jwks_uri().url().as_str())
        .await?;
    Ok(Provider {
        metadata,
        jwks,
        iss_parameter,
    })
}
