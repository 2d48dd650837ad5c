//! The identity-source contract end to end, with the two-step source that exists only
//! in test builds: a redirect to another origin that comes back with a one-time
//! hand-off token, a form asking a code, then a verified identity that `identity/`
//! turns into an account (created, or linked by a verified national id) and `oidc/`
//! into a code. Also: an attempt begun on one node and finished on another, replays,
//! tries capped, and the answers a person gets when no account has the login or the
//! password check itself fails.

use crate::common::*;

const CODE: &str = "246810";

fn two_step_source(national_id: &str, extra: &str) -> String {
    format!(
        "[[sources]]\nid = \"password\"\nkind = \"password\"\n\
         [[sources]]\nid = \"telco\"\nkind = \"test_two_step\"\n\
         display_name = {{ vi = \"Nhà mạng di động\", en = \"Mobile operator\" }}\nloa = 3\n\
         other_origin = \"https://operator.example/authorize\"\ncode = \"{CODE}\"\n\
         subject = \"84901234567\"\n{extra}\n\
         [sources.attributes]\nnational_id = \"{national_id}\"\ngiven_name = \"Lan\"\n"
    )
}

/// The query parameters of the other origin's page, and the callback to return to.
struct OtherOrigin {
    handoff: String,
    nonce: String,
    callback: String,
}

/// From the login page, begins the two-step source: the redirect to the other origin.
async fn go_to_other_origin(browser: &Browser, login_url: &str) -> OtherOrigin {
    let html = browser.get(login_url).await.text().await.unwrap();
    let request = login_url.trim_start_matches("/login?request=");
    let link = format!("/login/telco?request={request}");
    assert!(html.contains(&link), "the page links the source: {html}");
    assert!(html.contains("Mobile operator"), "{html}");
    let away = browser.follow(&link).await;
    assert!(
        away.starts_with("https://operator.example/authorize?"),
        "{away}"
    );
    let q = query(&away);
    OtherOrigin {
        handoff: q["handoff"].clone(),
        nonce: q["nonce"].clone(),
        callback: q["return"].clone(),
    }
}

/// The other origin sends the browser back; answers the form page it gets.
async fn come_back(browser: &Browser, other: &OtherOrigin) -> reqwest::Response {
    let mut url = url::Url::parse(&other.callback).unwrap();
    url.query_pairs_mut()
        .append_pair("handoff", &other.handoff)
        .append_pair("nonce", &other.nonce);
    browser.http.get(url).send().await.unwrap()
}

async fn submit_code(browser: &Browser, form_html: &str, code: &str) -> reqwest::Response {
    browser
        .post_form(
            "/login/telco",
            &[
                ("request", &hidden(form_html, "request").unwrap()),
                ("csrf", &hidden(form_html, "csrf").unwrap()),
                ("attempt", &hidden(form_html, "attempt").unwrap()),
                ("code", code),
            ],
        )
        .await
}

/// A whole login at the operator through `browser` for a portal that needs no consent:
/// the token response.
async fn tokens_via_operator(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
) -> serde_json::Value {
    let login = browser.follow(&server.authorize_url(client, &[])).await;
    let other = go_to_other_origin(browser, &login).await;
    let form = come_back(browser, &other).await.text().await.unwrap();
    let done = submit_code(browser, &form, CODE).await;
    let code = code_from(&location(done.headers()).unwrap(), server, client);
    server
        .exchange(client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap()
}

fn claims_of(id_token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = id_token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_two_step_source_goes_through_login_identity_and_oidc_and_creates_the_account() {
    let server = TestServer::start_with(&two_step_source("079201000001", "")).await;
    let client = server
        .client("ministry", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let login = browser
        .follow(&server.authorize_url(&client, &[("acr_values", "urn:portico:loa:3")]))
        .await;
    // The password source (level 2) cannot meet level 3: only the operator is offered.
    let html = browser.get(&login).await.text().await.unwrap();
    assert!(!html.contains("name=\"password\""), "{html}");
    let request = login.trim_start_matches("/login?request=");
    let refused = browser
        .get(&format!("/login/password?request={request}"))
        .await;
    assert_eq!(
        refused.status(),
        400,
        "a source below the level is not begun"
    );

    let other = go_to_other_origin(&browser, &login).await;
    let form = come_back(&browser, &other).await;
    assert_eq!(form.status(), 200);
    let form = form.text().await.unwrap();
    assert!(form.contains("name=\"code\""), "{form}");
    let attempt = hidden(&form, "attempt").unwrap();
    assert_ne!(attempt, other.handoff, "each step gets a handle of its own");

    // The hand-off token was good once.
    let replay = come_back(&browser, &other).await;
    assert_eq!(replay.status(), 400);
    assert!(replay.text().await.unwrap().contains("no longer valid"));

    // A wrong code: the same form again, saying why.
    let wrong = submit_code(&browser, &form, "000000").await;
    assert_eq!(wrong.status(), 200);
    let again = wrong.text().await.unwrap();
    assert!(again.contains("the answer is not correct"), "{again}");
    assert_eq!(hidden(&again, "attempt").unwrap(), attempt);

    let done = submit_code(&browser, &again, CODE).await;
    assert_eq!(done.status(), 303);
    let next = location(done.headers()).unwrap();
    assert!(next.starts_with("/consent?request="), "{next}");
    let redirect = browser.submit_consent(&next, true).await;
    let code = code_from(&redirect, &server, &client);
    let tokens: serde_json::Value = server
        .exchange(&client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["acr"], "urn:portico:loa:3");
    assert_eq!(claims["amr"], serde_json::json!(["otp"]));

    // The attempt is gone once finished; the account was created, and audited so.
    let finished = submit_code(&browser, &again, CODE).await;
    assert_eq!(finished.status(), 400);
    let audit = server
        .provider()
        .store
        .audit()
        .recent("login_account_created", 5)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].account_id.as_deref(), claims["sub"].as_str());
    assert!(audit[0].detail.contains("source=telco"), "{:?}", audit[0]);
    let account = server
        .provider()
        .store
        .accounts()
        .get(&portico::ids::AccountId::new(
            claims["sub"].as_str().unwrap(),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.text("given_name"), Some("Lan"));
    assert_eq!(account.text("national_id"), Some("079201000001"));
    assert!(account.attributes.is_verified("national_id"));

    // The next login at the same source finds the same account.
    let again = tokens_via_operator(&server, &Browser::new(&server), &client).await;
    assert_eq!(
        claims_of(again["id_token"].as_str().unwrap())["sub"],
        claims["sub"]
    );
    let found = server
        .provider()
        .store
        .audit()
        .recent("login_identity_found", 5)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn a_trusted_source_links_by_verified_national_id_and_an_untrusted_one_does_not() {
    // `TestServer::account` gives "mai" the verified national id 001099000003.
    for (trusted, links) in [("trusted_for_linking = true", true), ("", false)] {
        let server = TestServer::start_with(&two_step_source("001099000003", trusted)).await;
        let mai = server.account("mai").await;
        let client = server
            .client_with(
                "portal",
                portico::store::AuthMethod::ClientSecretBasic,
                true,
                portico::crypto::SigningAlg::ES256,
            )
            .await;
        let tokens = tokens_via_operator(&server, &Browser::new(&server), &client).await;
        let sub = claims_of(tokens["id_token"].as_str().unwrap())["sub"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(sub == mai, links, "trusted: {trusted:?}");
        let event = if links {
            "login_identity_linked"
        } else {
            "login_account_created"
        };
        let audit = server
            .provider()
            .store
            .audit()
            .recent(event, 5)
            .await
            .unwrap();
        assert_eq!(audit.len(), 1, "{event}");
        if !links {
            // The national id stays with the account that holds it.
            let created = server
                .provider()
                .store
                .accounts()
                .get(&portico::ids::AccountId::new(sub))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(created.text("national_id"), None);
        }
    }
}

#[tokio::test]
async fn an_attempt_begun_on_one_node_is_finished_on_another() {
    let first = TestServer::start_with(&two_step_source("079201000002", "")).await;
    let second = first
        .second_node(&two_step_source("079201000002", ""))
        .await;
    let client = first
        .client_with(
            "portal",
            portico::store::AuthMethod::ClientSecretBasic,
            true,
            portico::crypto::SigningAlg::ES256,
        )
        .await;
    let on_first = Browser::new(&first);
    let login = on_first.follow(&first.authorize_url(&client, &[])).await;
    let mut other = go_to_other_origin(&on_first, &login).await;
    // The other origin sends the browser back through the load balancer to the other
    // node: its callback URL there.
    other.callback = other.callback.replace(&first.base, &second.base);
    let on_second = on_first.on(&second);
    let form = come_back(&on_second, &other).await;
    assert_eq!(form.status(), 200);
    let form = form.text().await.unwrap();
    let done = submit_code(&on_second, &form, CODE).await;
    assert_eq!(done.status(), 303);
    let code = code_from(&location(done.headers()).unwrap(), &second, &client);
    assert_eq!(
        second.exchange(&client, &code, VERIFIER).await.status(),
        200
    );
    // And the hand-off token is spent on every node.
    other.callback = other.callback.replace(&second.base, &first.base);
    assert_eq!(come_back(&on_first, &other).await.status(), 400);
}

#[tokio::test]
async fn an_attempt_is_bound_to_its_browser_and_its_tries_are_capped() {
    let server = TestServer::start_with(&two_step_source("079201000003", "")).await;
    let client = server
        .client("ministry", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let other = go_to_other_origin(&browser, &login).await;

    // Another browser bringing the hand-off token back is refused, and the attempt ends.
    let stranger = Browser::new(&server);
    stranger.get(&server.authorize_url(&client, &[])).await;
    assert_eq!(come_back(&stranger, &other).await.status(), 400);
    assert_eq!(come_back(&browser, &other).await.status(), 400);

    // Tries at the code form are capped (portico::login::MAX_TRIES), then it is over.
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let other = go_to_other_origin(&browser, &login).await;
    let mut form = come_back(&browser, &other).await.text().await.unwrap();
    for _ in 0..portico::login::MAX_TRIES - 1 {
        let r = submit_code(&browser, &form, "111111").await;
        assert_eq!(r.status(), 200);
        form = r.text().await.unwrap();
        assert!(form.contains("the answer is not correct"), "{form}");
    }
    let last = submit_code(&browser, &form, "111111")
        .await
        .text()
        .await
        .unwrap();
    assert!(last.contains("too many attempts"), "{last}");
    assert!(
        !last.contains("name=\"attempt\""),
        "back on the login page: {last}"
    );
    let after = submit_code(&browser, &form, CODE).await;
    assert_eq!(after.status(), 400, "even the right code is too late");
}

#[tokio::test]
async fn a_login_no_account_has_is_not_called_a_wrong_password() {
    let server =
        TestServer::start_with(&two_step_source("079201000004", "creates_accounts = false")).await;
    let client = server
        .client("ministry", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let other = go_to_other_origin(&browser, &login).await;
    let form = come_back(&browser, &other).await.text().await.unwrap();
    let r = submit_code(&browser, &form, CODE).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("no account uses this login yet"), "{html}");
    assert!(!html.contains("incorrect"), "{html}");
}

#[tokio::test]
async fn a_password_check_that_fails_is_an_outage_not_a_wrong_password() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let client = server
        .client("ministry", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    // The stored hash is damaged: argon2 cannot even parse it.
    let mut db = SideDoor::open(server.database_url()).await;
    db.execute("UPDATE passwords SET hash = 'not-a-phc-string' WHERE username = 'mai'")
        .await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    assert_eq!(r.status(), 503);
    let html = r.text().await.unwrap();
    assert!(!html.contains("incorrect"), "{html}");
    assert!(html.contains("cannot check"), "{html}");
}
