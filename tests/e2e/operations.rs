//! Operations: several Portico processes on one PostgreSQL database, a database
//! outage, graceful shutdown. The PostgreSQL ones run in the PostgreSQL pass (`PORTICO_TEST_POSTGRES_URL` set, as
//! `.ci/run` does); without it there is no PostgreSQL to run them on.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

pub(crate) fn postgres_url() -> Option<String> {
    let url = std::env::var("PORTICO_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("PORTICO_TEST_POSTGRES_URL is not set: this test runs in the PostgreSQL pass");
    }
    url
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The configuration every node and CLI call shares: one database, one master key.
pub(crate) struct Cluster {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) database_url: String,
    pub(crate) issuer: String,
}

impl Cluster {
    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_portico"));
        c.current_dir(self.dir.path())
            .env_remove("PORTICO_CONFIG")
            .env("PORTICO_ISSUER", &self.issuer)
            .env("PORTICO_DATABASE_URL", &self.database_url)
            .env("PORTICO_KEYS_DIR", self.dir.path().join("keys"))
            .env("PORTICO_PASSWORD__MEMORY_KIB", "8192")
            .env("PORTICO_PASSWORD__ITERATIONS", "1")
            .env("PORTICO_KEYS__REFRESH_INTERVAL", "1s")
            .env("PORTICO_KEYS__ROTATION_LEAD_TIME", "5s");
        c
    }

    pub(crate) fn run(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        } else {
            drop(child.stdin.take());
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "portico {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub(crate) async fn node(&self, port: u16, name: &str) -> Node {
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.log"))).unwrap();
        let child = self
            .command()
            .env("PORTICO_LISTEN", format!("127.0.0.1:{port}"))
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let node = Node {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: self.dir.path().join(format!("{name}.log")),
        };
        node.wait_ready().await;
        node
    }
}

pub(crate) struct Node {
    child: Child,
    pub(crate) base: String,
    pub(crate) log: PathBuf,
}

impl Node {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn wait_ready(&self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(r) = reqwest::get(self.url("/readyz")).await {
                if r.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "node {} not ready: {}",
            self.base,
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn create_database(admin_url: &str) -> (String, TestDatabaseGuard) {
    use sqlx::Connection;
    let name = format!(
        "portico_nodes_{}",
        &portico::ids::new_uuid().replace('-', "")[..16]
    );
    let mut admin = sqlx::PgConnection::connect(admin_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut url = url::Url::parse(admin_url).unwrap();
    url.set_path(&name);
    (
        url.to_string(),
        TestDatabaseGuard {
            admin: admin_url.to_owned(),
            name,
        },
    )
}

pub(crate) struct TestDatabaseGuard {
    admin: String,
    name: String,
}

impl Drop for TestDatabaseGuard {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut c)
                                .await;
                    }
                })
        })
        .join()
        .ok();
    }
}

#[tokio::test]
async fn two_processes_on_one_database_share_everything() {
    let Some(admin) = postgres_url() else { return };
    let (database_url, _guard) = create_database(&admin).await;
    let (port_a, port_b) = (free_port(), free_port());
    let cluster = Cluster {
        dir: tempfile::tempdir().unwrap(),
        database_url,
        // One issuer for the whole cluster, as behind a load balancer.
        issuer: format!("http://127.0.0.1:{port_a}"),
    };
    let (a, b) = tokio::join!(cluster.node(port_a, "a"), cluster.node(port_b, "b"));
    let registered: Value = serde_json::from_str(&cluster.run(
        &[
            "client",
            "add",
            "--client-id",
            "ministry",
            "--redirect-uri",
            "http://127.0.0.1:9/cb",
            "--grant-type",
            "authorization_code",
            "refresh_token",
            "--first-party",
            "--json",
        ],
        None,
    ))
    .unwrap();
    let secret = registered["client_secret"].as_str().unwrap().to_owned();
    cluster.run(
        &["account", "add", "--username", "mai", "--password-stdin"],
        Some(PASSWORD),
    );
    let client = TestClient {
        id: "ministry".into(),
        secret: Some(secret.clone()),
        redirect_uri: "http://127.0.0.1:9/cb".into(),
    };

    // Log in through node A.
    let browser = Browser::for_base(&a.base);
    let authorize = format!(
        "{}?client_id=ministry&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&response_type=code\
         &scope=openid%20offline_access&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        a.url("/authorize")
    );
    let login = browser.follow(&authorize).await;
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    let redirect = location(r.headers()).unwrap();
    let code = query(&redirect)["code"].clone();

    // Exchange the code at node B.
    let http = reqwest::Client::new();
    let post = |node: &Node, path: &str, form: Vec<(&str, String)>| {
        http.post(node.url(path))
            .basic_auth("ministry", Some(&secret))
            .form(&form)
            .send()
    };
    let tokens: Value = post(
        &b,
        "/token",
        vec![
            ("grant_type", "authorization_code".into()),
            ("code", code),
            ("redirect_uri", client.redirect_uri.clone()),
            ("code_verifier", VERIFIER.into()),
        ],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let rt = tokens["refresh_token"]
        .as_str()
        .expect("tokens at B")
        .to_owned();

    // Refresh at A, introspect at B.
    let refreshed: Value = post(
        &a,
        "/token",
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", rt),
        ],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let at = refreshed["access_token"]
        .as_str()
        .expect("refreshed at A")
        .to_owned();
    let active = |node: &Node| {
        let request = post(node, "/introspect", vec![("token", at.clone())]);
        async move {
            let info: Value = request.await.unwrap().json().await.unwrap();
            info["active"].as_bool().unwrap()
        }
    };
    assert!(active(&b).await);
    // Both nodes' deny-list mirrors are synced and answer for themselves from here on.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(active(&a).await && active(&b).await);

    // Log out at B; the session is gone at A.
    let r = browser
        .get(&format!(
            "{}?id_token_hint={}",
            b.url("/end_session"),
            tokens["id_token"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status(), 200);
    let silent = browser.follow(&format!("{authorize}&prompt=none")).await;
    assert_eq!(query(&silent)["error"], "login_required");
    // The session's access tokens: revoked at B (which ended it) at once, and at A
    // once its mirror of the deny list has read B's revocation (within a second:
    // deny_list::MAX_STALENESS; RFC 7009 section 2.2).
    assert!(!active(&b).await, "revoked where the logout happened");
    let start = Instant::now();
    while active(&a).await {
        assert!(
            start.elapsed() < Duration::from_millis(1_500),
            "node A still reports a token of an ended session active"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A key rotated by the operator is published by both nodes within the reload
    // interval.
    let rotated = cluster.run(&["keys", "rotate"], None);
    let new_kid = rotated.split_whitespace().next().unwrap().to_owned();
    for node in [&a, &b] {
        let start = Instant::now();
        loop {
            let jwks: Value = reqwest::get(node.url("/jwks"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kid"] == new_kid.as_str())
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "{} never published {new_kid}",
                node.base
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A PostgreSQL server of this test's own, run as the unprivileged `postgres` user in a
/// temporary folder, so that stopping it harms no other test.
struct OwnPostgres {
    dir: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
}

impl OwnPostgres {
    fn pg_ctl(&self, args: &[&str]) {
        let data = self.dir.path().join("data");
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("pg.log");
        self.pg_ctl(&["-o", &opts, "-l", log.to_str().unwrap(), "-w", "start"]);
    }

    fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "-w", "stop"]);
    }

    fn init() -> Option<OwnPostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .find(|p| p.join("initdb").exists())?;
        let dir = tempfile::Builder::new()
            .prefix("portico-pg-")
            .tempdir()
            .unwrap();
        let status = Command::new("chown")
            .arg("postgres")
            .arg(dir.path())
            .status()
            .ok()?;
        assert!(status.success());
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(dir.path().join("data"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pg = OwnPostgres {
            dir,
            port: free_port(),
            bin,
        };
        pg.start();
        Some(pg)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

fn exists(p: &Path) -> bool {
    p.exists()
}

#[tokio::test]
async fn a_database_outage_answers_503_and_the_node_recovers_with_nothing_lost() {
    if postgres_url().is_none()
        || !exists(Path::new("/usr/sbin/runuser")) && !exists(Path::new("/sbin/runuser"))
    {
        return;
    }
    let pg =
        OwnPostgres::init().expect("PostgreSQL server binaries (initdb, pg_ctl) are installed");
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port);
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_on(
        TestDatabase::existing(url),
        dir,
        "[database]\nacquire_timeout = \"1s\"\n",
    )
    .await;
    server.account("mai").await;
    let client = server
        .client("ministry", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let t = server
        .tokens(&client, "mai", &[("scope", "openid offline_access")])
        .await;
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: String| {
        let client = &client;
        let server = &server;
        async move {
            server
                .post_as(
                    client,
                    "/token",
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", token.as_str()),
                    ],
                )
                .await
        }
    };

    pg.stop();
    let r = refresh(rt.clone()).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    // The front channel: with the client known (cached by this node), the error goes
    // back to it as RFC 6749 section 4.1.2.1's `temporarily_unavailable`; otherwise the
    // person sees a 503 page.
    let page = Browser::new(&server)
        .get(&server.authorize_url(&client, &[]))
        .await;
    match page.status().as_u16() {
        303 => {
            let to = location(page.headers()).unwrap();
            assert!(to.starts_with(&client.redirect_uri), "{to}");
            assert_eq!(query(&to)["error"], "temporarily_unavailable");
        }
        503 => assert!(
            page.text()
                .await
                .unwrap()
                .contains("cannot reach its database")
        ),
        other => panic!("unexpected status {other}"),
    }
    assert_eq!(
        reqwest::get(server.url("/readyz")).await.unwrap().status(),
        503
    );
    // What lives in memory still answers.
    assert_eq!(
        reqwest::get(server.url("/jwks")).await.unwrap().status(),
        200
    );

    pg.start();
    let start = Instant::now();
    while reqwest::get(server.url("/readyz")).await.unwrap().status() != 200 {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the node did not recover"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Nothing was lost: the refresh token issued before the outage still works.
    let r = refresh(rt).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn graceful_shutdown_finishes_requests_in_flight() {
    // A deliberately slow password hash keeps a login in flight while the node stops.
    let server = TestServer::start_with("").await;
    let slow =
        portico::crypto::password::PasswordHasherPool::new(&portico::config::PasswordConfig {
            memory_kib: 65_536,
            iterations: 8,
            parallelism: 1,
            max_concurrent_hashes: 1,
            max_queued_hashes: 4,
            queue_timeout: Duration::from_secs(5),
        })
        .unwrap();
    let hash = slow
        .hash(&portico::secret::Secret::new(PASSWORD))
        .await
        .unwrap();
    let p = server.provider();
    p.store
        .accounts()
        .create_with_password(&Default::default(), "password", "mai", &hash, p.now())
        .await
        .unwrap();
    let client = server
        .client("ministry", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let html = browser.get(&login).await.text().await.unwrap();
    let form = [
        ("request", hidden(&html, "request").unwrap()),
        ("csrf", hidden(&html, "csrf").unwrap()),
        ("source", "password".to_owned()),
        ("username", "mai".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let in_flight = tokio::spawn({
        let http = browser.http.clone();
        let url = server.url("/login");
        async move {
            http.post(url)
                .form(&form)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    // Let the request reach the server, then stop it.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let started = Instant::now();
    server.stop().await;
    let status = in_flight
        .await
        .unwrap()
        .expect("the request in flight got its answer");
    assert_eq!(status, 303);
    assert!(started.elapsed() < Duration::from_secs(10));
}
