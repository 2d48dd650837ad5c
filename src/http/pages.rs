//! HTML pages (askama templates under `templates/`) and their security headers.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub lang: &'a str,
    pub client_name: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<String>,
    /// (source id, display name)
    pub sources: &'a [(String, String)],
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub lang: &'a str,
    pub client_name: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub scopes: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub lang: &'a str,
    pub title: &'a str,
    pub message: &'a str,
    pub code: Option<&'a str>,
}

/// The page language: the first of `ui_locales` we have, else English.
pub fn lang(_ui_locales: &[String]) -> &'static str {
    "en"
}

/// What a scope means, in words a person understands.
pub fn describe_scope(scope: &str) -> &'static str {
    match scope {
        "openid" => "Know who you are (a login identifier)",
        "profile" => "See your name and date of birth",
        "email" => "See your email address",
        "phone" => "See your phone number",
        "address" => "See your postal address",
        "national_id" => "See your national identification number (and tax code for businesses)",
        _ => "Other access",
    }
}

/// Renders a template as an HTML response that is never cached, framed or allowed to
/// run scripts.
pub fn html(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
                ),
            );
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub async fn stylesheet() -> Response {
    let mut response = include_str!("../../static/portico.css").into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

pub async fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        ErrorPage {
            lang: "en",
            title: "Page not found",
            message: "There is no page at this address.",
            code: None,
        },
    )
}
