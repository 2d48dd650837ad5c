//! `portico client rotate-secret`: a portal's new secret works at once, the one it
//! replaces keeps working until the overlap ends and then never again, a second
//! rotation ends the older one, and only hashes are stored (RFC 6749 section 2.3.1;
//! ASVS 4.0.3 V2.10.4: service secrets rotatable without downtime).

use portico::crypto::sha256_b64url;
use portico::store::AuthMethod;
use serde_json::Value;

use crate::audit_chain::portico;
use crate::common::*;

/// The node's client cache may serve a registration this long after it changed.
const CACHE: i64 = portico::oidc::clients::CLIENT_CACHE_SECONDS + 1;

/// Whether `secret` authenticates `client_id` (at `/introspect`: 200 for a good
/// secret whatever the token, 401 `invalid_client` for a wrong one).
async fn works(server: &TestServer, client_id: &str, secret: &str) -> bool {
    let r = reqwest::Client::new()
        .post(server.url("/introspect"))
        .basic_auth(client_id, Some(secret))
        .form(&[("token", "not-a-token")])
        .send()
        .await
        .unwrap();
    match r.status().as_u16() {
        200 => true,
        401 => {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"], "invalid_client");
            false
        }
        other => panic!("unexpected status {other}"),
    }
}

/// Runs `client rotate-secret` and checks its text, line by line: the new secret, and
/// when the previous one stops working (`overlap` seconds from the command's clock).
/// Answers the new secret and that time.
fn rotate(server: &TestServer, id: &str, overlap: &str, seconds: i64) -> (String, Option<i64>) {
    let before = server.provider().now();
    let out = portico(
        server,
        &["client", "rotate-secret", id, "--overlap", overlap],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("rotated the secret of client `{id}`"));
    let secret = lines[1]
        .strip_prefix("client_secret: ")
        .and_then(|l| l.strip_suffix(" (shown once; store it now)"))
        .unwrap_or_else(|| panic!("{text}"))
        .to_owned();
    assert_eq!(secret.len(), 43, "256 bits, base64url");
    if seconds == 0 {
        assert_eq!(lines[2], "the previous secret no longer works");
        return (secret, None);
    }
    // "... until 2026-12-04 19:01 UTC (1764874860), 86400s from now"
    let until: i64 = lines[2]
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(n, _)| n.parse().unwrap())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        (before + seconds..=before + seconds + 2).contains(&until),
        "{text}"
    );
    assert_eq!(
        lines[2],
        format!(
            "the previous secret stays valid until {} UTC ({until}), {seconds}s from now",
            minute(until)
        )
    );
    (secret, Some(until))
}

/// `YYYY-MM-DD HH:MM` of a unix time, as the CLI prints it.
fn minute(t: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(t).unwrap();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

#[tokio::test]
async fn asvs_2_10_4_a_rotated_client_secret_overlaps_then_only_the_new_one_works() {
    let server = TestServer::start().await;
    let tax = server.client("tax", AuthMethod::ClientSecretBasic).await;
    let first = tax.secret.clone().unwrap();
    assert!(works(&server, "tax", &first).await);

    let (second, until) = rotate(&server, "tax", "1h", 3600);
    let until = until.unwrap();
    server.clock.advance(CACHE);
    assert!(
        works(&server, "tax", &second).await,
        "the new secret at once"
    );
    assert!(
        works(&server, "tax", &first).await,
        "the old one in the overlap"
    );
    assert!(!works(&server, "tax", "a-guess").await);

    // `show` and `list` say until when the previous secret works; no secret is shown.
    let shown = portico(&server, &["client", "show", "tax"]);
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["previous_secret_valid_until"], until);
    let listed = String::from_utf8(portico(&server, &["client", "list"]).stdout).unwrap();
    assert!(
        listed.ends_with(&format!(
            "  previous secret valid until {} UTC ({until})\n",
            minute(until)
        )),
        "{listed}"
    );
    for text in [shown.to_string(), listed] {
        assert!(!text.contains(&first) && !text.contains(&second), "{text}");
    }
    // At rest: the hashes only.
    let stored = server
        .provider()
        .store
        .clients()
        .get("tax")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.secret_hash, Some(sha256_b64url(&second)));
    assert_eq!(stored.previous_secret_hash, Some(sha256_b64url(&first)));

    // The overlap over, only the new secret works.
    server.clock.advance(3600);
    assert!(works(&server, "tax", &second).await);
    assert!(!works(&server, "tax", &first).await, "the overlap ended");
}

#[tokio::test]
async fn asvs_2_10_4_a_second_rotation_ends_the_older_secret_and_zero_overlap_ends_it_at_once() {
    let server = TestServer::start().await;
    let tax = server.client("tax", AuthMethod::ClientSecretPost).await;
    let first = tax.secret.clone().unwrap();
    let (second, _) = rotate(&server, "tax", "2h", 7200);
    let out = portico(
        &server,
        &["client", "rotate-secret", "tax", "--overlap", "1h"],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let third = text.lines().nth(1).unwrap()["client_secret: ".len()..][..43].to_owned();
    let older = text.lines().nth(3).unwrap_or_default();
    assert!(
        older.starts_with("the secret before it, valid until ")
            && older.ends_with(", no longer works"),
        "{text}"
    );
    server.clock.advance(CACHE);
    assert!(works(&server, "tax", &third).await);
    assert!(
        works(&server, "tax", &second).await,
        "the previous one overlaps"
    );
    assert!(!works(&server, "tax", &first).await, "only the latest two");

    // A leaked secret: no overlap at all.
    let (fourth, _) = rotate(&server, "tax", "0", 0);
    server.clock.advance(CACHE);
    assert!(works(&server, "tax", &fourth).await);
    assert!(!works(&server, "tax", &third).await, "ended at once");
    assert!(!works(&server, "tax", &second).await);
    // No overlap in force: `show` names no previous secret.
    let shown = portico(&server, &["client", "show", "tax"]);
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert!(
        shown.get("previous_secret_valid_until").is_none(),
        "{shown}"
    );

    // Each rotation is in the audit trail, without the secret.
    let audit = server
        .provider()
        .store
        .audit()
        .recent("cli_client_secret_rotated", 10)
        .await
        .unwrap();
    assert_eq!(audit.len(), 3);
    assert!(audit.iter().all(|e| e.client_id.as_deref() == Some("tax")));
    let details: Vec<&str> = audit.iter().map(|e| e.detail.as_str()).collect();
    assert!(
        details
            .iter()
            .any(|d| d.starts_with("overlap=7200s previous_secret_valid_until=")),
        "{details:?}"
    );
    assert!(
        details.contains(&"overlap=0s previous_secret_valid_until=none"),
        "{details:?}"
    );
    for secret in [&first, &second, &third, &fourth] {
        assert!(details.iter().all(|d| !d.contains(secret.as_str())));
    }
}

#[tokio::test]
async fn rotate_secret_refuses_clients_without_a_secret_and_overlaps_past_seven_days() {
    let server = TestServer::start().await;
    server.client("app", AuthMethod::None).await;
    server.client("tax", AuthMethod::ClientSecretBasic).await;
    let refusals = [
        (
            vec!["app"],
            "client `app` authenticates with none and has no secret to rotate",
        ),
        (vec!["nobody"], "no client `nobody`"),
        (
            vec!["tax", "--overlap", "8d"],
            "--overlap: at most 604800s (7d), got 691200s",
        ),
    ];
    for (args, message) in refusals {
        let mut full = vec!["client", "rotate-secret"];
        full.extend(args);
        let out = portico(&server, &full);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{err}");
    }
}
