//! What the server writes to its log. The e2e `TestServer` runs in this process, whose
//! tracing output is not the binary's: this test runs the real `portico serve` with
//! `RUST_LOG=debug` and reads its standard error.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

use crate::common::*;

const NATIONAL_ID: &str = "079201004321";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";

fn portico(dir: &Path, issuer: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_portico"));
    c.current_dir(dir)
        .env_remove("PORTICO_CONFIG")
        .env("PORTICO_ISSUER", issuer)
        .env(
            "PORTICO_DATABASE_URL",
            format!("sqlite://{}/p.db", dir.display()),
        )
        .env("PORTICO_KEYS_DIR", dir.join("keys"))
        .env("PORTICO_PASSWORD__MEMORY_KIB", "8192")
        .env("PORTICO_PASSWORD__ITERATIONS", "1")
        .env("RUST_LOG", "debug");
    c
}

/// Runs a CLI command; answers its standard output and adds its standard error to `log`.
fn run(dir: &Path, issuer: &str, args: &[&str], stdin: Option<&str>, log: &mut String) -> String {
    use std::io::Write;
    let mut child = portico(dir, issuer)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "portico {args:?}: {stderr}");
    log.push_str(&stderr);
    String::from_utf8(out.stdout).unwrap()
}

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn asvs_7_1_1_logs_hold_no_secret_token_or_national_id() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut log = String::new();
    let registered: Value = serde_json::from_str(&run(
        dir.path(),
        &base,
        &[
            "client",
            "add",
            "--client-id",
            "ministry",
            "--redirect-uri",
            REDIRECT_URI,
            "--grant-type",
            "authorization_code",
            "refresh_token",
            "--json",
        ],
        None,
        &mut log,
    ))
    .unwrap();
    let secret = registered["client_secret"].as_str().unwrap().to_owned();
    run(
        dir.path(),
        &base,
        &[
            "account",
            "add",
            "--username",
            "mai",
            "--password-stdin",
            "--national-id",
            NATIONAL_ID,
        ],
        Some(PASSWORD),
        &mut log,
    );
    let log_path = dir.path().join("serve.log");
    let mut server = Serving(
        portico(dir.path(), &base)
            .env("PORTICO_LISTEN", format!("127.0.0.1:{port}"))
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while !reqwest::get(format!("{base}/readyz"))
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(start.elapsed() < Duration::from_secs(30), "not ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Everything secret the flow uses, gathered as it goes.
    let mut secrets = vec![PASSWORD.to_owned(), NATIONAL_ID.to_owned(), secret.clone()];
    let browser = Browser::for_base(&base);
    let authorize = format!(
        "{base}/authorize?client_id=ministry&redirect_uri={}&response_type=code\
         &scope=openid%20profile%20offline_access&state=s&nonce=n&prompt=consent\
         &code_challenge={CHALLENGE}&code_challenge_method=S256",
        url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
    );
    let login = browser.follow(&authorize).await;
    // A wrong password first: failures are where details get logged.
    let wrong = "not-the-password-9f3k";
    secrets.push(wrong.to_owned());
    let r = browser.submit_login(&login, "mai", wrong).await;
    assert_eq!(r.status(), 200);
    let html = browser.get(&login).await.text().await.unwrap();
    secrets.push(hidden(&html, "csrf").unwrap());
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    assert_eq!(r.status(), 303);
    for cookie in r.headers().get_all("set-cookie") {
        let value = cookie.to_str().unwrap().split(';').next().unwrap();
        secrets.push(value.split_once('=').unwrap().1.to_owned());
    }
    let consent = location(r.headers()).unwrap();
    assert!(consent.starts_with("/consent"), "{consent}");
    let html = browser.get(&consent).await.text().await.unwrap();
    secrets.push(hidden(&html, "csrf").unwrap());
    let redirect = browser.submit_consent(&consent, true).await;
    let code = query(&redirect)["code"].clone();
    secrets.push(code.clone());

    let http = reqwest::Client::new();
    let post = |path: &str, form: Vec<(&str, String)>| {
        http.post(format!("{base}{path}"))
            .basic_auth("ministry", Some(&secret))
            .form(&form)
            .send()
    };
    let exchange = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    let exchange: Vec<(&str, String)> = exchange.into_iter().map(|(k, v)| (k, v.into())).collect();
    let tokens: Value = post("/token", exchange.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refreshed: Value = post(
        "/token",
        vec![
            ("grant_type", "refresh_token".into()),
            (
                "refresh_token",
                tokens["refresh_token"].as_str().unwrap().into(),
            ),
        ],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    for t in [&tokens, &refreshed] {
        for name in ["access_token", "refresh_token", "id_token"] {
            secrets.push(t[name].as_str().expect(name).to_owned());
        }
    }
    let at = refreshed["access_token"].as_str().unwrap();
    let userinfo = http
        .get(format!("{base}/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 200);
    let info: Value = post("/introspect", vec![("token", at.into())])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["active"], true);
    // A replayed code and a replayed refresh token: both revoke the grant, and are
    // audited, with the logs told why.
    let replayed = post("/token", exchange).await.unwrap();
    assert_eq!(replayed.status(), 400);
    let reused = post(
        "/token",
        vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect(),
    )
    .await
    .unwrap();
    assert_eq!(reused.status(), 400);

    // Logout through the confirmation page, whose form carries a CSRF token.
    let page = browser
        .get(&format!("{base}/end_session?client_id=ministry"))
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let csrf = hidden(&html, "csrf").unwrap();
    secrets.push(csrf.clone());
    let r = browser
        .post_form(
            "/logout",
            &[
                ("csrf", csrf.as_str()),
                ("client_id", "ministry"),
                ("post_logout_redirect_uri", ""),
                ("state", ""),
                ("ui_locales", ""),
                ("decision", "logout"),
            ],
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());

    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = server.0.kill();
    let _ = server.0.wait();
    log.push_str(&std::fs::read_to_string(&log_path).unwrap());
    assert!(
        log.contains("DEBUG"),
        "the server logged at debug level: {log}"
    );
    // Each also base64url-encoded, as it would be inside a logged `Authorization: Basic`.
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    for s in &secrets {
        assert!(!s.is_empty());
        for form in [s.clone(), b64.encode(s)] {
            assert!(!log.contains(&form), "the log holds a secret ({s}):\n{log}");
        }
    }
}
