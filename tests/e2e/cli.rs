//! The `portico` binary: configuration errors and the client and account commands.

use std::io::Write;
use std::process::{Command, Stdio};

pub(crate) fn portico(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_portico"));
    c.current_dir(dir)
        .env_remove("PORTICO_CONFIG")
        .env(
            "PORTICO_DATABASE_URL",
            format!("sqlite://{}/p.db", dir.display()),
        )
        .env("PORTICO_KEYS_DIR", dir.join("keys"))
        .env("PORTICO_PASSWORD__MEMORY_KIB", "8192")
        .env("PORTICO_PASSWORD__ITERATIONS", "1");
    c
}

#[test]
fn a_bad_configuration_names_the_key_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let out = portico(dir.path())
        .env("PORTICO_TOKENS__CODE_TTL", "ten minutes")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tokens.code_ttl") && err.contains("e.g."),
        "{err}"
    );

    std::fs::write(
        dir.path().join("portico.toml"),
        "isuer = \"https://id.example.gov\"\n",
    )
    .unwrap();
    let out = portico(dir.path()).arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("isuer"));
}

#[test]
fn client_add_prints_the_secret_once_and_stores_only_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let out = portico(dir.path())
        .args([
            "client",
            "add",
            "--client-id",
            "tax",
            "--redirect-uri",
            "https://tax.example.gov/cb",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let secret = json["client_secret"].as_str().unwrap();
    assert_eq!(secret.len(), 43);
    assert_eq!(json["auth_method"], "client_secret_basic");

    let shown = portico(dir.path())
        .args(["client", "show", "tax"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("https://tax.example.gov/cb") && !text.contains(secret));

    let refused = portico(dir.path())
        .args([
            "client",
            "add",
            "--client-id",
            "bad",
            "--redirect-uri",
            "http://portal.example.gov/cb",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("https"));

    let removed = portico(dir.path())
        .args(["client", "remove", "tax"])
        .output()
        .unwrap();
    assert!(removed.status.success());
}

#[test]
fn account_add_reads_the_password_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = portico(dir.path())
        .args([
            "account",
            "add",
            "--username",
            "binh",
            "--password-stdin",
            "--kind",
            "enterprise",
            "--tax-code",
            "0101234567",
            "--json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["kind"], "enterprise");

    let keys = portico(dir.path()).args(["keys", "list"]).output().unwrap();
    let text = String::from_utf8_lossy(&keys.stdout);
    assert!(
        text.contains("ES256") && text.contains("RS256") && text.contains("signing"),
        "{text}"
    );

    let rotated = portico(dir.path())
        .args(["keys", "rotate"])
        .output()
        .unwrap();
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert!(String::from_utf8_lossy(&rotated.stdout).contains("signs from"));
    let keys = portico(dir.path()).args(["keys", "list"]).output().unwrap();
    let text = String::from_utf8_lossy(&keys.stdout);
    assert_eq!(
        text.lines().count(),
        4,
        "new keys published beside the old: {text}"
    );
    assert_eq!(
        text.matches("signing").count(),
        2,
        "old keys sign until the lead time: {text}"
    );
}

#[test]
fn sources_list_prints_each_source_and_the_redirect_uri_to_register_upstream() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("portico.toml"),
        "issuer = \"https://id.example.gov\"\n\
         [[sources]]\nid = \"password\"\nkind = \"password\"\n\
         [[sources]]\nid = \"bhxh-vn\"\nkind = \"oidc\"\ndisplay_name = \"Social security\"\n\
         loa = 3\nissuer = \"https://id.bhxh.example\"\nclient_id = \"portico\"\n",
    )
    .unwrap();
    let out = portico(dir.path())
        .env(
            "PORTICO_SOURCES__BHXH_VN__CLIENT_SECRET",
            "from-the-environment",
        )
        .args(["sources", "list"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "password  password  loa 2");
    assert_eq!(
        lines[1],
        "bhxh-vn  oidc  loa 3  upstream https://id.bhxh.example  \
         redirect_uri https://id.example.gov/login/bhxh-vn/callback"
    );
    assert!(!text.contains("from-the-environment"));
}
