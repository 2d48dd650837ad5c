//! The workloads, identical for both providers: each worker holds one keep-alive
//! connection and its own state (cookies, refresh token) and repeats one operation.

use super::client::{Conn, basic, hidden, param};
use super::targets::{Kind, PASSWORD, REDIRECT_URI, Target, USERNAME};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    DiscoveryJwks,
    ClientCredentials,
    CodeRound,
    Refresh,
    Introspection,
    PasswordLogin,
}

impl Workload {
    pub const ALL: [Workload; 6] = [
        Workload::DiscoveryJwks,
        Workload::ClientCredentials,
        Workload::CodeRound,
        Workload::Refresh,
        Workload::Introspection,
        Workload::PasswordLogin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::DiscoveryJwks => "discovery + JWKS",
            Workload::ClientCredentials => "client_credentials",
            Workload::CodeRound => "code round (authorize, token, userinfo)",
            Workload::Refresh => "refresh",
            Workload::Introspection => "introspection",
            Workload::PasswordLogin => "password login (argon2id)",
        }
    }

    /// Whether the peer takes part: its login checks no password, so comparing would
    /// say nothing.
    pub fn for_peer(self) -> bool {
        self != Workload::PasswordLogin
    }
}

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Per-worker state.
pub struct Worker {
    pub conn: Conn,
    refresh_token: Option<String>,
    access_token: Option<String>,
    step: u64,
}

fn authorize_url(t: &Target, scope: &str) -> String {
    format!(
        "{}?client_id=bench-rp&response_type=code&scope={}&redirect_uri={}&state=s&nonce=n\
         &code_challenge={CHALLENGE}&code_challenge_method=S256",
        t.authorize,
        scope.replace(' ', "%20"),
        form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
    )
}

fn expect(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_owned()) }
}

/// Follows redirects on this provider's origin until one leaves for the client;
/// answers the code.
async fn follow_to_code(conn: &mut Conn, t: &Target, mut url: String) -> Result<String, String> {
    for _ in 0..6 {
        if url.starts_with(REDIRECT_URI) {
            return param(&url, "code").ok_or_else(|| format!("no code in {url}"));
        }
        let r = conn.get(&url, &[]).await?;
        url = match r.location {
            Some(l) if r.status.is_redirection() => l,
            _ => {
                return Err(format!(
                    "{} at {url}: {}",
                    r.status,
                    r.text().chars().take(200).collect::<String>()
                ));
            }
        };
        if url.starts_with('/') {
            url = format!("{}{url}", t.issuer);
        }
    }
    Err("too many redirects".into())
}

/// A full password login at Portico: authorize, the login page, the form. Answers the
/// code (the bench client is first-party: no consent).
async fn portico_login(conn: &mut Conn, t: &Target, scope: &str) -> Result<String, String> {
    conn.cookies.retain(|k, _| k != "__Host-portico_session");
    let r = conn.get(&authorize_url(t, scope), &[]).await?;
    let login = r.location.ok_or("authorize did not redirect")?;
    let page = conn.get(&login, &[]).await?;
    expect(page.status == 200, "login page")?;
    let html = page.text();
    let form = [
        ("request", hidden(html, "request").ok_or("no request")?),
        ("csrf", hidden(html, "csrf").ok_or("no csrf")?),
        ("source", "password".to_owned()),
        ("username", USERNAME.to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = conn.post("/login", &[], &form).await?;
    let to = r
        .location
        .ok_or_else(|| format!("login refused: {}", r.status))?;
    param(&to, "code").ok_or_else(|| format!("no code after login: {to}"))
}

/// Establishes a session (a login at Portico; the peer's interaction finishes at once).
async fn sign_in(conn: &mut Conn, t: &Target, scope: &str) -> Result<String, String> {
    match t.kind {
        Kind::Portico => portico_login(conn, t, scope).await,
        Kind::Peer => follow_to_code(conn, t, authorize_url(t, scope)).await,
    }
}

async fn exchange(conn: &mut Conn, t: &Target, code: &str) -> Result<serde_json::Value, String> {
    let auth = basic("bench-rp", &t.rp_secret);
    let r = conn
        .post(
            t.token,
            &[("authorization", &auth)],
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
            ],
        )
        .await?;
    expect(
        r.status == 200,
        &format!("code exchange {}: {}", r.status, r.text()),
    )?;
    Ok(r.json())
}

async fn client_credentials(conn: &mut Conn, t: &Target) -> Result<String, String> {
    let auth = basic("bench-cc", &t.cc_secret);
    let r = conn
        .post(
            t.token,
            &[("authorization", &auth)],
            &[("grant_type", "client_credentials"), ("scope", "api.read")],
        )
        .await?;
    expect(
        r.status == 200,
        &format!("client_credentials {}: {}", r.status, r.text()),
    )?;
    r.json()["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "no access token".into())
}

impl Worker {
    pub async fn setup(t: &Target, w: Workload) -> Result<Worker, String> {
        let mut worker = Worker {
            conn: Conn::open(&t.addr).await,
            refresh_token: None,
            access_token: None,
            step: 0,
        };
        match w {
            Workload::CodeRound => {
                sign_in(&mut worker.conn, t, "openid profile email").await?;
            }
            Workload::Refresh => {
                let code =
                    sign_in(&mut worker.conn, t, "openid profile email offline_access").await?;
                let tokens = exchange(&mut worker.conn, t, &code).await?;
                worker.refresh_token = Some(
                    tokens["refresh_token"]
                        .as_str()
                        .ok_or("no refresh token")?
                        .to_owned(),
                );
            }
            Workload::Introspection => {
                worker.access_token = Some(client_credentials(&mut worker.conn, t).await?);
            }
            Workload::PasswordLogin => {
                // The browser cookie is set by the first authorize.
                worker.conn.get(&authorize_url(t, "openid"), &[]).await?;
            }
            Workload::DiscoveryJwks | Workload::ClientCredentials => {}
        }
        Ok(worker)
    }

    /// One operation; an `Err` is counted as an error.
    pub async fn run(&mut self, t: &Target, w: Workload) -> Result<(), String> {
        self.step += 1;
        let conn = &mut self.conn;
        match w {
            Workload::DiscoveryJwks => {
                let path = if self.step % 2 == 0 {
                    "/.well-known/openid-configuration"
                } else {
                    t.jwks
                };
                let r = conn.get(path, &[]).await?;
                expect(r.status == 200, "discovery/jwks")
            }
            Workload::ClientCredentials => client_credentials(conn, t).await.map(|_| ()),
            Workload::CodeRound => {
                let code =
                    follow_to_code(conn, t, authorize_url(t, "openid profile email")).await?;
                let tokens = exchange(conn, t, &code).await?;
                let at = tokens["access_token"].as_str().ok_or("no access token")?;
                let bearer = format!("Bearer {at}");
                let r = conn.get(t.userinfo, &[("authorization", &bearer)]).await?;
                expect(r.status == 200, &format!("userinfo {}", r.status))
            }
            Workload::Refresh => {
                let auth = basic("bench-rp", &t.rp_secret);
                let rt = self.refresh_token.clone().ok_or("no refresh token")?;
                let r = conn
                    .post(
                        t.token,
                        &[("authorization", &auth)],
                        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
                    )
                    .await?;
                expect(
                    r.status == 200,
                    &format!("refresh {}: {}", r.status, r.text()),
                )?;
                self.refresh_token = Some(
                    r.json()["refresh_token"]
                        .as_str()
                        .ok_or("no new refresh token")?
                        .to_owned(),
                );
                Ok(())
            }
            Workload::Introspection => {
                let auth = basic("bench-cc", &t.cc_secret);
                let at = self.access_token.clone().unwrap_or_default();
                let r = conn
                    .post(t.introspect, &[("authorization", &auth)], &[("token", &at)])
                    .await?;
                expect(
                    r.status == 200 && r.json()["active"] == true,
                    &format!("introspection {}: {}", r.status, r.text()),
                )
            }
            Workload::PasswordLogin => portico_login(conn, t, "openid").await.map(|_| ()),
        }
    }
}
