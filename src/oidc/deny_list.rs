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
use std::time::{Duration, Instant};

use crate::store::{DenyKeys, Store, StoreError, grant_key, jti_key, sid_key};

/// How often a node reads revocations made elsewhere.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(200);

/// How old a mirror may be and still answer: the longest a revocation made on another
/// node goes unseen here.
pub const MAX_STALENESS: Duration = Duration::from_secs(1);

/// How far back (in `revoked_at`, seconds of the revoking node's clock) each sync reads
/// again: for a row committed just after the previous sync read past it, and for nodes
/// whose clocks differ by less than this.
const OVERLAP_SECS: i64 = 10;

/// Every this many syncs, the whole (unexpired) list is read again, whatever the clocks.
const FULL_SYNC_EVERY: u32 = 150;

#[derive(Default)]
pub struct DenyList {
    state: RwLock<State>,
}

#[derive(Default)]
struct State {
    /// Deny-list key to the time it may be forgotten (unix seconds).
    keys: HashMap<String, i64>,
    /// When the last successful sync started its read.
    synced: Option<Instant>,
    /// `revoked_at` from which the next sync reads; `None`: read everything.
    next_from: Option<i64>,
    syncs: u32,
}

impl DenyList {
    /// Whether a token with these keys is revoked, if the mirror is fresh enough to
    /// say; `None`: ask the database.
    pub fn check(&self, token: &DenyKeys<'_>) -> Option<bool> {
        let state = self.state.read().expect("deny list lock");
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
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        store.revocations().revoke(key, now, expires_at).await?;
        let mut state = self.state.write().expect("deny list lock");
        let until = state.keys.entry(key.to_owned()).or_insert(expires_at);
        *until = (*until).max(expires_at);
        Ok(())
    }

    /// Reads the revocations made since the last sync (by any node) into the mirror and
    /// forgets the expired ones.
    pub async fn sync(&self, store: &Store, now: i64) -> Result<(), StoreError> {
        let started = Instant::now();
        let from = {
            let mut state = self.state.write().expect("deny list lock");
            state.syncs = state.syncs.wrapping_add(1);
            match state.syncs % FULL_SYNC_EVERY {
                0 => None,
                _ => state.next_from,
            }
        };
        let rows = store
            .revocations()
            .revoked_since(from.unwrap_or(i64::MIN), now)
            .await?;
        let mut state = self.state.write().expect("deny list lock");
        state.keys.retain(|_, until| *until > now);
        for (key, until) in rows {
            let entry = state.keys.entry(key).or_insert(until);
            *entry = (*entry).max(until);
        }
        state.synced = Some(started);
        state.next_from = Some(now - OVERLAP_SECS);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.state.read().expect("deny list lock").keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    async fn store() -> Store {
        let env = [(
            "PORTICO_DATABASE_URL".to_owned(),
            "sqlite::memory:".to_owned(),
        )];
        let store = Store::connect(&Config::from_parts("", &env).unwrap())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
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

        // Revoked here: known here at once, elsewhere after its next sync.
        here.revoke(&store, &sid_key("s1"), 101, 800).await.unwrap();
        assert_eq!(here.check(&t), Some(true));
        assert_eq!(elsewhere.check(&t), Some(false));
        elsewhere.sync(&store, 102).await.unwrap();
        assert_eq!(elsewhere.check(&t), Some(true));
        // Each key of the token counts; other tokens are not affected.
        here.revoke(&store, &grant_key("g2"), 102, 800)
            .await
            .unwrap();
        here.revoke(&store, &jti_key("j3"), 102, 800).await.unwrap();
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
    async fn a_late_revocation_within_the_overlap_is_read_and_expired_ones_are_forgotten() {
        let store = store().await;
        let list = DenyList::default();
        list.sync(&store, 1_000).await.unwrap();
        // Written by a node whose clock is 5 s behind, after this node's last sync.
        store
            .revocations()
            .revoke(&jti_key("late"), 995, 1_600)
            .await
            .unwrap();
        list.sync(&store, 1_001).await.unwrap();
        assert_eq!(list.check(&token("late", "g", "s")), Some(true));
        // Expired entries leave the mirror at the sync after their expiry.
        list.sync(&store, 1_600).await.unwrap();
        assert_eq!(list.check(&token("late", "g", "s")), Some(false));
        assert!(list.is_empty());
    }

    #[tokio::test]
    async fn a_stale_mirror_answers_nothing() {
        let store = store().await;
        let list = DenyList::default();
        list.sync(&store, 100).await.unwrap();
        list.state.write().unwrap().synced = Some(Instant::now() - MAX_STALENESS * 2);
        assert_eq!(list.check(&token("j", "g", "s")), None);
    }
}
