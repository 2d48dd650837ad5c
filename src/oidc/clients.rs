//! Registered clients, read on every token request: cached per node for a few seconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::model::Client;
use crate::store::{Store, StoreError};

/// Seconds a node may serve a client's registration after it changed elsewhere (a new
/// secret, a removal): the staleness bound of the client cache.
pub const CLIENT_CACHE_SECONDS: i64 = 5;

pub struct ClientCache {
    store: Store,
    entries: Mutex<HashMap<String, (i64, Arc<Client>)>>,
}

impl ClientCache {
    pub fn new(store: Store) -> ClientCache {
        ClientCache {
            store,
            entries: Mutex::default(),
        }
    }

    /// A registered client, from this node's cache when it was read in the last
    /// [`CLIENT_CACHE_SECONDS`]. Unknown ids are not cached, so a new registration is
    /// usable at once.
    pub async fn get(&self, id: &str, now: i64) -> Result<Option<Arc<Client>>, StoreError> {
        {
            let entries = self.entries.lock().expect("client cache lock");
            if let Some((at, client)) = entries.get(id) {
                if now - at < CLIENT_CACHE_SECONDS && *at <= now {
                    return Ok(Some(client.clone()));
                }
            }
        }
        let Some(client) = self.store.clients().get(id).await? else {
            self.entries.lock().expect("client cache lock").remove(id);
            return Ok(None);
        };
        let client = Arc::new(client);
        let mut entries = self.entries.lock().expect("client cache lock");
        if entries.len() > 10_000 {
            entries.clear();
        }
        entries.insert(id.to_owned(), (now, client.clone()));
        Ok(Some(client))
    }
}
