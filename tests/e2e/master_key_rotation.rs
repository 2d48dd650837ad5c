//! Master-key rotation (`portico keys stage-master`, `rotate-master`,
//! `drop-old-master`; docs/tokens.md, "Master key rotation") against the running
//! server: pairwise subjects, tokens, signing keys, forms, refresh grace and login
//! attempts survive it, on one node and on two sharing a database.

use std::path::{Path, PathBuf};

use portico::master_keys::{self, MasterKeyError};
use portico::oidc::registration::ClientRegistration;
use portico::store::{AuthMethod, SubjectType};
use serde_json::Value;

use crate::common::*;
use crate::token_lifecycle::{OFFLINE, refresh, s, userinfo_status};

fn keys_dir(server: &TestServer) -> PathBuf {
    server.provider().config.keys_dir.clone()
}

fn copy_key_file(from: &TestServer, to: &TestServer) {
    // As an operator would: whole, private, renamed into place.
    let tmp = keys_dir(to).join(".incoming");
    std::fs::copy(keys_dir(from).join("master.key"), &tmp).unwrap();
    std::fs::rename(&tmp, keys_dir(to).join("master.key")).unwrap();
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

async fn sub_for(server: &TestServer, client: &TestClient) -> String {
    let t = server.tokens(client, "mai", &[]).await;
    s(&id_token_claims(&s(&t, "id_token")), "sub")
}

fn id_token_claims(id_token: &str) -> Value {
    use base64::Engine;
    let payload = id_token.split('.').nth(1).unwrap();
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&json).unwrap()
}

fn kids(jwks: &Value) -> Vec<String> {
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| s(k, "kid"))
        .collect();
    kids.sort();
    kids
}

async fn jwks(server: &TestServer) -> Value {
    reqwest::get(server.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn pairwise(server: &TestServer) -> ClientRegistration {
    ClientRegistration {
        subject_type: SubjectType::Pairwise,
        redirect_uris: vec!["http://localhost:9/tax/cb".into()],
        ..server.registration("tax")
    }
}

/// A login form shown now, to be posted later: its request and CSRF token.
async fn login_form(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
) -> (String, String) {
    let login = browser.follow(&server.authorize_url(client, &[])).await;
    let html = browser.get(&login).await.text().await.unwrap();
    (
        hidden(&html, "request").unwrap(),
        hidden(&html, "csrf").unwrap(),
    )
}

async fn post_login(browser: &Browser, form: &(String, String)) -> reqwest::Response {
    browser
        .post_form(
            "/login",
            &[
                ("request", &form.0),
                ("csrf", &form.1),
                ("source", "password"),
                ("username", "mai"),
                ("password", PASSWORD),
            ],
        )
        .await
}

/// Every signing key in the database opens under the node's current master key alone.
async fn signing_keys_sealed_by_current(server: &TestServer) -> bool {
    let p = server.provider();
    let keys = p.store.keys().published(p.now()).await.unwrap();
    assert!(!keys.is_empty());
    keys.iter()
        .all(|k| p.master.sealed_by_current(&k.kid, &k.private_key))
}

#[tokio::test]
async fn master_key_rotation_keeps_pairwise_subjects_tokens_signing_keys_and_forms() {
    let server = TestServer::start().await;
    server.account("mai").await;
    let tax = server.register(pairwise(&server)).await;
    let portal = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let p = server.provider();
    let dir = keys_dir(&server);

    let sub_before = sub_for(&server, &tax).await;
    let before = server.tokens(&portal, "mai", &OFFLINE).await;
    let jwks_before = jwks(&server).await;
    let browser = Browser::new(&server);
    let form = login_form(&server, &browser, &portal).await;
    let ids_before = p.master.key_ids();

    let rotated = master_keys::rotate(&dir, &p.store, p.now()).await.unwrap();
    assert!(!rotated.was_staged);
    assert_eq!(rotated.previous, ids_before, "the old key is kept to open");
    assert_eq!(rotated.resealed.signing_keys, 2, "ES256 and RS256");
    assert_eq!(rotated.resealed.secrets, 1, "the pairwise-subject key");
    let text = std::fs::read_to_string(dir.join("master.key")).unwrap();
    assert!(
        text.contains("\ncurrent ") && text.contains("\nprevious "),
        "{text}"
    );
    #[cfg(unix)]
    assert_eq!(mode(&dir.join("master.key")), 0o600);

    // The running node takes the file at its next key refresh.
    p.refresh_keys().await;
    assert_eq!(p.master.key_ids()[0], rotated.current);
    assert!(signing_keys_sealed_by_current(&server).await);

    // The signing keys are the same keys: the JWKS is unchanged, old tokens verify.
    assert_eq!(kids(&jwks(&server).await), kids(&jwks_before));
    assert_eq!(
        userinfo_status(&server, &s(&before, "access_token")).await,
        200
    );
    let old_kid = jsonwebtoken::decode_header(s(&before, "id_token"))
        .unwrap()
        .kid;
    assert!(
        jwks_before["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"].as_str() == old_kid.as_deref())
    );
    // A form shown before the rotation still posts (its CSRF tag is under the old key).
    let r = post_login(&browser, &form).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    // The pairwise subject is the same; the refresh token from before works.
    assert_eq!(sub_for(&server, &tax).await, sub_before);
    let refreshed = refresh(&server, &portal, &s(&before, "refresh_token"), None).await;
    assert_eq!(refreshed.status(), 200);
    let refreshed: Value = refreshed.json().await.unwrap();
    // Tokens signed after the rotation, by the re-sealed keys, verify too.
    assert_eq!(
        userinfo_status(&server, &s(&refreshed, "access_token")).await,
        200
    );

    // A signing-key rotation now seals its new keys under the new master key.
    portico::app::rotate_keys(&p.config, &p.store, &p.master, p.now())
        .await
        .unwrap();
    p.refresh_keys().await;
    assert!(signing_keys_sealed_by_current(&server).await);

    // Dropping the old master key: everything still works, here and on a node started
    // afterwards with the new file alone.
    let dropped = master_keys::drop_previous(&dir, &p.store, p.now(), false)
        .await
        .unwrap();
    assert_eq!(dropped.dropped, ids_before);
    assert_eq!(dropped.abandoned, 0);
    p.refresh_keys().await;
    assert_eq!(p.master.key_ids(), vec![rotated.current.clone()]);
    assert!(
        !std::fs::read_to_string(dir.join("master.key"))
            .unwrap()
            .contains("previous")
    );
    assert_eq!(sub_for(&server, &tax).await, sub_before);
    assert_eq!(
        userinfo_status(&server, &s(&before, "access_token")).await,
        200
    );
    let again = refresh(&server, &portal, &s(&refreshed, "refresh_token"), None).await;
    assert_eq!(again.status(), 200);
    let restarted = server.second_node("").await;
    assert_eq!(
        restarted.provider().master.key_ids(),
        vec![rotated.current.clone()]
    );
    assert_eq!(sub_for(&restarted, &tax).await, sub_before);
    assert!(matches!(
        master_keys::drop_previous(&dir, &p.store, p.now(), false).await,
        Err(MasterKeyError::NothingToDrop(_))
    ));
}

#[tokio::test]
async fn a_refresh_token_presented_again_in_its_grace_period_after_a_master_rotation_gets_the_same_successor()
 {
    let server = TestServer::start().await;
    server.account("mai").await;
    let portal = server
        .register(ClientRegistration {
            refresh_grace_secs: 60,
            ..server.registration("tabs")
        })
        .await;
    let p = server.provider();
    let first = server.tokens(&portal, "mai", &OFFLINE).await;
    let r0 = s(&first, "refresh_token");
    let once: Value = refresh(&server, &portal, &r0, None)
        .await
        .json()
        .await
        .unwrap();
    let r1 = s(&once, "refresh_token");

    master_keys::rotate(&keys_dir(&server), &p.store, p.now())
        .await
        .unwrap();
    p.refresh_keys().await;

    // Within the grace period the same successor comes back, not a reuse revocation.
    let twice = refresh(&server, &portal, &r0, None).await;
    assert_eq!(twice.status(), 200);
    let twice: Value = twice.json().await.unwrap();
    assert_eq!(s(&twice, "refresh_token"), r1);
    let next = refresh(&server, &portal, &r1, None).await;
    assert_eq!(next.status(), 200, "the family is alive");
    let r2 = s(&next.json().await.unwrap(), "refresh_token");
    assert!(!r2.is_empty());
}

#[tokio::test]
async fn a_login_attempt_begun_before_the_rotation_finishes_and_the_old_key_is_dropped_only_after()
{
    let (server, gateway) = crate::sms_otp::start().await;
    let portal = server
        .client("ministry", AuthMethod::ClientSecretBasic)
        .await;
    let p = server.provider();
    let dir = keys_dir(&server);
    let browser = Browser::new(&server);
    let number = crate::sms_otp::number_page(&server, &browser, &portal).await;
    // The attempt (the code's hash, the number) is now sealed under the old key.
    let code_page = crate::sms_otp::code_page(&browser, &number, "0912 345 678").await;

    master_keys::rotate(&dir, &p.store, p.now()).await.unwrap();
    p.refresh_keys().await;
    match master_keys::drop_previous(&dir, &p.store, p.now(), false).await {
        Err(MasterKeyError::StillInUse { count: 1, until }) => assert!(until > p.now()),
        other => panic!("drop must wait for the live attempt: {other:?}"),
    }
    let claims =
        crate::sms_otp::finish(&server, &browser, &portal, &code_page, &gateway.last_code()).await;
    assert_eq!(claims["amr"], serde_json::json!(["sms"]));
    master_keys::drop_previous(&dir, &p.store, p.now(), false)
        .await
        .unwrap();

    // With --force, an attempt under the dropped key ends cleanly: a page, no session.
    server.clock.advance(61);
    let other = Browser::new(&server);
    let number = crate::sms_otp::number_page(&server, &other, &portal).await;
    let code_page = crate::sms_otp::code_page(&other, &number, "0912 345 678").await;
    master_keys::rotate(&dir, &p.store, p.now()).await.unwrap();
    p.refresh_keys().await;
    let forced = master_keys::drop_previous(&dir, &p.store, p.now(), true)
        .await
        .unwrap();
    assert_eq!(forced.abandoned, 1);
    p.refresh_keys().await;
    let r = crate::sms_otp::post(&other, &code_page, &[("code", &gateway.last_code())]).await;
    let status = r.status();
    let html = r.text().await.unwrap();
    // The code page's CSRF tag was made under the dropped key too: the form page says
    // to reload and try again (a 403, never a 500).
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("The form could not be accepted"), "{html}");
    let login = other.follow(&server.authorize_url(&portal, &[])).await;
    assert!(
        login.starts_with("/login?request="),
        "no session was made: {login}"
    );
}

#[tokio::test]
async fn several_nodes_stage_then_rotate_then_drop_without_a_failed_request() {
    let a = TestServer::start().await;
    a.account("mai").await;
    let tax = a.register(pairwise(&a)).await;
    let portal = a.client("ministry", AuthMethod::ClientSecretBasic).await;
    let b = a.second_node("").await;
    let (pa, pb) = (a.provider(), b.provider());
    let tabs = a
        .register(ClientRegistration {
            refresh_grace_secs: 60,
            ..a.registration("tabs")
        })
        .await;
    let sub_before = sub_for(&a, &tax).await;
    let r0 = s(&a.tokens(&tabs, "mai", &OFFLINE).await, "refresh_token");

    // 1. Stage on A, copy to B: both open with the next key, both seal with the old.
    let next = master_keys::stage(&keys_dir(&a), &pa.store, pa.now())
        .await
        .unwrap();
    pa.refresh_keys().await;
    // Run on B before the file reached it, a command would make a key only B holds.
    let b_file = std::fs::read_to_string(keys_dir(&b).join("master.key")).unwrap();
    for refused in [
        master_keys::rotate(&keys_dir(&b), &pb.store, pb.now())
            .await
            .map(|_| ()),
        master_keys::stage(&keys_dir(&b), &pb.store, pb.now())
            .await
            .map(|_| ()),
    ] {
        match refused {
            Err(MasterKeyError::StaleFile { missing, .. }) => assert_eq!(missing, next),
            other => panic!("a stale file must be refused: {other:?}"),
        }
    }
    assert_eq!(
        std::fs::read_to_string(keys_dir(&b).join("master.key")).unwrap(),
        b_file
    );
    copy_key_file(&a, &b);
    pb.refresh_keys().await;
    assert_eq!(pa.master.key_ids(), pb.master.key_ids());
    assert_eq!(pb.master.key_ids()[1], next);

    // 2. Rotate on A. B has not taken the new file yet, and still meets nothing it
    // cannot open: A's re-sealed signing keys, A's forms.
    let rotated = master_keys::rotate(&keys_dir(&a), &pa.store, pa.now())
        .await
        .unwrap();
    assert!(rotated.was_staged);
    assert_eq!(rotated.current, next);
    pa.refresh_keys().await;
    assert_eq!(pa.master.key_ids()[0], next);
    assert_ne!(
        pb.master.key_ids()[0],
        next,
        "B still seals with the old key"
    );
    pb.keys
        .reload(pb.now())
        .await
        .expect("B opens the re-sealed signing keys");
    let browser = Browser::new(&a);
    let form = login_form(&a, &browser, &portal).await;
    let r = post_login(&browser.on(&b), &form).await;
    assert_eq!(
        r.status(),
        303,
        "A's form posts to B: {}",
        r.text().await.unwrap()
    );
    // A browser with no session yet, so that B shows it a login form.
    let fresh = Browser::new(&b);
    let form = login_form(&b, &fresh, &portal).await;
    let r = post_login(&fresh.on(&a), &form).await;
    assert_eq!(r.status(), 303, "and B's to A: {}", r.text().await.unwrap());
    assert_eq!(sub_for(&b, &tax).await, sub_before);
    // A refresh at A derives the successor under the new key; the same token replayed
    // at B within the grace period finds it there.
    let at_a: Value = refresh(&a, &tabs, &r0, None).await.json().await.unwrap();
    let replayed = refresh(&b, &tabs, &r0, None).await;
    assert_eq!(replayed.status(), 200);
    let replayed: Value = replayed.json().await.unwrap();
    assert_eq!(s(&replayed, "refresh_token"), s(&at_a, "refresh_token"));

    // 3. B takes the file; drop on A; B takes that too.
    copy_key_file(&a, &b);
    pb.refresh_keys().await;
    assert_eq!(pb.master.key_ids()[0], next);
    master_keys::drop_previous(&keys_dir(&a), &pa.store, pa.now(), false)
        .await
        .unwrap();
    pa.refresh_keys().await;
    copy_key_file(&a, &b);
    pb.refresh_keys().await;
    assert_eq!(pb.master.key_ids(), vec![next.clone()]);
    assert_eq!(sub_for(&a, &tax).await, sub_before);
    assert_eq!(sub_for(&b, &tax).await, sub_before);
    #[cfg(unix)]
    assert_eq!(mode(&keys_dir(&b).join("master.key")), 0o600);
}

#[tokio::test]
async fn a_node_without_the_new_file_keeps_serving_and_a_restart_without_it_is_refused() {
    let a = TestServer::start().await;
    a.account("mai").await;
    let portal = a.client("ministry", AuthMethod::ClientSecretBasic).await;
    let b = a.second_node("").await;
    let (pa, pb) = (a.provider(), b.provider());
    let old_dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        keys_dir(&b).join("master.key"),
        old_dir.path().join("master.key"),
    )
    .unwrap();

    // Rotated without staging: B keeps its keys in memory and goes on serving.
    master_keys::rotate(&keys_dir(&a), &pa.store, pa.now())
        .await
        .unwrap();
    pa.refresh_keys().await;
    assert!(
        pb.keys.reload(pb.now()).await.is_err(),
        "B cannot open the re-sealed keys"
    );
    pb.refresh_keys().await;
    let t = b.tokens(&portal, "mai", &[]).await;
    assert_eq!(userinfo_status(&b, &s(&t, "access_token")).await, 200);
    // Given a file lacking the key it seals with, B refuses it and keeps its keys.
    let ids = pb.master.key_ids();
    let unrelated = portico::crypto::MasterKeyFile::generate();
    unrelated.replace(&keys_dir(&b)).unwrap();
    pb.refresh_keys().await;
    assert_eq!(pb.master.key_ids(), ids);

    // A node restarted with the old file alone is refused, naming the remedy.
    let err = master_keys::load(old_dir.path(), &pa.store, pa.now())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("copy master.key from"), "{err}");
}

/// Logs in at `a`, exchanges the code at `b`: the pairwise `sub` and a refresh token.
async fn pairwise_sub_across(
    a: &crate::operations::Node,
    b: &crate::operations::Node,
    secret: &str,
) -> (String, String) {
    let browser = Browser::for_base(&a.base);
    let authorize = format!(
        "{}?client_id=tax&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&response_type=code\
         &scope=openid%20offline_access&state=s&code_challenge={CHALLENGE}\
         &code_challenge_method=S256",
        a.url("/authorize")
    );
    let login = browser.follow(&authorize).await;
    let r = browser.submit_login(&login, "mai", PASSWORD).await;
    let code = query(&location(r.headers()).unwrap())["code"].clone();
    let tokens: Value = reqwest::Client::new()
        .post(b.url("/token"))
        .basic_auth("tax", Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        s(&id_token_claims(&s(&tokens, "id_token")), "sub"),
        s(&tokens, "refresh_token"),
    )
}

/// Waits until the node's log says it took a changed key file `times` times.
async fn wait_for_taken(node: &crate::operations::Node, times: usize) {
    for _ in 0..100 {
        let log = std::fs::read_to_string(&node.log).unwrap_or_default();
        if log.matches("took the changed master key file").count() >= times {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "{} did not take the key file: {}",
        node.base,
        std::fs::read_to_string(&node.log).unwrap_or_default()
    );
}

#[tokio::test]
async fn two_serving_processes_take_the_rotated_and_then_dropped_key_file_without_a_restart() {
    use crate::operations::{Cluster, create_database, free_port, postgres_url};
    let Some(admin) = postgres_url() else { return };
    let (database_url, _guard) = create_database(&admin).await;
    let (port_a, port_b) = (free_port(), free_port());
    // One keys folder for both processes: a secret mounted on every node.
    let cluster = Cluster {
        dir: tempfile::tempdir().unwrap(),
        database_url,
        issuer: format!("http://127.0.0.1:{port_a}"),
    };
    let (a, b) = tokio::join!(cluster.node(port_a, "a"), cluster.node(port_b, "b"));
    let registered: Value = serde_json::from_str(&cluster.run(
        &[
            "client",
            "add",
            "--client-id",
            "tax",
            "--redirect-uri",
            "http://127.0.0.1:9/cb",
            "--grant-type",
            "authorization_code",
            "refresh_token",
            "--subject-type",
            "pairwise",
            "--first-party",
            "--json",
        ],
        None,
    ))
    .unwrap();
    let secret = s(&registered, "client_secret");
    cluster.run(
        &["account", "add", "--username", "mai", "--password-stdin"],
        Some(PASSWORD),
    );
    let (sub_before, rt) = pairwise_sub_across(&a, &b, &secret).await;

    let out = cluster.run(&["keys", "rotate-master"], None);
    assert!(out.contains("seals now"), "{out}");
    wait_for_taken(&a, 1).await;
    wait_for_taken(&b, 1).await;
    assert_eq!(pairwise_sub_across(&b, &a, &secret).await.0, sub_before);
    let refreshed = reqwest::Client::new()
        .post(a.url("/token"))
        .basic_auth("tax", Some(&secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &rt)])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);

    cluster.run(&["keys", "drop-old-master"], None);
    wait_for_taken(&a, 2).await;
    wait_for_taken(&b, 2).await;
    assert_eq!(pairwise_sub_across(&a, &b, &secret).await.0, sub_before);
    // A node started now, with the new file alone, opens everything.
    drop(b);
    let b = cluster.node(port_b, "b-restarted").await;
    assert_eq!(pairwise_sub_across(&b, &a, &secret).await.0, sub_before);
    let log = std::fs::read_to_string(&a.log).unwrap();
    assert!(!log.contains("reloading signing keys failed"), "{log}");
}
