//! The test server and a small browser.

use std::sync::Arc;

use portico::app::App;
use portico::clock::OffsetClock;
use portico::config::Config;
use portico::crypto::SigningAlg;
use portico::model::Attributes;
use portico::oidc::registration::ClientRegistration;
use portico::secret::Secret;
use portico::server::RunningServer;
use portico::store::{AccountKind, AuthMethod, GrantType, NewAccount};
use reqwest::header::{ACCEPT_LANGUAGE, HeaderMap, HeaderValue, LOCATION};
use tempfile::TempDir;

pub const PASSWORD: &str = "correct horse battery staple";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub struct TestServer {
    pub base: String,
    pub clock: Arc<OffsetClock>,
    server: Option<RunningServer>,
    _database: TestDatabase,
    _dir: TempDir,
}

/// A fresh database for one test: a SQLite file in the test's folder, or, when
/// `PORTICO_TEST_POSTGRES_URL` is set, a PostgreSQL database created for the test and
/// dropped after it.
pub struct TestDatabase {
    pub url: String,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// A database made elsewhere, not dropped by the test.
    pub fn existing(url: String) -> TestDatabase {
        TestDatabase {
            url,
            postgres: None,
        }
    }

    pub async fn create(dir: &std::path::Path) -> TestDatabase {
        match std::env::var("PORTICO_TEST_POSTGRES_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                use sqlx::Connection;
                let name = format!(
                    "portico_test_{}",
                    portico::random::token()
                        .expose()
                        .to_lowercase()
                        .replace(['-', '_'], "")[..20]
                        .to_owned()
                );
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .expect("PORTICO_TEST_POSTGRES_URL connects");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let mut url = url::Url::parse(&admin_url).unwrap();
                url.set_path(&name);
                TestDatabase {
                    url: url.to_string(),
                    postgres: Some((admin_url, name)),
                }
            }
            _ => TestDatabase {
                url: format!("sqlite://{}", dir.join("portico.db").display()),
                postgres: None,
            },
        }
    }

    fn drop_now(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            // Drop runs outside async context guarantees: use a thread of its own.
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut admin)
                                .await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        self.drop_now();
    }
}

/// A registered client as the tests see it.
#[derive(Clone)]
pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with("").await
    }

    /// Starts with extra TOML configuration appended to the test defaults.
    pub async fn start_with(extra_toml: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let database = TestDatabase::create(dir.path()).await;
        Self::start_on(database, dir, extra_toml).await
    }

    /// Starts on a given database (dropped with the server when it is a test's own).
    pub async fn start_on(database: TestDatabase, dir: TempDir, extra_toml: &str) -> TestServer {
        Self::start_named(database, dir, "127.0.0.1", extra_toml).await
    }

    /// Starts with `http://{host}:PORT` as the issuer (`localhost` for passkeys, which
    /// take no IP address), listening on 127.0.0.1.
    pub async fn start_named(
        database: TestDatabase,
        dir: TempDir,
        host: &str,
        extra_toml: &str,
    ) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let base = format!("http://{host}:{port}");
        // The tests' portals listen on loopback, which the outbound policy refuses by
        // default; a test of that policy writes its own `[outbound]`.
        let outbound = if extra_toml.contains("[outbound]") {
            ""
        } else {
            "[outbound]\nallow_private_addresses = true\n"
        };
        let toml = format!(
            "issuer = \"{base}\"\nlisten = \"127.0.0.1:{port}\"\n\
             database_url = \"{db}\"\nkeys_dir = \"{keys}\"\n{outbound}\
             [password]\nmemory_kib = 8192\niterations = 1\n{extra_toml}",
            db = database.url,
            keys = dir.path().join("keys").display(),
        );
        let config = Config::from_parts(&toml, &[]).expect("test config");
        let clock = Arc::new(OffsetClock::default());
        let provider = Arc::new(
            App::start(config, clock.clone())
                .await
                .expect("provider starts"),
        );
        let server = portico::server::serve(listener, provider).unwrap();
        TestServer {
            base,
            clock,
            server: Some(server),
            _database: database,
            _dir: dir,
        }
    }

    /// Stops gracefully: in-flight requests finish first.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.unwrap();
        }
    }

    pub fn provider(&self) -> &App {
        &self.server.as_ref().unwrap().provider
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn client(&self, id: &str, method: AuthMethod) -> TestClient {
        self.client_with(id, method, false, SigningAlg::ES256).await
    }

    pub async fn client_with(
        &self,
        id: &str,
        method: AuthMethod,
        first_party: bool,
        alg: SigningAlg,
    ) -> TestClient {
        let reg = ClientRegistration {
            public: method == AuthMethod::None,
            auth_method: Some(method),
            first_party,
            id_token_alg: alg,
            ..self.registration(id)
        };
        self.register(reg).await
    }

    /// A registration with this test's redirect URI and the code and refresh grants.
    pub fn registration(&self, id: &str) -> ClientRegistration {
        ClientRegistration {
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            ..ClientRegistration::new(id, vec![format!("http://127.0.0.1:9/{id}/cb")])
        }
    }

    pub async fn register(&self, reg: ClientRegistration) -> TestClient {
        let outbound = self.provider().config.outbound;
        let (client, secret) = portico::oidc::registration::register(reg, &self.base, outbound, 0)
            .await
            .expect("valid registration");
        self.provider()
            .store
            .clients()
            .insert(&client)
            .await
            .unwrap();
        TestClient {
            id: client.client_id.to_string(),
            secret: secret.map(|s| s.expose().to_owned()),
            redirect_uri: client.redirect_uris.first().cloned().unwrap_or_default(),
        }
    }

    pub async fn account(&self, username: &str) -> String {
        let p = self.provider();
        let hash = p.passwords.hash(&Secret::new(PASSWORD)).await.unwrap();
        let new = NewAccount {
            kind: Some(AccountKind::Citizen),
            attributes: Attributes::default()
                .with_entry("name", "Nguyen Thi Mai", false, 0)
                .with_entry("given_name", "Mai", false, 0)
                .with_entry("family_name", "Nguyen", false, 0)
                .with_entry("email", format!("{username}@example.gov"), true, 0)
                .with_entry(
                    "national_id",
                    format!("0010990{:05}", username.len()),
                    true,
                    0,
                ),
        };
        p.store
            .accounts()
            .create_with_password(&new, "password", username, &hash, p.now())
            .await
            .unwrap()
            .to_string()
    }

    /// An authorization URL with PKCE and the given extra parameters.
    pub fn authorize_url(&self, client: &TestClient, extra: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&self.url("/authorize")).unwrap();
        {
            let mut q = url.query_pairs_mut();
            let mut base = vec![
                ("client_id", client.id.as_str()),
                ("redirect_uri", client.redirect_uri.as_str()),
                ("response_type", "code"),
                ("scope", "openid profile email"),
                ("state", "st-1"),
                ("nonce", "n-1"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ];
            base.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
            for (k, v) in base.into_iter().chain(extra.iter().copied()) {
                if !v.is_empty() {
                    q.append_pair(k, v);
                }
            }
        }
        url.into()
    }

    /// POSTs a form to an endpoint, authenticated with client_secret_basic when the
    /// client has a secret.
    pub async fn post_as(
        &self,
        client: &TestClient,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = reqwest::Client::new().post(self.url(path)).form(form);
        if let Some(secret) = &client.secret {
            req = req.basic_auth(&client.id, Some(secret));
        }
        req.send().await.unwrap()
    }

    /// The URL of this server's database (for tests that race the server there).
    pub fn database_url(&self) -> &str {
        &self._database.url
    }

    /// Logs `username` in through a fresh browser with `extra` authorization
    /// parameters, and exchanges the code: the token response.
    pub async fn tokens(
        &self,
        client: &TestClient,
        username: &str,
        extra: &[(&str, &str)],
    ) -> serde_json::Value {
        self.tokens_through(&Browser::new(self), client, username, extra)
            .await
    }

    /// `tokens` through `browser`, which keeps the session for later requests.
    pub async fn tokens_through(
        &self,
        browser: &Browser,
        client: &TestClient,
        username: &str,
        extra: &[(&str, &str)],
    ) -> serde_json::Value {
        let redirect = browser
            .authorize_interactively(&self.authorize_url(client, extra), username)
            .await;
        let code = code_from(&redirect, self, client);
        let r = self.exchange(client, &code, VERIFIER).await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// Signs `username` in through `browser` at a first-party `client` (no consent page)
    /// and exchanges the code: the token response.
    pub async fn sign_in(
        &self,
        browser: &Browser,
        client: &TestClient,
        username: &str,
    ) -> serde_json::Value {
        let login = browser.follow(&self.authorize_url(client, &[])).await;
        let r = browser.submit_login(&login, username, PASSWORD).await;
        let code = code_from(&location(r.headers()).unwrap(), self, client);
        let r = self.exchange(client, &code, VERIFIER).await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// Exchanges a code at the token endpoint with client_secret_basic.
    pub async fn exchange(
        &self,
        client: &TestClient,
        code: &str,
        verifier: &str,
    ) -> reqwest::Response {
        let mut req = reqwest::Client::new().post(self.url("/token")).form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &client.redirect_uri),
            ("code_verifier", verifier),
        ]);
        if let Some(secret) = &client.secret {
            req = req.basic_auth(&client.id, Some(secret));
        }
        req.send().await.unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            // Graceful stop in the background; the runtime ends with the test anyway.
            tokio::spawn(async move {
                let _ = server.stop().await;
            });
        }
    }
}

/// A browser: a cookie jar and no automatic redirects.
pub struct Browser {
    pub http: reqwest::Client,
    base: String,
}

pub fn location(headers: &HeaderMap) -> Option<String> {
    headers
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// The value of a hidden form input.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// The query parameters of a URL.
pub fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

impl Browser {
    pub fn new(server: &TestServer) -> Browser {
        Self::for_base(&server.base)
    }

    /// A browser whose relative URLs go to `base`. It asks for English pages, which the
    /// tests' assertions read; the language tests use [`Browser::with_headers`].
    pub fn for_base(base: &str) -> Browser {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("en"));
        Self::with_headers(base, headers)
    }

    /// A browser that sends `headers` with every request (none: no `Accept-Language`).
    pub fn with_headers(base: &str, headers: HeaderMap) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(headers)
                .build()
                .unwrap(),
            base: base.to_owned(),
        }
    }

    /// A browser on a client built by the test (a client certificate, a trusted root).
    pub fn with_client(base: &str, http: reqwest::Client) -> Browser {
        Browser {
            http,
            base: base.to_owned(),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        }
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(self.absolute(url)).send().await.unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.absolute(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// GETs `url` and answers the `Location` it redirects to.
    pub async fn follow(&self, url: &str) -> String {
        let r = self.get(url).await;
        assert_eq!(r.status(), 303, "expected a redirect from {url}");
        location(r.headers()).unwrap()
    }

    /// On a login page URL: submits the form; answers the response.
    pub async fn submit_login(
        &self,
        login_url: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = self.get(login_url).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let request = hidden(&html, "request").unwrap();
        let csrf = hidden(&html, "csrf").unwrap();
        self.post_form(
            "/login",
            &[
                ("request", &request),
                ("csrf", &csrf),
                ("source", "password"),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// On a consent page URL: allows or denies; answers the redirect location.
    pub async fn submit_consent(&self, consent_url: &str, allow: bool) -> String {
        let page = self.get(consent_url).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let r = self
            .post_form(
                "/consent",
                &[
                    ("request", &hidden(&html, "request").unwrap()),
                    ("csrf", &hidden(&html, "csrf").unwrap()),
                    ("decision", if allow { "allow" } else { "deny" }),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        location(r.headers()).unwrap()
    }

    /// The whole interactive path: authorize, log in, consent; answers the final
    /// redirect to the client.
    pub async fn authorize_interactively(&self, authorize_url: &str, username: &str) -> String {
        let login = self.follow(authorize_url).await;
        assert!(login.starts_with("/login?request="), "{login}");
        let r = self.submit_login(&login, username, PASSWORD).await;
        assert_eq!(r.status(), 303);
        let next = location(r.headers()).unwrap();
        if next.starts_with("/consent") {
            self.submit_consent(&next, true).await
        } else {
            next
        }
    }
}

/// The code from a successful redirect, checking `state` and `iss`.
pub fn code_from(redirect: &str, server: &TestServer, client: &TestClient) -> String {
    assert!(redirect.starts_with(&client.redirect_uri), "{redirect}");
    let q = query(redirect);
    assert_eq!(q.get("iss"), Some(&server.base), "RFC 9207 iss");
    assert!(!q.contains_key("error"), "{redirect}");
    q["code"].clone()
}

/// A second connection to the server's database, beside the server's own.
pub enum SideDoor {
    Sqlite(rusqlite::Connection),
    Postgres(sqlx::PgConnection),
}

impl SideDoor {
    pub async fn open(url: &str) -> SideDoor {
        use sqlx::Connection;
        match url.strip_prefix("sqlite://") {
            Some(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                // The server's writer may hold the write lock for a batch: wait for it.
                conn.busy_timeout(std::time::Duration::from_secs(5))
                    .unwrap();
                SideDoor::Sqlite(conn)
            }
            None => SideDoor::Postgres(sqlx::PgConnection::connect(url).await.unwrap()),
        }
    }

    pub async fn execute(&mut self, sql: &str) {
        match self {
            SideDoor::Sqlite(conn) => conn.execute_batch(sql).unwrap(),
            SideDoor::Postgres(conn) => {
                sqlx::query(sql).execute(&mut *conn).await.unwrap();
            }
        }
    }

    pub async fn count(&mut self, sql: &str) -> i64 {
        match self {
            SideDoor::Sqlite(conn) => conn.query_row(sql, [], |r| r.get(0)).unwrap(),
            SideDoor::Postgres(conn) => {
                sqlx::query_scalar(sql).fetch_one(&mut *conn).await.unwrap()
            }
        }
    }
}

impl TestServer {
    /// Another node on this server's database with the same master key: a second
    /// Portico behind the same load balancer (its own issuer URL, as a test needs one).
    pub async fn second_node(&self, extra_toml: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        std::fs::copy(
            self._dir.path().join("keys/master.key"),
            dir.path().join("keys/master.key"),
        )
        .unwrap();
        let database = TestDatabase::existing(self._database.url.clone());
        Self::start_on(database, dir, extra_toml).await
    }
}

impl Browser {
    /// The same browser (its cookie jar) talking to another server: cookies are not
    /// kept per port, as behind one load balancer.
    pub fn on(&self, server: &TestServer) -> Browser {
        Browser {
            http: self.http.clone(),
            base: server.base.clone(),
        }
    }
}
