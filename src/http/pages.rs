//! HTML pages (askama templates under `templates/`) and their security headers.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// A form field as a page shows it (label already in the page's language).
pub struct FieldView {
    pub name: String,
    pub label: String,
    pub input_type: &'static str,
    pub autocomplete: String,
    pub value: String,
    /// The `inputmode` attribute, or empty.
    pub input_mode: &'static str,
}

pub struct FormView {
    pub fields: Vec<FieldView>,
    pub submit: String,
    /// A second button's text (`action=secondary`), if any.
    pub secondary: Option<String>,
}

pub struct OfferView {
    pub source_id: String,
    pub name: String,
    pub form: Option<FormView>,
    /// A passkey source: hidden unless `static/passkey.js` runs and reveals it.
    pub passkey: bool,
}
use super::AppState;
use super::i18n::{self, Lang};
use crate::store::AccountKind;

// Every page has `lang` (the negotiated language) and `here`: its own GET address, which
// the language switcher in base.html returns to (`None`: a page with no such address,
// after which the switcher lands on the account page).

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub lang: Lang,
    pub here: Option<&'a str>,
    /// The portal's name; `None` for the account page's own login.
    pub client_name: Option<&'a str>,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub notice: Option<String>,
    pub offers: Vec<OfferView>,
    /// Whether a passkey is offered: the page loads `static/passkey.js`.
    pub script: bool,
    /// The passkey source the username field's autofill offers (the first offered),
    /// whose attempt the script begins at `/login/{id}/conditional`.
    pub autofill: Option<String>,
}

#[derive(Template)]
#[template(path = "login_step.html")]
pub struct LoginStepPage<'a> {
    pub lang: Lang,
    pub here: Option<&'a str>,
    pub source_id: &'a str,
    pub source_name: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub attempt: Option<&'a str>,
    pub notice: Option<String>,
    pub form: FormView,
}

impl LoginPage<'_> {
    fn lead(&self) -> String {
        match self.client_name {
            Some(portal) => i18n::t_args(self.lang, "login-lead", &[("portal", portal.into())]),
            None => i18n::t(self.lang, "login-lead-account"),
        }
    }
}

/// A refused certificate (`http::cert_login`).
#[derive(Template)]
#[template(path = "cert_refused.html")]
pub struct CertRefusedPage<'a> {
    pub lang: Lang,
    pub here: Option<&'a str>,
    pub title: String,
    pub message: String,
    pub try_again: &'a str,
    pub other_way: &'a str,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub lang: Lang,
    pub here: Option<&'a str>,
    pub client_name: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub scopes: Vec<String>,
    /// The claims asked for by name beyond the scopes, described.
    pub claims: Vec<String>,
}

impl ConsentPage<'_> {
    fn lead(&self) -> String {
        i18n::t_args(
            self.lang,
            "consent-lead",
            &[("portal", self.client_name.into())],
        )
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub lang: Lang,
    pub here: Option<&'a str>,
    pub title: String,
    pub message: String,
    /// The English `error_description`, for whoever helps the person.
    pub detail: Option<&'a str>,
    pub code: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "logout_confirm.html")]
pub struct LogoutConfirmPage<'a> {
    pub lang: Lang,
    pub here: Option<&'a str>,
    pub client_name: Option<&'a str>,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub state: &'a str,
    /// The portal's `ui_locales`, carried through the form so the answer is in the
    /// same language.
    pub ui_locales: &'a str,
    pub csrf: &'a str,
    pub redirect_refused: bool,
}

impl LogoutConfirmPage<'_> {
    fn asked_by(&self, portal: &str) -> String {
        i18n::t_args(self.lang, "logout-asked-by", &[("portal", portal.into())])
    }
}

#[derive(Template)]
#[template(path = "logged_out.html")]
pub struct LoggedOutPage<'a> {
    pub lang: Lang,
    pub here: Option<&'a str>,
    pub title: String,
    pub message: String,
    pub frontchannel: &'a [String],
    pub redirect: Option<&'a str>,
}

pub struct SessionRow {
    pub id: String,
    /// The browser's `User-Agent`, if it sent one.
    pub device: Option<String>,
    pub signed_in: String,
    pub last_used: String,
    /// The source's display name.
    pub source: String,
    pub portals: Vec<String>,
    pub current: bool,
}

/// A portal the person has allowed, with what it may receive and since when.
pub struct ConsentRow {
    pub client_id: String,
    pub name: String,
    /// Each scope in words (`describe_scope`).
    pub scopes: Vec<String>,
    pub since: String,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    pub lang: Lang,
    pub here: Option<&'a str>,
    pub name: Option<&'a str>,
    pub kind: AccountKind,
    pub csrf: &'a str,
    pub sessions: Vec<SessionRow>,
    pub consents: Vec<ConsentRow>,
    /// The account's passkeys, when a passkey source is configured.
    pub passkeys: Option<Vec<super::passkeys::PasskeyRow>>,
    pub logins: Vec<super::account_links::LinkedRow>,
    pub link_offers: Vec<super::account_links::LinkOffer>,
}

impl AccountPage<'_> {
    fn name_or_none(&self) -> String {
        match self.name {
            Some(name) => name.to_owned(),
            None => i18n::t(self.lang, "account-no-name"),
        }
    }

    fn kind_name(&self) -> String {
        match self.kind {
            AccountKind::Citizen => i18n::t(self.lang, "account-kind-citizen"),
            AccountKind::Enterprise => i18n::t(self.lang, "account-kind-enterprise"),
            AccountKind::Official => i18n::t(self.lang, "account-kind-official"),
        }
    }

    fn sessions_count(&self) -> String {
        i18n::t_args(
            self.lang,
            "account-sessions-count",
            &[("count", self.sessions.len().into())],
        )
    }

    fn device(&self, row: &SessionRow) -> String {
        match &row.device {
            Some(device) => device.clone(),
            None => i18n::t(self.lang, "account-unknown-device"),
        }
    }

    fn session_detail(&self, row: &SessionRow) -> String {
        i18n::t_args(
            self.lang,
            "account-session-detail",
            &[
                ("since", row.signed_in.as_str().into()),
                ("source", row.source.as_str().into()),
                ("last", row.last_used.as_str().into()),
            ],
        )
    }

    fn consent_since(&self, row: &ConsentRow) -> String {
        i18n::t_args(
            self.lang,
            "account-consent-since",
            &[("since", row.since.as_str().into())],
        )
    }

    fn portals(&self, row: &SessionRow) -> String {
        if row.portals.is_empty() {
            return i18n::t(self.lang, "account-no-portal");
        }
        i18n::t_args(
            self.lang,
            "account-portals",
            &[
                ("count", row.portals.len().into()),
                ("portals", row.portals.join(", ").into()),
            ],
        )
    }
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

/// The GET address of a page of the pending request `request_id` (`/login`, `/consent`).
pub fn pending_page(path: &str, request_id: &str) -> String {
    let id: String = form_urlencoded::byte_serialize(request_id.as_bytes()).collect();
    format!("{path}?request={id}")
}

/// What a scope means, in words a person understands.
pub fn describe_scope(lang: Lang, scope: &str) -> String {
    match scope {
        "openid" => i18n::t(lang, "scope-openid"),
        "profile" => i18n::t(lang, "scope-profile"),
        "email" => i18n::t(lang, "scope-email"),
        "phone" => i18n::t(lang, "scope-phone"),
        "address" => i18n::t(lang, "scope-address"),
        "national_id" => i18n::t(lang, "scope-national-id"),
        "enterprise" => i18n::t(lang, "scope-enterprise"),
        "offline_access" => i18n::t(lang, "scope-offline-access"),
        _ => i18n::t(lang, "scope-other"),
    }
}

/// What a claim asked for by name (OIDC Core section 5.5) shows the portal.
pub fn describe_claim(lang: Lang, claim: &str) -> String {
    match claim {
        "name" => i18n::t(lang, "claim-name"),
        "given_name" => i18n::t(lang, "claim-given-name"),
        "family_name" => i18n::t(lang, "claim-family-name"),
        "middle_name" => i18n::t(lang, "claim-middle-name"),
        "nickname" => i18n::t(lang, "claim-nickname"),
        "preferred_username" => i18n::t(lang, "claim-preferred-username"),
        "profile" => i18n::t(lang, "claim-profile"),
        "picture" => i18n::t(lang, "claim-picture"),
        "website" => i18n::t(lang, "claim-website"),
        "gender" => i18n::t(lang, "claim-gender"),
        "zoneinfo" => i18n::t(lang, "claim-zoneinfo"),
        "locale" => i18n::t(lang, "claim-locale"),
        "place_of_birth" => i18n::t(lang, "claim-place-of-birth"),
        "nationalities" => i18n::t(lang, "claim-nationalities"),
        "birthdate" => i18n::t(lang, "claim-birthdate"),
        "updated_at" => i18n::t(lang, "claim-updated-at"),
        "account_kind" => i18n::t(lang, "claim-account-kind"),
        "email" => i18n::t(lang, "claim-email"),
        "email_verified" => i18n::t(lang, "claim-email-verified"),
        "phone_number" => i18n::t(lang, "claim-phone-number"),
        "phone_number_verified" => i18n::t(lang, "claim-phone-number-verified"),
        "address" => i18n::t(lang, "claim-address"),
        "national_id" => i18n::t(lang, "claim-national-id"),
        "national_id_verified" => i18n::t(lang, "claim-national-id-verified"),
        "tax_code" => i18n::t(lang, "claim-tax-code"),
        "represents" => i18n::t(lang, "claim-represents"),
        _ => i18n::t(lang, "claim-other"),
    }
}

/// A source's name as a person reads it: the catalogue's for a built-in default, else
/// the operator's text in the page's language.
pub fn display_name(lang: Lang, name: &crate::config::DisplayName) -> String {
    match (name, lang) {
        (crate::config::DisplayName::Message(id), _) => i18n::t_message(lang, id),
        (crate::config::DisplayName::Text { vi, .. }, Lang::Vi) => vi.clone(),
        (crate::config::DisplayName::Text { en, .. }, Lang::En) => en.clone(),
    }
}

/// Renders a template as an HTML response that is never cached, framed or allowed to
/// run scripts, whose forms may post only to Portico.
pub fn html(status: StatusCode, page: impl Template) -> Response {
    render(status, page, &[], None)
}

/// Like [`html`], allowing iframes from `frame_origins` (front-channel logout).
pub fn html_framing(status: StatusCode, page: impl Template, frame_origins: &[String]) -> Response {
    render(status, page, frame_origins, None)
}

/// Like [`html`] for a page whose forms, once posted, may be redirected to `origin` (a
/// portal's redirect URI): browsers apply `form-action` to the redirects that follow a
/// form's POST too (Chromium does), so without it the code would never reach the portal.
pub fn html_leading_to(status: StatusCode, page: impl Template, origin: Option<&str>) -> Response {
    render(status, page, &[], origin)
}

/// Like [`html_leading_to`] for a page that loads Portico's own script
/// (`static/passkey.js`): the policy adds `script-src 'self'`, and only for it.
pub fn html_with_script(status: StatusCode, page: impl Template, origin: Option<&str>) -> Response {
    with_script_policy(
        render(status, page, &[], origin),
        origin,
        "; script-src 'self'",
    )
}

/// Like [`html_with_script`] for the login page, whose script also asks Portico (its
/// own origin only) to begin a passkey attempt for the username field's autofill:
/// `connect-src 'self'` too.
pub fn html_with_autofill_script(
    status: StatusCode,
    page: impl Template,
    origin: Option<&str>,
) -> Response {
    let extra = "; script-src 'self'; connect-src 'self'";
    with_script_policy(render(status, page, &[], origin), origin, extra)
}

fn with_script_policy(mut response: Response, origin: Option<&str>, extra: &str) -> Response {
    let csp = content_security_policy(&[], origin) + extra;
    if let Ok(value) = HeaderValue::from_str(&csp) {
        if response
            .headers()
            .contains_key(header::CONTENT_SECURITY_POLICY)
        {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    response
}

/// The pages' `Content-Security-Policy`.
fn content_security_policy(frame_origins: &[String], form_origin: Option<&str>) -> String {
    let mut csp = "default-src 'none'; style-src 'self'; img-src 'self'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        .to_owned();
    if let Some(origin) = form_origin {
        csp.push(' ');
        csp.push_str(origin);
    }
    if !frame_origins.is_empty() {
        csp.push_str("; frame-src ");
        csp.push_str(&frame_origins.join(" "));
    }
    csp
}

fn render(
    status: StatusCode,
    page: impl Template,
    frame_origins: &[String],
    form_origin: Option<&str>,
) -> Response {
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
            let csp = content_security_policy(frame_origins, form_origin);
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

pub async fn passkey_script() -> Response {
    asset(
        include_str!("../../static/passkey.js"),
        "text/javascript; charset=utf-8",
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

pub async fn not_found(State(app): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let lang = i18n::negotiate(&headers, &[], app.services.config.default_language);
    let here = uri.path_and_query().map(|p| p.as_str());
    html(
        StatusCode::NOT_FOUND,
        ErrorPage {
            lang,
            here,
            title: i18n::t(lang, "error-not-found-title"),
            message: i18n::t(lang, "error-not-found-message"),
            detail: None,
            code: None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::{content_security_policy, format_time};

    #[test]
    fn forms_post_to_portico_and_to_the_origin_the_flow_leads_to() {
        let csp = content_security_policy(&[], None);
        assert!(csp.ends_with("; form-action 'self'"), "{csp}");
        let csp = content_security_policy(
            &["https://a.example".to_owned()],
            Some("https://rp.example:8443"),
        );
        assert!(
            csp.contains(
                "; form-action 'self' https://rp.example:8443; frame-src https://a.example"
            ),
            "{csp}"
        );
    }

    #[test]
    fn times_are_formatted_in_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_795_617_000), "2026-11-25 14:30 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00 UTC");
    }
}
