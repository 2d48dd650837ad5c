//! The signing keys as a service: the ring this node signs and verifies with, reloaded
//! from the database (a rotation by another node or the CLI), and the key lifecycle
//! (created on first start, rotated with overlap).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use crate::config::Config;
use crate::crypto::keys::{KeyEntry, KeyError, KeyRing, SigningKey, VerifyError};
use crate::crypto::seal::SealError;
use crate::crypto::{MasterKey, SigningAlg};
use crate::store::{Store, StoreError, StoredKey};

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// The key ring, and what reloading it needs.
pub struct Keys {
    ring: RwLock<Arc<KeyRing>>,
    issuer: String,
    store: Store,
    secrets: Arc<MasterKey>,
    /// When an unknown `kid` last made this node reload its keys (unix seconds).
    last_kid_reload: AtomicI64,
}

impl Keys {
    /// Loads every published key, creating the missing ones (see [`load_or_create_keys`]).
    pub async fn start(
        issuer: &str,
        store: Store,
        secrets: Arc<MasterKey>,
        now: i64,
    ) -> Result<Keys, KeysError> {
        let ring = load_or_create_keys(&store, &secrets, now).await?;
        Ok(Keys {
            ring: RwLock::new(Arc::new(ring)),
            issuer: issuer.to_owned(),
            store,
            secrets,
            last_kid_reload: AtomicI64::new(0),
        })
    }

    /// The current key ring (cheap: an `Arc` clone; no lock is held afterwards).
    pub fn ring(&self) -> Arc<KeyRing> {
        self.ring.read().expect("key ring lock poisoned").clone()
    }

    /// The issuer the tokens name.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Verifies a token this provider signed (`expiry_at: None` ignores its expiry). A
    /// `kid` this node does not know yet (another node's new key) reloads the keys from
    /// the database, at most once a second, and tries again.
    pub async fn verify_own<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        expiry_at: Option<i64>,
        now: i64,
    ) -> Result<T, VerifyError> {
        let attempt = |ring: &KeyRing| match expiry_at {
            Some(n) => ring.verify(token, typ, &self.issuer, n),
            None => ring.verify_ignoring_expiry(token, typ, &self.issuer),
        };
        match attempt(&self.ring()) {
            Err(VerifyError::UnknownKey) => {
                let last = self.last_kid_reload.load(Ordering::Relaxed);
                let ours = last < now
                    && self
                        .last_kid_reload
                        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok();
                if ours && self.reload(now).await.is_ok() {
                    attempt(&self.ring())
                } else {
                    Err(VerifyError::UnknownKey)
                }
            }
            other => other,
        }
    }

    /// Reloads the keys from the database.
    pub async fn reload(&self, now: i64) -> Result<(), KeysError> {
        let stored = self.store.keys().published(now).await?;
        let ring = decode_ring(&self.secrets, stored)?;
        *self.ring.write().expect("key ring lock poisoned") = Arc::new(ring);
        Ok(())
    }
}

/// Loads every published key; creates an ES256 and an RS256 key when an algorithm has
/// none that signs now or later.
pub async fn load_or_create_keys(
    store: &Store,
    master: &MasterKey,
    now: i64,
) -> Result<KeyRing, KeysError> {
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
) -> Result<StoredKey, KeysError> {
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

fn decode_ring(master: &MasterKey, stored: Vec<StoredKey>) -> Result<KeyRing, KeysError> {
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
) -> Result<Vec<Rotated>, KeysError> {
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
