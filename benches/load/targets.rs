//! The servers under test, each a separate process so its CPU time and memory can be
//! read from /proc: Portico on SQLite, Portico on PostgreSQL, and the oidc-provider peer
//! in memory and on PostgreSQL.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Portico,
    Peer,
}

/// Paths and credentials differ between the two providers; the workloads do not.
pub struct Target {
    pub name: String,
    pub kind: Kind,
    pub addr: String,
    pub issuer: String,
    pub authorize: &'static str,
    pub token: &'static str,
    pub introspect: &'static str,
    pub userinfo: &'static str,
    pub jwks: &'static str,
    pub rp_secret: String,
    pub cc_secret: String,
    pub child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
pub const USERNAME: &str = "bench";
pub const PASSWORD: &str = "bench-password-123";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_ready(addr: &str, path: &str, child: &mut Child) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("server exited during start-up: {status}");
        }
        if let Ok(mut c) = tokio::time::timeout(
            Duration::from_secs(1),
            super::client::Conn::open_checked(addr),
        )
        .await
        {
            if let Some(c) = c.as_mut() {
                if c.get(path, &[]).await.is_ok_and(|r| r.status == 200) {
                    return;
                }
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "server not ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Portico from the release binary, with a bench client pair and one account.
pub async fn portico(name: &str, database_url: Option<String>) -> Target {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let issuer = format!("http://{addr}");
    let db =
        database_url.unwrap_or_else(|| format!("sqlite://{}/portico.db", dir.path().display()));
    let command = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_portico"));
        c.current_dir(dir.path())
            .env_remove("PORTICO_CONFIG")
            .env("PORTICO_ISSUER", &issuer)
            .env("PORTICO_LISTEN", &addr)
            .env("PORTICO_DATABASE_URL", &db)
            .env("PORTICO_KEYS_DIR", dir.path().join("keys"))
            // The login workload measures argon2id throughput with every connection
            // waiting (64 by default): with the default queue (4 per hashing thread)
            // most would be refused at once, and the run would measure the 503s.
            .env("PORTICO_PASSWORD__MAX_QUEUED_HASHES", "4096")
            .env("RUST_LOG", "warn")
            .args(args);
        c
    };
    let run = |args: &[&str], stdin: Option<&str>| -> String {
        let mut child = command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "portico {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let secret = |json: String| -> String {
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["client_secret"].as_str().unwrap().to_owned()
    };
    let rp_secret = secret(run(
        &[
            "client",
            "add",
            "--client-id",
            "bench-rp",
            "--redirect-uri",
            REDIRECT_URI,
            "--grant-type",
            "authorization_code",
            "refresh_token",
            "--first-party",
            "--json",
        ],
        None,
    ));
    let cc_secret = secret(run(
        &[
            "client",
            "add",
            "--client-id",
            "bench-cc",
            "--grant-type",
            "client_credentials",
            "--scope",
            "api.read",
            "--audience",
            "https://api.example.gov",
            "--json",
        ],
        None,
    ));
    run(
        &[
            "account",
            "add",
            "--username",
            USERNAME,
            "--password-stdin",
            "--name",
            "Bench User",
            "--email",
            "bench@example.gov",
        ],
        Some(PASSWORD),
    );
    let mut child = command(&["serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    wait_ready(&addr, "/readyz", &mut child).await;
    Target {
        name: name.to_owned(),
        kind: Kind::Portico,
        addr,
        issuer,
        authorize: "/authorize",
        token: "/token",
        introspect: "/introspect",
        userinfo: "/userinfo",
        jwks: "/jwks",
        rp_secret,
        cc_secret,
        child,
        _dir: dir,
    }
}

/// The oidc-provider peer (`benches/peer/`), after `npm ci` there: in memory, or on
/// PostgreSQL with `database_url`.
pub async fn peer(peer_dir: &Path, database_url: Option<String>) -> Target {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let issuer = format!("http://{addr}");
    let mut command = Command::new("node");
    if let Some(url) = &database_url {
        command.env("DATABASE_URL", url);
    }
    let mut child = command
        .arg("server.mjs")
        .current_dir(peer_dir)
        .env("PORT", port.to_string())
        .env("ISSUER", &issuer)
        .env("NODE_ENV", "production")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs the peer");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(tokio::process::ChildStdout::from_std(stdout).unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.trim() == "ready" {
                return true;
            }
        }
        false
    })
    .await;
    assert!(matches!(ready, Ok(true)), "the peer did not start");
    // Keep draining its stdout so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    wait_ready(&addr, "/.well-known/openid-configuration", &mut child).await;
    Target {
        name: match database_url {
            Some(_) => "oidc-provider (PostgreSQL)".into(),
            None => "oidc-provider".into(),
        },
        kind: Kind::Peer,
        addr,
        issuer,
        authorize: "/auth",
        token: "/token",
        introspect: "/token/introspection",
        userinfo: "/me",
        jwks: "/jwks",
        rp_secret: "bench-rp-secret".into(),
        cc_secret: "bench-cc-secret".into(),
        child,
        _dir: dir,
    }
}

/// CPU seconds (user + system) the process has used so far.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// CPU seconds used so far by every PostgreSQL server process on the machine (the
/// backends serving Portico run on the same cores; 0 when there is none).
pub fn postgres_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "postgres")
        })
        .map(cpu_seconds)
        .sum()
}

/// (current, peak) resident memory in MiB.
pub fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0)
}
