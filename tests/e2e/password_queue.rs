//! The argon2 queue is bounded and has a deadline (issue 22, finding 4): a burst of
//! password logins is refused with 503 and `Retry-After` instead of queueing without
//! end, and a real login after the burst is served at once.

use std::time::{Duration, Instant};

use portico::config::PasswordConfig;
use portico::crypto::password::PasswordHasherPool;
use portico::secret::Secret;

use crate::common::*;

const BURST: usize = 10;
const QUEUE_TIMEOUT: Duration = Duration::from_secs(1);

/// OWASP ASVS 4.0.3 V11.1.4 (anti-automation against denial of service), RFC 9110
/// section 10.2.3 (`Retry-After`).
#[tokio::test]
async fn asvs_11_1_4_a_login_burst_is_refused_with_503_and_retry_after_within_the_deadline() {
    let server = TestServer::start_with(
        "max_concurrent_hashes = 1\nmax_queued_hashes = 2\nqueue_timeout = \"1s\"\n",
    )
    .await;
    // Verifying costs what the stored hash says: make these deliberately expensive.
    let slow = PasswordHasherPool::new(&PasswordConfig {
        memory_kib: 65_536,
        iterations: 4,
        parallelism: 1,
        max_concurrent_hashes: 1,
        max_queued_hashes: 1,
        queue_timeout: Duration::from_secs(30),
    })
    .unwrap();
    let hash = slow.hash(&Secret::new(PASSWORD)).await.unwrap();
    let timed = Instant::now();
    assert!(
        slow.verify(&Secret::new(PASSWORD), Some(&hash))
            .await
            .unwrap()
    );
    let one_hash = timed.elapsed();
    let p = server.provider();
    for i in 0..=BURST {
        p.store
            .accounts()
            .create_with_password(
                &Default::default(),
                "password",
                &format!("user{i}"),
                &hash,
                p.now(),
            )
            .await
            .unwrap();
    }
    let client = server
        .client("ministry", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    // Every browser at its login form first, so that only the hashes overlap.
    let mut forms = Vec::new();
    for i in 0..BURST {
        let browser = Browser::new(&server);
        let login = browser.follow(&server.authorize_url(&client, &[])).await;
        let html = browser.get(&login).await.text().await.unwrap();
        let form = vec![
            ("request", hidden(&html, "request").unwrap()),
            ("csrf", hidden(&html, "csrf").unwrap()),
            ("source", "password".to_owned()),
            ("username", format!("user{i}")),
            ("password", PASSWORD.to_owned()),
        ];
        forms.push((browser, form));
    }
    let url = server.url("/login");
    let burst: Vec<_> = forms
        .into_iter()
        .map(|(browser, form)| {
            let url = url.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let r = browser.http.post(url).form(&form).send().await.unwrap();
                let retry_after = r
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned());
                (r.status().as_u16(), retry_after, started.elapsed())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in burst {
        answers.push(task.await.unwrap());
    }
    let refused: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 503).collect();
    let served = answers.iter().filter(|(s, _, _)| *s == 303).count();
    assert_eq!(refused.len() + served, BURST, "{answers:?}");
    assert!(served >= 1, "the first in line is served: {answers:?}");
    // One runs and two wait: at least the rest are refused.
    assert!(refused.len() >= BURST - 3, "{answers:?}");
    assert!(
        refused.iter().all(|(_, r, _)| r.as_deref() == Some("1")),
        "every 503 says when to retry (the queue timeout): {answers:?}"
    );
    assert!(
        refused
            .iter()
            .any(|(_, _, t)| *t < one_hash.max(QUEUE_TIMEOUT)),
        "a full queue refuses at once, without waiting for a turn: {answers:?}"
    );
    // A waiting login is refused at the deadline or runs: it never waits for the
    // whole burst.
    let bound = QUEUE_TIMEOUT + one_hash * 2 + Duration::from_secs(2);
    assert!(
        answers.iter().all(|(_, _, t)| *t < bound),
        "one hash takes {one_hash:?}; waited past {bound:?}: {answers:?}"
    );
    // The burst is over: a real login is served.
    let browser = Browser::new(&server);
    let login = browser.follow(&server.authorize_url(&client, &[])).await;
    let r = browser
        .submit_login(&login, &format!("user{BURST}"), PASSWORD)
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert!(location(r.headers()).unwrap().starts_with("/consent"));
}
