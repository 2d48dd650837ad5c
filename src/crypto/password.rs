//! argon2id password hashing, always on the blocking pool and bounded by a semaphore,
//! so a burst of logins neither stalls the async threads nor takes every blocking
//! thread.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::config::PasswordConfig;
use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the password hashing task was cancelled")]
    Cancelled,
}

#[derive(Clone)]
pub struct PasswordHasherPool {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when the username is unknown so
    /// that the answer takes as long as for a known user (no account enumeration by
    /// timing).
    decoy: Arc<String>,
}

impl PasswordHasherPool {
    pub fn new(config: &PasswordConfig) -> Result<Self, PasswordError> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
        let decoy = hash_with(&params, crate::random::token().expose())?;
        Ok(PasswordHasherPool {
            params,
            permits: Arc::new(Semaphore::new(config.max_concurrent_hashes)),
            decoy: Arc::new(decoy),
        })
    }

    /// PHC string of the password, computed on the blocking pool.
    pub async fn hash(&self, password: &Secret) -> Result<String, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::Cancelled)?;
        let params = self.params.clone();
        let password = password.clone();
        tokio::task::spawn_blocking(move || hash_with(&params, password.expose()))
            .await
            .map_err(|_| PasswordError::Cancelled)?
    }

    /// Whether `password` matches `phc` (or, when `phc` is `None`, burns the same time
    /// against the decoy and answers false).
    pub async fn verify(
        &self,
        password: &Secret,
        phc: Option<&str>,
    ) -> Result<bool, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::Cancelled)?;
        let known = phc.is_some();
        let phc = phc
            .map(str::to_owned)
            .unwrap_or_else(|| self.decoy.as_str().to_owned());
        let password = password.clone();
        let matched = tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&phc).map_err(|e| PasswordError::Hash(e.to_string()))?;
            Ok::<bool, PasswordError>(
                Argon2::default()
                    .verify_password(password.expose().as_bytes(), &parsed)
                    .is_ok(),
            )
        })
        .await
        .map_err(|_| PasswordError::Cancelled)??;
        Ok(known && matched)
    }
}

fn hash_with(params: &Params, password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::encode_b64(&crate::random::bytes::<16>())
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> PasswordConfig {
        PasswordConfig {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            max_concurrent_hashes: 2,
        }
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let pool = PasswordHasherPool::new(&small()).unwrap();
        let phc = pool.hash(&Secret::new("correct horse")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(
            pool.verify(&Secret::new("correct horse"), Some(&phc))
                .await
                .unwrap()
        );
        assert!(
            !pool
                .verify(&Secret::new("wrong"), Some(&phc))
                .await
                .unwrap()
        );
        assert!(
            !pool
                .verify(&Secret::new("correct horse"), None)
                .await
                .unwrap()
        );
    }
}
