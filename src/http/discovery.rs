//! Discovery and JWKS, served from memory as serialised once.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::AppState;

fn json(body: Bytes, content_type: &'static str, cache_control: HeaderValue) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, cache_control);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

pub async fn configuration(State(app): State<AppState>) -> Response {
    json(
        app.services.discovery_json.clone(),
        "application/json",
        HeaderValue::from_static("public, max-age=3600"),
    )
}

pub async fn jwks(State(app): State<AppState>) -> Response {
    let max_age = app.services.config.keys.jwks_max_age();
    json(
        app.services.keys.ring().jwks_json(),
        "application/jwk-set+json",
        HeaderValue::from_str(&format!("public, max-age={max_age}")).expect("a number"),
    )
}
