//! HTML pages (askama templates under `templates/`) and their security headers.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A form field as a page shows it (label already in the page's language).
pub struct FieldView {
    pub name: String,
    pub label: String,
    pub input_type: &'static str,
    pub autocomplete: String,
    pub value: String,
}

pub struct FormView {
    pub fields: Vec<FieldView>,
    pub submit: String,
}

pub struct OfferView {
    pub source_id: String,
    pub name: String,
    pub form: Option<FormView>,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub lang: &'a str,
    /// The portal's name; `None` for the account page's own login.
    pub client_name: Option<&'a str>,
    /// The hidden field that says where the login returns (`request` or `return`).
    pub return_name: &'a str,
    pub return_value: &'a str,
    pub csrf: &'a str,
    pub notice: Option<String>,
    pub offers: Vec<OfferView>,
}

#[derive(Template)]
#[template(path = "login_step.html")]
pub struct LoginStepPage<'a> {
    pub lang: &'a str,
    pub source_id: &'a str,
    pub source_name: &'a str,
    pub return_name: &'a str,
    pub return_value: &'a str,
    pub csrf: &'a str,
    pub attempt: Option<&'a str>,
    pub notice: Option<String>,
    pub form: FormView,
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

#[derive(Template)]
#[template(path = "logout_confirm.html")]
pub struct LogoutConfirmPage<'a> {
    pub lang: &'a str,
    pub client_name: Option<&'a str>,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub csrf: &'a str,
    pub redirect_refused: bool,
}

#[derive(Template)]
#[template(path = "logged_out.html")]
pub struct LoggedOutPage<'a> {
    pub lang: &'a str,
    pub title: &'a str,
    pub message: &'a str,
    pub frontchannel: &'a [String],
    pub redirect: Option<&'a str>,
}

pub struct SessionRow {
    pub id: String,
    pub device: String,
    pub signed_in: String,
    pub last_used: String,
    pub source: String,
    pub portals: Vec<String>,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    pub lang: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub csrf: &'a str,
    pub sessions: Vec<SessionRow>,
}

/// A unix time as `2026-11-25 14:30 UTC` (days-from-civil, inverted).
pub fn format_time(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
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
        "offline_access" => "Stay connected when you are not using it (until you revoke it)",
        _ => "Other access",
    }
}

/// Renders a template as an HTML response that is never cached, framed or allowed to
/// run scripts.
pub fn html(status: StatusCode, page: impl Template) -> Response {
    html_framing(status, page, &[])
}

/// Like [`html`], allowing iframes from `frame_origins` (front-channel logout).
pub fn html_framing(status: StatusCode, page: impl Template, frame_origins: &[String]) -> Response {
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
            let frames = if frame_origins.is_empty() {
                String::new()
            } else {
                format!("; frame-src {}", frame_origins.join(" "))
            };
            let csp = format!(
                "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'{frames}"
            );
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_str(&csp)
                    .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
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
    asset(
        include_str!("../../static/portico.css"),
        "text/css; charset=utf-8",
    )
}

/// The pages link it; browsers also ask for `/favicon.ico` on their own (a JSON
/// endpoint opened in a tab), and get the same icon rather than a 404.
pub async fn icon() -> Response {
    asset(include_str!("../../static/favicon.svg"), "image/svg+xml")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
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

#[cfg(test)]
mod tests {
    use super::format_time;

    #[test]
    fn times_are_formatted_in_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_795_617_000), "2026-11-25 14:30 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00 UTC");
    }
}
