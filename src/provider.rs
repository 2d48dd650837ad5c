//! The provider's shared state: configuration, store, keys, clock. Protocol and
//! identity code take `&Provider`; HTTP wraps it.

use std::sync::{Arc, RwLock};

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::keys::{KeyEntry, KeyError, KeyRing, SigningKey, VerifyError};
use crate::crypto::password::PasswordHasherPool;
use crate::crypto::{MasterKey, SigningAlg};
use crate::store::{Store, StoreError, StoredKey};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Seal(#[from] crate::crypto::seal::SealError),
    #[error(transparent)]
    Password(#[from] crate::crypto::password::PasswordError),
}

pub struct Provider {
    pub config: Config,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub master: MasterKey,
    pub passwords: PasswordHasherPool,
    keys: RwLock<Arc<KeyRing>>,
    /// The discovery document, serialised once; cloned per request without copying.
    pub discovery_json: bytes::Bytes,
    /// Client key sets for `private_key_jwt`.
    pub jwks_cache: crate::oidc::client_assertion::JwksCache,
    /// Wakes the back-channel logout worker.
    pub logout_notify: Arc<tokio::sync::Notify>,
    /// For calls to portals (back-channel logout); no redirects followed.
    pub outbound: reqwest::Client,
    /// When an unknown `kid` last made this node reload its keys (unix seconds).
    last_kid_reload: std::sync::atomic::AtomicI64,
    /// Registered clients, read on every token request: cached per node.
    clients: ClientCache,
    /// Access tokens whose signature this node verified, with their claims: a resource
    /// server introspects the same token at every call. Expiry and revocation are still
    /// checked at each use.
    pub verified_tokens:
        std::sync::Mutex<std::collections::HashMap<String, crate::oidc::tokens::AccessTokenClaims>>,
    /// This node's mirror of the deny list (kept by `spawn_deny_list_sync`).
    pub deny_list: crate::oidc::deny_list::DenyList,
    /// The identity sources, built from the configuration.
    pub sources: crate::sources::Sources,
}

/// Seconds a node may serve a client's registration after it changed elsewhere (a new
/// secret, a removal): the staleness bound of the client cache.
pub const CLIENT_CACHE_SECONDS: i64 = 5;

#[derive(Default)]
struct ClientCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (i64, Arc<crate::store::Client>)>>,
}

impl Provider {
    /// Connects, migrates, and loads (or on first start creates) the signing keys.
    pub async fn start(config: Config, clock: Arc<dyn Clock>) -> Result<Provider, StartError> {
        let store = Store::connect(&config).await?;
        store.migrate().await?;
        let master = MasterKey::load_or_create(&config.keys_dir)?;
        let passwords = PasswordHasherPool::new(&config.password)?;
        let ring = load_or_create_keys(&store, &master, clock.now()).await?;
        let discovery_json = crate::oidc::discovery::document(&config).to_string().into();
        let sources = crate::sources::Sources::from_config(&config.sources);
        Ok(Provider {
            config,
            store,
            clock,
            master,
            passwords,
            keys: RwLock::new(Arc::new(ring)),
            discovery_json,
            jwks_cache: Default::default(),
            logout_notify: Arc::new(tokio::sync::Notify::new()),
            outbound: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("HTTP client"),
            last_kid_reload: std::sync::atomic::AtomicI64::new(0),
            clients: ClientCache::default(),
            verified_tokens: Default::default(),
            deny_list: Default::default(),
            sources,
        })
    }

    /// The current key ring (cheap: an `Arc` clone; no lock is held afterwards).
    pub fn keys(&self) -> Arc<KeyRing> {
        self.keys.read().expect("key ring lock poisoned").clone()
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn issuer(&self) -> &str {
        self.config.issuer.as_str().trim_end_matches('/')
    }
}

/// Loads every published key; creates an ES256 and an RS256 key when an algorithm has
/// none that signs now or later.
pub async fn load_or_create_keys(
    store: &Store,
    master: &MasterKey,
    now: i64,
) -> Result<KeyRing, StartError> {
    let mut stored = store.keys().published(now).await?;
    for alg in SigningAlg::ALL {
        let has_signer = stored
            .iter()
            .any(|k| k.alg == alg.as_str() && k.retired_at.is_none_or(|r| r > now));
        if !has_signer {
            let row = new_key_row(master, alg, now, now).await?;
            store.keys().insert(&row).await?;
            tracing::info!(kid = %row.kid, alg = alg.as_str(), "created signing key");
            stored.insert(0, row);
        }
    }
    decode_ring(master, stored)
}

async fn new_key_row(
    master: &MasterKey,
    alg: SigningAlg,
    now: i64,
    activates_at: i64,
) -> Result<StoredKey, StartError> {
    let der = tokio::task::spawn_blocking(move || SigningKey::generate_pkcs8(alg))
        .await
        .map_err(|_| KeyError::Generate)??;
    let key = SigningKey::from_pkcs8(alg, &der)?;
    Ok(StoredKey {
        private_key: master.seal(&key.kid, &der),
        kid: key.kid,
        alg: alg.as_str().to_owned(),
        created_at: now,
        activates_at,
        retired_at: None,
        expires_at: None,
    })
}

fn decode_ring(master: &MasterKey, stored: Vec<StoredKey>) -> Result<KeyRing, StartError> {
    let mut entries = Vec::with_capacity(stored.len());
    for row in stored {
        let alg = SigningAlg::parse(&row.alg).ok_or_else(|| KeyError::Decode {
            kid: row.kid.clone(),
            reason: format!("unknown algorithm {}", row.alg),
        })?;
        let der = master.open(&row.kid, &row.private_key)?;
        let key = SigningKey::from_pkcs8(alg, &der).map_err(|e| KeyError::Decode {
            kid: row.kid.clone(),
            reason: e.to_string(),
        })?;
        entries.push(KeyEntry {
            key,
            activates_at: row.activates_at,
            retired_at: row.retired_at,
        });
    }
    Ok(KeyRing::new(entries))
}

/// A rotation: the new key of each algorithm, and the keys it retires.
#[derive(Debug)]
pub struct Rotated {
    pub alg: SigningAlg,
    pub kid: String,
    pub activates_at: i64,
    pub retired: Vec<String>,
}

/// `keys rotate`: a new key per algorithm, published now and signing after the lead
/// time; the keys it replaces stop signing then and stay published until every token
/// they signed has expired.
pub async fn rotate_keys(
    config: &Config,
    store: &Store,
    master: &MasterKey,
    now: i64,
) -> Result<Vec<Rotated>, StartError> {
    let activates_at = now + config.keys.rotation_lead_time.as_secs() as i64;
    let longest_token = config
        .tokens
        .access_token_ttl
        .max(config.tokens.id_token_ttl)
        .as_secs() as i64;
    // A minute of margin for clock skew between nodes and relying parties.
    let expire_at = activates_at + longest_token + 60;
    let mut out = Vec::new();
    for alg in SigningAlg::ALL {
        let row = new_key_row(master, alg, now, activates_at).await?;
        let retired = store.keys().rotate(&row, activates_at, expire_at).await?;
        let retired = retired.into_iter().filter(|k| *k != row.kid).collect();
        out.push(Rotated {
            alg,
            kid: row.kid,
            activates_at,
            retired,
        });
    }
    Ok(out)
}

impl Provider {
    /// A registered client, from this node's cache when it was read in the last
    /// [`CLIENT_CACHE_SECONDS`]. Unknown ids are not cached, so a new registration is
    /// usable at once.
    pub async fn client(&self, id: &str) -> Result<Option<Arc<crate::store::Client>>, StoreError> {
        let now = self.now();
        {
            let entries = self.clients.entries.lock().expect("client cache lock");
            if let Some((at, client)) = entries.get(id) {
                if now - at < CLIENT_CACHE_SECONDS && *at <= now {
                    return Ok(Some(client.clone()));
                }
            }
        }
        let Some(client) = self.store.clients().get(id).await? else {
            self.clients
                .entries
                .lock()
                .expect("client cache lock")
                .remove(id);
            return Ok(None);
        };
        let client = Arc::new(client);
        let mut entries = self.clients.entries.lock().expect("client cache lock");
        if entries.len() > 10_000 {
            entries.clear();
        }
        entries.insert(id.to_owned(), (now, client.clone()));
        Ok(Some(client))
    }

    /// Verifies a token this provider signed (`now: None` ignores its expiry). A `kid`
    /// this node does not know yet (another node's new key) reloads the keys from the
    /// database, at most once a second, and tries again.
    pub async fn verify_own<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        now: Option<i64>,
    ) -> Result<T, VerifyError> {
        let attempt = |ring: &KeyRing| match now {
            Some(n) => ring.verify(token, typ, self.issuer(), n),
            None => ring.verify_ignoring_expiry(token, typ, self.issuer()),
        };
        match attempt(&self.keys()) {
            Err(VerifyError::UnknownKey) => {
                use std::sync::atomic::Ordering;
                let second = self.now();
                let last = self.last_kid_reload.load(Ordering::Relaxed);
                let ours = last < second
                    && self
                        .last_kid_reload
                        .compare_exchange(last, second, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok();
                if ours && self.reload_keys().await.is_ok() {
                    attempt(&self.keys())
                } else {
                    Err(VerifyError::UnknownKey)
                }
            }
            other => other,
        }
    }

    /// Reloads the keys from the database (a rotation made by another node or the CLI).
    pub async fn reload_keys(&self) -> Result<(), StartError> {
        let stored = self.store.keys().published(self.now()).await?;
        let ring = decode_ring(&self.master, stored)?;
        *self.keys.write().expect("key ring lock poisoned") = Arc::new(ring);
        Ok(())
    }

    /// Runs `task` every `period` (the first time at once, or after one period) until
    /// the provider is dropped. A late tick is not made up for.
    fn spawn_every<F, Fut>(
        self: &Arc<Self>,
        period: std::time::Duration,
        at_once: bool,
        mut task: F,
    ) -> tokio::task::JoinHandle<()>
    where
        F: FnMut(Arc<Provider>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            if !at_once {
                tick.tick().await;
            }
            loop {
                tick.tick().await;
                let Some(provider) = weak.upgrade() else {
                    return;
                };
                task(provider).await;
            }
        })
    }

    /// Once a minute: purges expired rows (every node does; the deletes are idempotent)
    /// and releases idle password-hashing memory.
    pub fn spawn_janitor(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        self.spawn_every(
            std::time::Duration::from_secs(60),
            true,
            |provider| async move {
                provider.passwords.release_idle_buffers(provider.now());
                match provider.store.purge_expired(provider.now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(rows = n, "purged expired rows"),
                    Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
                }
            },
        )
    }

    /// Checkpoints the SQLite write-ahead log every second, off the request path.
    pub fn spawn_checkpointer(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        self.spawn_every(
            std::time::Duration::from_secs(1),
            true,
            |provider| async move {
                if let Err(e) = provider.store.checkpoint().await {
                    tracing::warn!(error = %e, "checkpointing the SQLite log failed");
                }
            },
        )
    }

    /// Reads revocations made by other nodes into this node's deny-list mirror every
    /// `deny_list::SYNC_INTERVAL` until the provider is dropped.
    pub fn spawn_deny_list_sync(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        self.spawn_every(
            crate::oidc::deny_list::SYNC_INTERVAL,
            true,
            |provider| async move {
                provider
                    .deny_list
                    .sync_reporting(&provider.store, provider.now())
                    .await;
            },
        )
    }

    /// Reloads keys every `keys.refresh_interval` until the provider is dropped: the
    /// staleness bound of a node's key cache.
    pub fn spawn_key_refresher(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        self.spawn_every(self.config.keys.refresh_interval, false, |provider| async move {
            if let Err(e) = provider.reload_keys().await {
                tracing::warn!(error = %e, "reloading signing keys failed; serving the previous set");
            }
        })
    }
}
