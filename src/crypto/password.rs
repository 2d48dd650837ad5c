//! argon2id password hashing, always on the blocking pool, a few at once, behind a
//! bounded queue with a deadline: a burst of logins neither stalls the async threads,
//! nor takes every blocking thread, nor makes a real login wait behind a thousand
//! guesses (a full queue or a missed deadline is an outage the login page answers
//! with 503 and `Retry-After`).

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::secret::Secret;

/// argon2id's cost and how many hashes run at once (`[password]` in the configuration).
#[derive(Debug, Clone)]
pub struct PasswordConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Password hashes computed at once; more wait in line, so a burst of logins
    /// cannot take every blocking thread.
    pub max_concurrent_hashes: usize,
    /// Hashes waiting for one of those; past that a hash is refused at once, so an
    /// attacker's burst costs its own requests a 503, not everyone's logins minutes.
    pub max_queued_hashes: usize,
    /// How long a hash may wait in the queue before it is refused.
    pub queue_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the password hashing task was cancelled")]
    Cancelled,
    #[error("the password hashing queue is full")]
    QueueFull,
    #[error("a password hash waited longer than the queue timeout")]
    QueueTimeout,
}

#[derive(Clone)]
pub struct PasswordHasherPool {
    params: Params,
    /// A place in line: running or waiting (`max_concurrent + max_queued`).
    places: Arc<Semaphore>,
    /// A turn to run (`max_concurrent`).
    permits: Arc<Semaphore>,
    queue_timeout: Duration,
    /// A hash of a random password, verified against when the username is unknown so
    /// that the answer takes as long as for a known user (no account enumeration by
    /// timing).
    decoy: Arc<String>,
    /// argon2 working memory (19 MiB each), reused: allocating and faulting in a fresh
    /// buffer costs a third of a verification. At most one per permit; released after a
    /// minute unused, so an idle server gives the memory back.
    buffers: Arc<std::sync::Mutex<(Vec<Vec<Block>>, i64)>>,
    /// Verifications run since start (an operational count; the brute-force tests read
    /// it to show a locked login runs none).
    verified: Arc<std::sync::atomic::AtomicU64>,
}

/// Held while a hash runs: its place in the queue and its turn.
struct Turn {
    _permit: OwnedSemaphorePermit,
    _place: OwnedSemaphorePermit,
}

/// Seconds after which unused argon2 buffers are released.
const BUFFER_IDLE_SECONDS: i64 = 60;

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
            places: Arc::new(Semaphore::new(
                config.max_concurrent_hashes + config.max_queued_hashes,
            )),
            permits: Arc::new(Semaphore::new(config.max_concurrent_hashes)),
            queue_timeout: config.queue_timeout,
            decoy: Arc::new(decoy),
            buffers: Arc::new(std::sync::Mutex::new((Vec::new(), 0))),
            verified: Arc::default(),
        })
    }

    /// PHC string of the password, computed on the blocking pool.
    pub async fn hash(&self, password: &Secret) -> Result<String, PasswordError> {
        let turn = self.turn().await?;
        let params = self.params.clone();
        let password = password.clone();
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            hash_with(&params, password.expose())
        })
        .await
        .map_err(|_| PasswordError::Cancelled)?
    }

    /// A place in the queue (refused at once when it is full), then a turn to run
    /// (refused when it does not come within the deadline). The turn moves into the
    /// blocking task: a login whose request is dropped does not free its slot while
    /// argon2 still runs for it.
    async fn turn(&self) -> Result<Turn, PasswordError> {
        let place = self
            .places
            .clone()
            .try_acquire_owned()
            .map_err(|_| PasswordError::QueueFull)?;
        let permit = tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| PasswordError::QueueTimeout)?
            .map_err(|_| PasswordError::Cancelled)?;
        Ok(Turn {
            _permit: permit,
            _place: place,
        })
    }

    /// Whether `password` matches `phc` (or, when `phc` is `None`, burns the same time
    /// against the decoy and answers false).
    pub async fn verify(
        &self,
        password: &Secret,
        phc: Option<&str>,
    ) -> Result<bool, PasswordError> {
        // The decoy waits in the same line as a real verification, so an unknown
        // username is told apart neither by its timing nor by when it is refused.
        let turn = self.turn().await?;
        let known = phc.is_some();
        let phc = phc
            .map(str::to_owned)
            .unwrap_or_else(|| self.decoy.as_str().to_owned());
        let password = password.clone();
        let buffers = self.buffers.clone();
        self.verified
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let matched = tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let mut memory = buffers
                .lock()
                .expect("argon2 buffers")
                .0
                .pop()
                .unwrap_or_default();
            let result = verify_with(&phc, &password, &mut memory);
            let mut pool = buffers.lock().expect("argon2 buffers");
            pool.0.push(memory);
            pool.1 = crate::clock::Clock::now(&crate::clock::SystemClock);
            result
        })
        .await
        .map_err(|_| PasswordError::Cancelled)??;
        Ok(known && matched)
    }
}

impl PasswordHasherPool {
    /// How many verifications (argon2 runs against a stored hash or the decoy) have
    /// begun since start.
    pub fn verifications(&self) -> u64 {
        self.verified.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Releases the argon2 buffers if no verification used them for a minute.
    pub fn release_idle_buffers(&self, now: i64) {
        let mut pool = self.buffers.lock().expect("argon2 buffers");
        if now - pool.1 > BUFFER_IDLE_SECONDS {
            pool.0 = Vec::new();
        }
    }
}

/// Verifies against a PHC string with caller-provided working memory.
fn verify_with(
    phc: &str,
    password: &Secret,
    memory: &mut Vec<Block>,
) -> Result<bool, PasswordError> {
    let err = |e: String| PasswordError::Hash(e);
    let parsed = PasswordHash::new(phc).map_err(|e| err(e.to_string()))?;
    let params = Params::try_from(&parsed).map_err(|e| err(e.to_string()))?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| err(e.to_string()))?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|e| err(e.to_string()))?,
        None => Version::default(),
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(err("the stored hash has no salt or output".into()));
    };
    let mut salt_buf = [0u8; 64];
    let salt = salt
        .decode_b64(&mut salt_buf)
        .map_err(|e| err(e.to_string()))?;
    if memory.len() < params.block_count() {
        *memory = vec![Block::default(); params.block_count()];
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(
            password.expose().as_bytes(),
            salt,
            &mut out,
            &mut memory[..params.block_count()],
        )
        .map_err(|e| err(e.to_string()))?;
    Ok(crate::crypto::constant_time_eq(&out, expected.as_bytes()))
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
            max_queued_hashes: 8,
            queue_timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn a_hash_made_with_other_parameters_still_verifies_and_buffers_are_released() {
        let old = PasswordHasherPool::new(&PasswordConfig {
            memory_kib: 2048,
            ..small()
        })
        .unwrap();
        let phc = old.hash(&Secret::new("pw")).await.unwrap();
        let pool = PasswordHasherPool::new(&small()).unwrap();
        assert!(pool.verify(&Secret::new("pw"), Some(&phc)).await.unwrap());
        assert!(
            pool.verify(&Secret::new("pw"), Some(&phc)).await.unwrap(),
            "with a reused buffer"
        );
        assert_eq!(pool.buffers.lock().unwrap().0.len(), 1);
        pool.release_idle_buffers(i64::MAX);
        assert!(pool.buffers.lock().unwrap().0.is_empty());
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

    /// One running, one waiting: the next is refused at once, the decoy (an unknown
    /// username) included, and a place comes back when the hash ends.
    #[tokio::test]
    async fn a_full_queue_refuses_at_once_for_known_and_unknown_usernames() {
        let pool = PasswordHasherPool::new(&PasswordConfig {
            max_concurrent_hashes: 1,
            max_queued_hashes: 1,
            ..small()
        })
        .unwrap();
        let phc = pool.hash(&Secret::new("pw")).await.unwrap();
        let running = pool.turn().await.unwrap();
        let waiting = tokio::spawn({
            let pool = pool.clone();
            let phc = phc.clone();
            async move { pool.verify(&Secret::new("pw"), Some(&phc)).await }
        });
        while pool.places.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let started = std::time::Instant::now();
        assert!(matches!(
            pool.verify(&Secret::new("pw"), Some(&phc)).await,
            Err(PasswordError::QueueFull)
        ));
        assert!(matches!(
            pool.verify(&Secret::new("pw"), None).await,
            Err(PasswordError::QueueFull)
        ));
        assert!(matches!(
            pool.hash(&Secret::new("pw")).await,
            Err(PasswordError::QueueFull)
        ));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "refused at once"
        );
        drop(running);
        assert!(waiting.await.unwrap().unwrap(), "the waiting one ran");
        assert_eq!(pool.places.available_permits(), 2, "every place came back");
        assert!(pool.verify(&Secret::new("pw"), Some(&phc)).await.unwrap());
    }

    /// A hash whose turn does not come within the queue timeout is refused then, and
    /// gives its place back.
    #[tokio::test]
    async fn a_hash_that_waits_past_the_deadline_is_refused() {
        let pool = PasswordHasherPool::new(&PasswordConfig {
            max_concurrent_hashes: 1,
            max_queued_hashes: 4,
            queue_timeout: Duration::from_millis(200),
            ..small()
        })
        .unwrap();
        let running = pool.turn().await.unwrap();
        let started = std::time::Instant::now();
        assert!(matches!(
            pool.verify(&Secret::new("pw"), None).await,
            Err(PasswordError::QueueTimeout)
        ));
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(200) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
        assert_eq!(pool.places.available_permits(), 4);
        drop(running);
        assert!(!pool.verify(&Secret::new("pw"), None).await.unwrap());
    }
}
