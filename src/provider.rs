//! The provider's shared state: configuration, store, keys, clock. Protocol and
//! identity code take `&Provider`; HTTP wraps it.

use std::sync::{Arc, RwLock};

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::keys::{KeyError, KeyRing, SigningKey};
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
    /// The discovery document, serialised once.
    pub discovery_json: Arc<str>,
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
        Ok(Provider {
            config,
            store,
            clock,
            master,
            passwords,
            keys: RwLock::new(Arc::new(ring)),
            discovery_json,
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

/// Loads every published key; creates an ES256 and an RS256 key when none is active.
pub async fn load_or_create_keys(
    store: &Store,
    master: &MasterKey,
    now: i64,
) -> Result<KeyRing, StartError> {
    let mut stored = store.keys().published(now).await?;
    for alg in SigningAlg::ALL {
        let has_active = stored
            .iter()
            .any(|k| k.alg == alg.as_str() && k.activates_at <= now && k.retired_at.is_none());
        if !has_active {
            let der = tokio::task::spawn_blocking(move || SigningKey::generate_pkcs8(alg))
                .await
                .map_err(|_| KeyError::Generate)??;
            let key = SigningKey::from_pkcs8(alg, &der)?;
            let row = StoredKey {
                private_key: master.seal(&key.kid, &der),
                kid: key.kid,
                alg: alg.as_str().to_owned(),
                created_at: now,
                activates_at: now,
                retired_at: None,
                expires_at: None,
            };
            store.keys().insert(&row).await?;
            tracing::info!(kid = %row.kid, alg = alg.as_str(), "created signing key");
            stored.insert(0, row);
        }
    }
    let mut published = Vec::new();
    let mut signing: Vec<(SigningAlg, String)> = Vec::new();
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
        // Rows are newest first: the first active key of each algorithm signs.
        if row.activates_at <= now
            && row.retired_at.is_none()
            && !signing.iter().any(|(a, _)| *a == alg)
        {
            signing.push((alg, key.kid.clone()));
        }
        published.push(key);
    }
    Ok(KeyRing::new(published, &signing))
}
