//! A per-node mirror of the deny list, so that checking an access token (introspection,
//! the call portals and resource servers make most) reads no database.
//!
//! On the node that revokes, a revocation is in the mirror as soon as it is in the
//! database (written through). Other nodes read new revocations every `SYNC_INTERVAL`:
//! RFC 7009 section 2.2 allows a propagation delay between servers and asks to keep it
//! short. A mirror that has not synced within `MAX_STALENESS` answers nothing, and the
//! check goes to the database: a node that cannot reach the database never trusts an
//! old copy for longer than that.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::store::{DenyKeys, Store, StoreError, grant_key, jti_key, sid_key};

/// How often a node reads revocations made elsewhere.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(200);

/// How old a mirror may be and still answer: the longest a revocation made on another
/// node goes unseen here.
pub const MAX_STALENESS: Duration = Duration::from_secs(1);

/// How far back (in `revoked_at`, the database's clock) each sync reads again: for a
/// revocation stamped before the previous sync's read but committed after it. Each is
/// one statement stamped as it runs, so its commit follows within milliseconds; the
/// full sync is the backstop for anything slower. Kept short: in a burst of
/// revocations every node re-reads this window at every sync.
const OVERLAP_SECS: i64 = 3;

/// How often the whole (unexpired) list is read again and expired entries forgotten.
const FULL_SYNC_EVERY: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct DenyList {
    state: RwLock<State>,
    /// Whether the last sync failed (to warn once per outage).
    failing: AtomicBool,
}

#[derive(Default)]
struct State {
    /// Deny-list key to the time it may be forgotten (unix seconds).
    keys: HashMap<String, i64>,
    /// When the last successful sync started its read.
    synced: Option<Instant>,
    /// When the last successful full sync started.
    full: Option<Instant>,
    /// `revoked_at` (the database's clock) from which the next sync reads.
    next_from: i64,
}

impl DenyList {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // No code panics holding the lock; if one did, the map is still whole.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a token with these keys is revoked, if the mirror is fresh enough to
    /// say; `None`: ask the database.
    pub fn check(&self, token: &DenyKeys<'_>) -> Option<bool> {
        let state = self.read();
        if state.synced.is_none_or(|at| at.elapsed() > MAX_STALENESS) {
            return None;
        }
        let listed = |key: String| state.keys.contains_key(&key);
        Some(
            listed(jti_key(token.jti))
                || token.grant.is_some_and(|g| listed(grant_key(g)))
                || token.sid.is_some_and(|s| listed(sid_key(s))),
        )
    }

    /// Revokes `key` until `expires_at`: in the database, then in this node's mirror.
    pub async fn revoke(
        &self,
        store: &Store,
        key: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        store.revocations().revoke(key, expires_at).await?;
        self.remember(key, expires_at);
        Ok(())
    }

    /// Puts in this node's mirror a key that a transaction of more than the deny list
    /// has committed (a logout, `Sessions::end`): only once it is committed, so the
    /// mirror never denies what the database does not.
    pub fn remember(&self, key: &str, expires_at: i64) {
        merge(&mut self.write().keys, key.to_owned(), expires_at);
    }

    /// Reads the revocations made since the last sync (by any node) into the mirror;
    /// every `FULL_SYNC_EVERY`, reads them all and forgets the expired ones.
    pub async fn sync(&self, store: &Store, now: i64) -> Result<(), StoreError> {
        let started = Instant::now();
        let (full, from) = {
            let state = self.read();
            let full = state.full.is_none_or(|at| at.elapsed() >= FULL_SYNC_EVERY);
            (full, state.next_from)
        };
        // Read before the rows: whatever is stamped after it is read next time.
        let database_now = store.revocations().database_now().await?;
        let rows = store
            .revocations()
            .revoked_since(if full { i64::MIN } else { from }, now)
            .await?;
        let mut state = self.write();
        if full {
            state.keys.retain(|_, until| *until > now);
            state.full = Some(started);
        }
        for (key, until) in rows {
            merge(&mut state.keys, key, until);
        }
        state.synced = Some(started);
        state.next_from = database_now - OVERLAP_SECS;
        Ok(())
    }

    /// `sync`, with a warning once per outage (the checks go to the database meanwhile).
    pub async fn sync_reporting(&self, store: &Store, now: i64) {
        match self.sync(store, now).await {
            Ok(()) => self.failing.store(false, Ordering::Relaxed),
            Err(e) if !self.failing.swap(true, Ordering::Relaxed) => {
                tracing::warn!(error = %e, "reading the deny list failed; checking tokens against the database");
            }
            Err(_) => {}
        }
    }

    pub fn len(&self) -> usize {
        self.read().keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keeps the later of two expiries of one key.
fn merge(keys: &mut HashMap<String, i64>, key: String, until: i64) {
    let entry = keys.entry(key).or_insert(until);
    *entry = (*entry).max(until);
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> Store {
        Store::in_memory().await
    }

    fn token<'a>(jti: &'a str, grant: &'a str, sid: &'a str) -> DenyKeys<'a> {
        DenyKeys {
            jti,
            grant: Some(grant),
            sid: Some(sid),
        }
    }

    #[tokio::test]
    async fn answers_only_once_synced_and_sees_other_nodes_revocations_at_the_next_sync() {
        let store = store().await;
        let (here, elsewhere) = (DenyList::default(), DenyList::default());
        let t = token("j1", "g1", "s1");
        // Never synced: the database decides.
        assert_eq!(here.check(&t), None);
        here.sync(&store, 100).await.unwrap();
        elsewhere.sync(&store, 100).await.unwrap();
        assert_eq!(here.check(&t), Some(false));

        // Revoked here: known here at once, elsewhere after its next sync (an
        // incremental one: the full one was the first).
        here.revoke(&store, &sid_key("s1"), 800).await.unwrap();
        assert_eq!(here.check(&t), Some(true));
        assert_eq!(elsewhere.check(&t), Some(false));
        elsewhere.sync(&store, 102).await.unwrap();
        assert_eq!(elsewhere.check(&t), Some(true));
        // Each key of the token counts; other tokens are not affected.
        here.revoke(&store, &grant_key("g2"), 800).await.unwrap();
        here.revoke(&store, &jti_key("j3"), 800).await.unwrap();
        assert_eq!(here.check(&token("x", "g2", "x")), Some(true));
        assert_eq!(here.check(&token("j3", "x", "x")), Some(true));
        assert_eq!(here.check(&token("j4", "g4", "s4")), Some(false));
        let no_grant_or_sid = DenyKeys {
            jti: "j5",
            grant: None,
            sid: None,
        };
        assert_eq!(here.check(&no_grant_or_sid), Some(false));
    }

    #[tokio::test]
    async fn a_later_expiry_reaches_other_nodes_and_expired_entries_are_forgotten() {
        let store = store().await;
        let (here, elsewhere) = (DenyList::default(), DenyList::default());
        here.sync(&store, 1_000).await.unwrap();
        elsewhere.sync(&store, 1_000).await.unwrap();
        here.revoke(&store, &grant_key("g"), 1_100).await.unwrap();
        elsewhere.sync(&store, 1_001).await.unwrap();
        // Revoked again for longer: the longer expiry is what the other node keeps.
        here.revoke(&store, &grant_key("g"), 1_700).await.unwrap();
        elsewhere.sync(&store, 1_002).await.unwrap();
        assert_eq!(elsewhere.read().keys.get("grant:g"), Some(&1_700));
        // A full sync after the expiry forgets it.
        elsewhere.write().full = None;
        elsewhere.sync(&store, 1_700).await.unwrap();
        assert_eq!(elsewhere.check(&token("j", "g", "s")), Some(false));
        assert!(elsewhere.is_empty());
    }

    #[tokio::test]
    async fn a_stale_mirror_answers_nothing() {
        let store = store().await;
        let list = DenyList::default();
        list.sync(&store, 100).await.unwrap();
        list.write().synced = Some(Instant::now() - MAX_STALENESS * 2);
        assert_eq!(list.check(&token("j", "g", "s")), None);
    }
}
