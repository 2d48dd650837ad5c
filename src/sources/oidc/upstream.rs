//! Calls to the upstream provider: the composition root's reqwest client (no redirects
//! followed), a timeout on every call, and a bound on what is read back. It is the
//! HTTP client `openidconnect` is given.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::http;
use openidconnect::{HttpRequest, HttpResponse};

use crate::sources::UpstreamFailure;

/// No answer of a provider (discovery, JWKS, token, userinfo) needs more.
const MAX_BODY: usize = 256 * 1024;

/// Why a call did not get an answer.
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct CallError {
    pub failure: UpstreamFailure,
    pub detail: String,
}

impl CallError {
    pub fn new(failure: UpstreamFailure, detail: impl Into<String>) -> Self {
        CallError {
            failure,
            detail: detail.into(),
        }
    }
}

#[derive(Clone, Copy)]
pub struct Upstream<'a> {
    pub http: &'a reqwest::Client,
    pub timeout: Duration,
}

fn classify(e: &reqwest::Error) -> UpstreamFailure {
    if e.is_timeout() {
        UpstreamFailure::Timeout
    } else if e.is_connect() || e.is_request() {
        UpstreamFailure::Unreachable
    } else {
        UpstreamFailure::Invalid
    }
}

impl Upstream<'_> {
    /// One request: cut off after the timeout (connect, headers and body together).
    pub async fn send(self, request: HttpRequest) -> Result<HttpResponse, CallError> {
        let url = request.uri().to_string();
        let fail = |e: reqwest::Error| CallError::new(classify(&e), format!("{url}: {e}"));
        let mut request = reqwest::Request::try_from(request).map_err(fail)?;
        *request.timeout_mut() = Some(self.timeout);
        let mut response = self.http.execute(request).await.map_err(fail)?;
        let mut builder = http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fail)? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY {
                return Err(CallError::new(
                    UpstreamFailure::Invalid,
                    format!("{url}: answer larger than {MAX_BODY} bytes"),
                ));
            }
        }
        builder
            .body(body)
            .map_err(|e| CallError::new(UpstreamFailure::Invalid, format!("{url}: {e}")))
    }

    /// GET a JSON document (discovery, JWKS).
    pub async fn get_json<T: serde::de::DeserializeOwned>(self, url: &str) -> Result<T, CallError> {
        let request = http::Request::get(url)
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|e| CallError::new(UpstreamFailure::Invalid, format!("{url}: {e}")))?;
        let response = self.send(request).await?;
        if response.status() != http::StatusCode::OK {
            return Err(CallError::new(
                UpstreamFailure::Invalid,
                format!("{url}: status {}", response.status()),
            ));
        }
        serde_json::from_slice(response.body())
            .map_err(|e| CallError::new(UpstreamFailure::Invalid, format!("{url}: {e}")))
    }
}

/// A named implementation (not a closure) so that the future is `Send` for every
/// lifetime, as axum's handlers need.
impl<'c> openidconnect::AsyncHttpClient<'c> for Upstream<'_> {
    type Error = CallError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, CallError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin((*self).send(request))
    }
}
