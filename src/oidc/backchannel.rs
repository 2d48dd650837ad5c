//! Delivering back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0): a
//! background worker on every node takes due deliveries from the database outbox,
//! POSTs a freshly signed logout token, and retries with exponential back-off. A
//! delivery that fails for good is audited. The user's logout never waits for it.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use super::keys::Keys;
use crate::clock::Clock;
use crate::config::{LogoutConfig, OutboundConfig};
use crate::store::{LogoutDelivery, Store};

pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

#[derive(Serialize)]
struct LogoutTokenClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    sub: &'a str,
    sid: &'a str,
    events: serde_json::Value,
}

/// The outbox's sender: what a delivery needs (the store, the keys that sign logout
/// tokens, outbound HTTP, the retry settings, the clock) and the bell a logout rings.
pub struct Backchannel {
    store: Store,
    keys: Arc<Keys>,
    /// A portal's back-channel URI is the portal's choice: the client checks the
    /// address it connects to (`oidc::outbound`).
    http: reqwest::Client,
    policy: OutboundConfig,
    config: LogoutConfig,
    clock: Arc<dyn Clock>,
    wake: Arc<tokio::sync::Notify>,
}

impl Backchannel {
    pub fn new(
        store: Store,
        keys: Arc<Keys>,
        policy: OutboundConfig,
        config: LogoutConfig,
        clock: Arc<dyn Clock>,
    ) -> Backchannel {
        Backchannel {
            store,
            keys,
            http: super::outbound::http_client(policy, None),
            policy,
            config,
            clock,
            wake: Arc::default(),
        }
    }

    /// Wakes this node's worker: a logout queued deliveries.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// Runs until the service is dropped: wakes on each logout and once a second.
pub fn spawn_worker(backchannel: &Arc<Backchannel>) -> tokio::task::JoinHandle<()> {
    let weak = Arc::downgrade(backchannel);
    tokio::spawn(async move {
        loop {
            let Some(channel) = weak.upgrade() else {
                return;
            };
            let notified = channel.wake.clone();
            if let Err(e) = deliver_due(&channel).await {
                tracing::warn!(error = %e, "back-channel logout deliveries failed to run");
            }
            drop(channel);
            tokio::select! {
                _ = notified.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    })
}

async fn deliver_due(channel: &Arc<Backchannel>) -> Result<(), crate::store::StoreError> {
    let now = channel.now();
    let lease = channel.config.backchannel_timeout.as_secs() as i64 + 5;
    let mut running = tokio::task::JoinSet::new();
    for id in channel.store.logout_deliveries().due(now, 50).await? {
        if let Some(delivery) = channel
            .store
            .logout_deliveries()
            .claim(&id, now, lease)
            .await?
        {
            let channel = channel.clone();
            running.spawn(async move { attempt(&channel, delivery).await });
        }
    }
    while running.join_next().await.is_some() {}
    Ok(())
}

async fn attempt(channel: &Backchannel, d: LogoutDelivery) {
    let result = send(channel, &d).await;
    let now = channel.now();
    let store = channel.store.logout_deliveries();
    let recorded = match result {
        Ok(()) => store.delivered(&d.id, now).await,
        Err(error) => {
            let max = channel.config.backchannel_max_attempts as i64;
            if d.attempts >= max {
                tracing::warn!(client_id = %d.client_id, attempts = d.attempts, %error, "back-channel logout failed for good");
                let detail = format!("{} after {} attempts: {error}", d.uri, d.attempts);
                let _ = channel
                    .store
                    .audit()
                    .record(
                        now,
                        "backchannel_logout_failed",
                        None,
                        Some(&d.client_id),
                        &detail,
                    )
                    .await;
                store.attempt_failed(&d.id, &error, None, now).await
            } else {
                let base = channel.config.backchannel_initial_backoff.as_secs() as i64;
                let backoff = (base << (d.attempts - 1).clamp(0, 16)).min(600);
                tracing::info!(client_id = %d.client_id, attempts = d.attempts, %error, "back-channel logout will be retried in {backoff}s");
                store
                    .attempt_failed(&d.id, &error, Some(now + backoff), now)
                    .await
            }
        }
    };
    if let Err(e) = recorded {
        tracing::error!(error = %e, "recording a back-channel logout attempt failed");
    }
}

async fn send(channel: &Backchannel, d: &LogoutDelivery) -> Result<(), String> {
    let client = channel
        .store
        .clients()
        .get(&d.client_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the client was removed")?;
    let now = channel.now();
    let claims = LogoutTokenClaims {
        iss: channel.keys.issuer(),
        aud: client.client_id.as_str(),
        iat: now,
        exp: now + 120,
        jti: crate::ids::new_uuid(),
        sub: &d.subject,
        sid: &d.sid,
        events: json!({ EVENT: {} }),
    };
    let token = channel
        .keys
        .ring()
        .sign(client.id_token_alg, "logout+jwt", &claims, now)
        .map_err(|e| e.to_string())?;
    // A literal address is connected to without the resolver, which checks names.
    super::outbound::check_literal_uri(channel.policy, "back-channel logout URI", &d.uri)?;
    let response = channel
        .http
        .post(&d.uri)
        .timeout(channel.config.backchannel_timeout)
        .form(&[("logout_token", token.as_str())])
        .send()
        .await
        .map_err(|e| format!("request failed: {}", super::outbound::describe(&e)))?;
    // Section 2.8: 200 OK (any 2xx is taken as received).
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("status {}", response.status()))
    }
}
