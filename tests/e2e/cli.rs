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
    // The signing keys; the master keys follow, one `master` line each.
    assert_eq!(
        text.lines().filter(|l| !l.starts_with("master  ")).count(),
        4,
        "new keys published beside the old: {text}"
    );
    assert_eq!(text.matches("master  ").count(), 1, "{text}");
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

fn run_ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = portico(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "portico {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run_err(dir: &std::path::Path, args: &[&str]) -> String {
    let out = portico(dir).args(args).output().unwrap();
    assert!(!out.status.success(), "portico {args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn master_key_commands_stage_rotate_and_drop_keep_the_file_private_and_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("keys/master.key");
    // First start: the master key and the signing keys are created.
    let listed = run_ok(dir.path(), &["keys", "list"]);
    let current = |listing: &str| {
        listing
            .lines()
            .find_map(|l| l.strip_prefix("master  ")?.strip_suffix("  current"))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no current master key in {listing}"))
    };
    let first = current(&listed);

    let staged = run_ok(dir.path(), &["keys", "stage-master"]);
    assert!(staged.contains("staged master key"), "{staged}");
    assert!(run_err(dir.path(), &["keys", "stage-master"]).contains("staged already"));
    let listed = run_ok(dir.path(), &["keys", "list"]);
    assert!(listed.contains("  next"), "{listed}");
    assert_eq!(
        current(&listed),
        first,
        "staging changes nothing that seals"
    );

    let rotated = run_ok(dir.path(), &["keys", "rotate-master"]);
    // The secrets: the pairwise-subject key and the record of the latest key file.
    assert!(
        rotated.contains("re-sealed 2 signing key(s) and 2 secret(s)"),
        "{rotated}"
    );
    let listed = run_ok(dir.path(), &["keys", "list"]);
    assert_ne!(current(&listed), first);
    assert!(
        listed.contains(&format!("master  {first}  previous")),
        "{listed}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    let dropped = run_ok(dir.path(), &["keys", "drop-old-master"]);
    assert!(dropped.contains(&first), "{dropped}");
    assert!(
        !std::fs::read_to_string(&key_file)
            .unwrap()
            .contains("previous")
    );
    assert!(run_err(dir.path(), &["keys", "drop-old-master"]).contains("nothing to drop"));
    // The signing keys still open under the remaining key.
    assert!(run_ok(dir.path(), &["keys", "list"]).contains("signing"));

    let tail = run_ok(dir.path(), &["audit", "tail", "--json"]);
    for event in [
        "cli_master_key_staged",
        "cli_master_key_rotated",
        "cli_master_key_dropped",
    ] {
        assert!(tail.contains(event), "{event} in {tail}");
    }
    // Keys are named by id in the trail, never written out.
    for line in std::fs::read_to_string(&key_file).unwrap().lines() {
        if let Some((_, key)) = line.split_once(' ').filter(|_| !line.starts_with('#')) {
            assert!(!tail.contains(key), "a master key in the audit trail");
        }
    }
    run_ok(dir.path(), &["audit", "verify"]);
}
