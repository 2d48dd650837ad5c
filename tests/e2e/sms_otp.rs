//! `kind = "sms_otp"` end to end, against a recording SMS gateway that speaks the
//! contract of issue 21 over HTTP on a random port: POST JSON `{"to", "text"}` with
//! `Authorization: Bearer <token>`. The code the gateway received signs the person in
//! (and again, as the same account); five wrong codes end the attempt and the right one
//! after them is refused; a new code within 60 s sends nothing; a gateway answering 500
//! gives the person a page and no session.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use crate::common::*;

const TOKEN: &str = "gateway-token-for-tests";

#[derive(Clone, Default)]
pub(crate) struct Gateway {
    messages: Arc<Mutex<Vec<(String, String)>>>,
    /// The status it answers (200 unless a test says otherwise).
    status: Arc<AtomicU16>,
}

impl Gateway {
    async fn start() -> (Gateway, String) {
        let gateway = Gateway::default();
        gateway.status.store(200, Ordering::SeqCst);
        let app = axum::Router::new()
            .route("/send", axum::routing::post(receive))
            .with_state(gateway.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/send", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (gateway, url)
    }

    fn sent(&self) -> Vec<(String, String)> {
        self.messages.lock().unwrap().clone()
    }

    /// The six-digit code in the last message.
    pub(crate) fn last_code(&self) -> String {
        let (_, text) = self.sent().last().cloned().expect("a message was sent");
        let digits: Vec<char> = text.chars().collect();
        digits
            .windows(6)
            .find(|w| w.iter().all(|c| c.is_ascii_digit()))
            .map(|w| w.iter().collect())
            .unwrap_or_else(|| panic!("no code in {text}"))
    }
}

async fn receive(
    State(gateway): State<Gateway>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> StatusCode {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if auth != format!("Bearer {TOKEN}") {
        return StatusCode::UNAUTHORIZED;
    }
    let status = StatusCode::from_u16(gateway.status.load(Ordering::SeqCst)).unwrap();
    if status.is_success() {
        gateway.messages.lock().unwrap().push((
            body["to"].as_str().unwrap().to_owned(),
            body["text"].as_str().unwrap().to_owned(),
        ));
    }
    status
}

pub(crate) async fn start() -> (TestServer, Gateway) {
    let (gateway, url) = Gateway::start().await;
    let server = TestServer::start_with(&format!(
        "[[sources]]\nid = \"password\"\nkind = \"password\"\n\
         [[sources]]\nid = \"mobile\"\nkind = \"sms_otp\"\ndisplay_name = \"Mobile number\"\n\
         loa = 3\ngateway_url = \"{url}\"\ngateway_token = \"{TOKEN}\"\ntimeout = \"5s\"\n"
    ))
    .await;
    (server, gateway)
}

/// The pages' hidden fields and the attempt.
pub(crate) struct Page {
    html: String,
}

impl Page {
    fn field(&self, name: &str) -> String {
        hidden(&self.html, name).unwrap_or_else(|| panic!("no {name} in {}", self.html))
    }
}

/// From an authorization request to the number page.
pub(crate) async fn number_page(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
) -> Page {
    let login = browser.follow(&server.authorize_url(client, &[])).await;
    let request = login.trim_start_matches("/login?request=");
    let chooser = browser.get(&login).await.text().await.unwrap();
    let link = format!("/login/mobile?request={request}");
    assert!(chooser.contains(&link), "{chooser}");
    let page = browser.get(&link).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"phone\""), "{html}");
    assert!(html.contains("type=\"tel\""), "{html}");
    Page { html }
}

pub(crate) async fn post(
    browser: &Browser,
    page: &Page,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let fixed = [
        ("request", page.field("request")),
        ("csrf", page.field("csrf")),
        ("attempt", page.field("attempt")),
        ("lang", page.field("lang")),
    ];
    let mut form: Vec<(&str, &str)> = fixed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.extend_from_slice(extra);
    browser.post_form("/login/mobile", &form).await
}

/// Number page → code page.
pub(crate) async fn code_page(browser: &Browser, number: &Page, typed: &str) -> Page {
    let r = post(browser, number, &[("phone", typed)]).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("autocomplete=\"one-time-code\""), "{html}");
    assert!(html.contains("inputmode=\"numeric\""), "{html}");
    assert!(
        html.contains("value=\"secondary\""),
        "a button for a new code: {html}"
    );
    Page { html }
}

fn claims_of(id_token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = id_token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// The code page answered with `code` → the portal's tokens' claims.
pub(crate) async fn finish(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
    page: &Page,
    code: &str,
) -> serde_json::Value {
    let done = post(browser, page, &[("code", code)]).await;
    assert_eq!(done.status(), 303, "{}", done.text().await.unwrap());
    let mut next = location(done.headers()).unwrap();
    if next.starts_with("/consent") {
        next = browser.submit_consent(&next, true).await;
    }
    let code = code_from(&next, server, client);
    let tokens: serde_json::Value = server
        .exchange(client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    claims_of(tokens["id_token"].as_str().unwrap())
}

#[tokio::test]
async fn the_code_the_gateway_received_signs_in_the_account_whose_phone_it_is() {
    let (server, gateway) = start().await;
    let client = server
        .client("ministry", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let mut vi = HeaderMap::new();
    vi.insert("accept-language", "vi".parse().unwrap());
    let browser = Browser::with_headers(&server.base, vi);
    let number = number_page(&server, &browser, &client).await;
    assert_eq!(number.field("lang"), "vi");
    let code_page = code_page(&browser, &number, "0912 345 678").await;
    let sent = gateway.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "+84912345678", "E.164 on the wire");
    assert!(
        sent[0].1.contains("Mã xác thực Portico của bạn là"),
        "in the page's language: {}",
        sent[0].1
    );
    let claims = finish(&server, &browser, &client, &code_page, &gateway.last_code()).await;
    assert_eq!(claims["acr"], "urn:portico:loa:3");
    assert_eq!(claims["amr"], serde_json::json!(["sms"]));
    let sub = claims["sub"].as_str().unwrap().to_owned();
    let account = server
        .provider()
        .store
        .accounts()
        .get(&portico::ids::AccountId::new(&sub))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.text("phone_number"), Some("+84912345678"));
    assert!(account.attributes.is_verified("phone_number"));

    // A minute later, in another browser and written another way: the same account.
    server.clock.advance(61);
    let other = Browser::new(&server);
    let number = number_page(&server, &other, &client).await;
    let page = self::code_page(&other, &number, "+84 912 345 678").await;
    assert_eq!(gateway.sent().len(), 2);
    assert!(
        gateway.sent()[1].1.starts_with("Your Portico code is"),
        "{:?}",
        gateway.sent()
    );
    let again = finish(&server, &other, &client, &page, &gateway.last_code()).await;
    assert_eq!(again["sub"], sub.as_str());
}

#[tokio::test]
async fn five_wrong_codes_end_the_attempt_and_the_right_one_after_them_is_refused() {
    let (server, gateway) = start().await;
    let client = server
        .client("ministry", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let number = number_page(&server, &browser, &client).await;
    let page = code_page(&browser, &number, "84912345678").await;
    let right = gateway.last_code();
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for i in 1..=4 {
        let r = post(&browser, &page, &[("code", wrong)]).await;
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("name=\"code\""),
            "try {i}: the code page again"
        );
        assert!(
            html.contains("role=\"alert\""),
            "try {i}: saying why: {html}"
        );
    }
    let fifth = post(&browser, &page, &[("code", wrong)]).await;
    assert_eq!(fifth.status(), 200);
    let html = fifth.text().await.unwrap();
    assert!(
        !html.contains("name=\"code\""),
        "the attempt is over: {html}"
    );
    let sixth = post(&browser, &page, &[("code", &right)]).await;
    assert_eq!(sixth.status(), 400, "the right code after five wrong ones");
    assert!(
        sixth
            .headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().contains("session"))
    );
    assert_eq!(gateway.sent().len(), 1);
}

#[tokio::test]
async fn a_new_code_within_a_minute_sends_nothing_and_after_it_replaces_the_old() {
    let (server, gateway) = start().await;
    let client = server
        .client("ministry", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let number = number_page(&server, &browser, &client).await;
    let page = code_page(&browser, &number, "0912345678").await;
    let first = gateway.last_code();
    server.clock.advance(30);
    let r = post(&browser, &page, &[("action", "secondary")]).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("name=\"code\""), "{html}");
    assert!(html.contains("role=\"alert\""), "{html}");
    assert_eq!(gateway.sent().len(), 1, "nothing sent within 60 s");

    // Nor from a new attempt for the same number.
    let other = Browser::new(&server);
    let number2 = number_page(&server, &other, &client).await;
    let r = post(&other, &number2, &[("phone", "+84912345678")]).await;
    assert_eq!(r.status(), 200);
    assert!(!r.text().await.unwrap().contains("name=\"code\""));
    assert_eq!(gateway.sent().len(), 1);

    server.clock.advance(31);
    let r = post(&browser, &page, &[("action", "secondary")]).await;
    assert_eq!(r.status(), 200);
    let page = Page {
        html: r.text().await.unwrap(),
    };
    assert_eq!(gateway.sent().len(), 2);
    let second = gateway.last_code();
    if second != first {
        let stale = post(&browser, &page, &[("code", &first)]).await;
        assert_eq!(stale.status(), 200, "the old code is not the new one");
    }
    let claims = finish(&server, &browser, &client, &page, &second).await;
    assert_eq!(claims["acr"], "urn:portico:loa:3");
}

#[tokio::test]
async fn a_gateway_answering_500_gives_the_person_a_page_and_no_session() {
    let (server, gateway) = start().await;
    gateway.status.store(500, Ordering::SeqCst);
    let client = server
        .client("ministry", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let number = number_page(&server, &browser, &client).await;
    let r = post(&browser, &number, &[("phone", "0912 345 678")]).await;
    assert_eq!(r.status(), 503);
    assert!(
        r.headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().contains("session"))
    );
    let html = r.text().await.unwrap();
    assert!(html.contains("Mobile number"), "names the source: {html}");
    assert!(gateway.sent().is_empty());
    let sessions = SideDoor::open(server.database_url())
        .await
        .count("SELECT COUNT(*) FROM sessions")
        .await;
    assert_eq!(sessions, 0);
}

/// A password account whose verified phone is `+84912345678`: its subject.
async fn account_with_phone(server: &TestServer, username: &str) -> String {
    use portico::model::Attributes;
    use portico::secret::Secret;
    use portico::store::{AccountKind, NewAccount};
    let p = server.provider();
    let hash = p.passwords.hash(&Secret::new(PASSWORD)).await.unwrap();
    let new = NewAccount {
        kind: Some(AccountKind::Citizen),
        attributes: Attributes::default()
            .with_entry("name", "Trần Văn Bình", false, 0)
            .with_entry("phone_number", "+84912345678", true, 0),
    };
    p.store
        .accounts()
        .create_with_password(&new, "password", username, &hash, p.now())
        .await
        .unwrap()
        .to_string()
}

/// A password login for a request with no level: the portal's ID token claims.
async fn password_session(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
    username: &str,
) -> serde_json::Value {
    let redirect = browser
        .authorize_interactively(&server.authorize_url(client, &[]), username)
        .await;
    let code = code_from(&redirect, server, client);
    let tokens: serde_json::Value = server
        .exchange(client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    claims_of(tokens["id_token"].as_str().unwrap())
}

/// A request asking more than the session has, from the login page on: the password is
/// not offered (nor begun from a crafted URL), the SMS code is; answers the claims.
async fn step_up(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
    extra: &[(&str, &str)],
    gateway: &Gateway,
) -> serde_json::Value {
    let login = browser.follow(&server.authorize_url(client, extra)).await;
    assert!(login.starts_with("/login?request="), "a new login: {login}");
    let request = login.trim_start_matches("/login?request=");
    let chooser = browser.get(&login).await.text().await.unwrap();
    assert!(!chooser.contains("name=\"password\""), "{chooser}");
    assert!(chooser.contains(&format!("/login/mobile?request={request}")));
    let crafted = browser
        .get(&format!("/login/password?request={request}"))
        .await;
    assert_eq!(
        crafted.status(),
        400,
        "a source below the level is not begun"
    );
    let number = browser
        .get(&format!("/login/mobile?request={request}"))
        .await
        .text()
        .await
        .unwrap();
    let page = code_page(browser, &Page { html: number }, "0912 345 678").await;
    finish(server, browser, client, &page, &gateway.last_code()).await
}

#[tokio::test]
async fn step_up_a_level_2_password_session_to_level_3_by_sms_on_the_same_session() {
    let (server, gateway) = start().await;
    let sub = account_with_phone(&server, "binh").await;
    let client = server
        .client(
            "social-insurance",
            portico::store::AuthMethod::ClientSecretBasic,
        )
        .await;
    let browser = Browser::new(&server);
    let first = password_session(&server, &browser, &client, "binh").await;
    assert_eq!(first["acr"], "urn:portico:loa:2");
    assert_eq!(first["sub"], sub.as_str());
    let sid = first["sid"].as_str().expect("a sid").to_owned();

    let stepped = step_up(
        &server,
        &browser,
        &client,
        &[("acr_values", "urn:portico:loa:3")],
        &gateway,
    )
    .await;
    assert_eq!(stepped["acr"], "urn:portico:loa:3");
    assert_eq!(stepped["amr"], serde_json::json!(["pwd", "sms", "mfa"]));
    assert_eq!(stepped["sub"], sub.as_str(), "the same person");
    assert_eq!(stepped["sid"], sid.as_str(), "the same session");
    let audit = server
        .provider()
        .store
        .audit()
        .recent("login_second_factor", 5)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].account_id.as_deref(), Some(sub.as_str()));
    assert!(
        !audit[0].detail.contains("912345678"),
        "no number in the audit"
    );
    assert!(audit[0].detail.contains("source=mobile"), "{:?}", audit[0]);

    // Discovery lists every configured level, and the claims parameter.
    let meta: serde_json::Value = browser
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["acr_values_supported"],
        serde_json::json!(["urn:portico:loa:2", "urn:portico:loa:3"])
    );
    assert_eq!(meta["claims_parameter_supported"], true);

    // Asked for a level no configured method reaches: the portal is told, no login.
    let unmet = browser
        .get(&server.authorize_url(&client, &[("acr_values", "urn:portico:loa:4")]))
        .await;
    assert_eq!(unmet.status(), 303);
    let to = location(unmet.headers()).unwrap();
    assert_eq!(
        query(&to).get("error").map(String::as_str),
        Some("unmet_authentication_requirements"),
        "{to}"
    );
}

#[tokio::test]
async fn an_essential_acr_in_claims_steps_up_the_same_way() {
    let (server, gateway) = start().await;
    let sub = account_with_phone(&server, "binh").await;
    let client = server
        .client(
            "land-registry",
            portico::store::AuthMethod::ClientSecretBasic,
        )
        .await;
    let browser = Browser::new(&server);
    let first = password_session(&server, &browser, &client, "binh").await;
    let essential = r#"{"id_token":{"acr":{"essential":true,"values":["urn:portico:loa:3"]}}}"#;
    let stepped = step_up(
        &server,
        &browser,
        &client,
        &[("claims", essential)],
        &gateway,
    )
    .await;
    assert_eq!(stepped["acr"], "urn:portico:loa:3");
    assert_eq!(stepped["sub"], sub.as_str());
    assert_eq!(stepped["sid"], first["sid"]);
    let unmet = browser
        .get(&server.authorize_url(
            &client,
            &[(
                "claims",
                r#"{"id_token":{"acr":{"essential":true,"value":"urn:portico:loa:4"}}}"#,
            )],
        ))
        .await;
    let to = location(unmet.headers()).unwrap();
    assert_eq!(
        query(&to).get("error").map(String::as_str),
        Some("unmet_authentication_requirements"),
        "{to}"
    );
}

#[tokio::test]
async fn a_number_that_is_not_the_accounts_does_not_step_up_its_session() {
    let (server, gateway) = start().await;
    account_with_phone(&server, "binh").await;
    let client = server
        .client("tax", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let first = password_session(&server, &browser, &client, "binh").await;
    let login = browser
        .follow(&server.authorize_url(&client, &[("acr_values", "urn:portico:loa:3")]))
        .await;
    let request = login.trim_start_matches("/login?request=");
    let number = browser
        .get(&format!("/login/mobile?request={request}"))
        .await
        .text()
        .await
        .unwrap();
    let page = code_page(&browser, &Page { html: number }, "0988 777 666").await;
    let claims = finish(&server, &browser, &client, &page, &gateway.last_code()).await;
    assert_ne!(
        claims["sub"], first["sub"],
        "another person: the number's own account"
    );
    assert_ne!(claims["sid"], first["sid"]);
    assert_eq!(claims["amr"], serde_json::json!(["sms"]));
}
