//! Signing keys, their private part sealed (the sealing happens in `crypto`).

use super::db::{Db, On, Row, query};

use super::StoreError;

#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub private_key: Vec<u8>,
    pub created_at: i64,
    pub activates_at: i64,
    pub retired_at: Option<i64>,
    pub expires_at: Option<i64>,
}

pub struct Keys<'a> {
    db: &'a Db,
}

impl<'a> Keys<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Keys { db }
    }

    /// Keys still published (not past `expires_at`), newest first.
    pub async fn published(&self, now: i64) -> Result<Vec<StoredKey>, StoreError> {
        query(
            "SELECT kid, alg, private_key, created_at, activates_at, retired_at, expires_at \
             FROM signing_keys WHERE expires_at IS NULL OR expires_at > $1 \
             ORDER BY created_at DESC, kid",
        )
        .bind(now)
        .fetch_all(self.db.read())
        .await?
        .iter()
        .map(key_from)
        .collect()
    }

    /// Stores a new key and retires the keys it replaces (same algorithm, not yet retired)
    /// in one transaction: they stop signing at `retire_at` and stay published until
    /// `expire_at`.
    pub async fn rotate(
        &self,
        key: &StoredKey,
        retire_at: i64,
        expire_at: i64,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.db.begin().await?;
        let retired = query(
            "UPDATE signing_keys SET retired_at = $2, expires_at = $3 \
             WHERE alg = $1 AND retired_at IS NULL RETURNING kid",
        )
        .bind(&key.alg)
        .bind(retire_at)
        .bind(expire_at)
        .fetch_all(tx.on())
        .await?
        .iter()
        .map(|r| r.get("kid"))
        .collect::<Result<Vec<String>, _>>()?;
        insert_key(tx.on(), key).await?;
        tx.commit().await?;
        Ok(retired)
    }

    pub async fn insert(&self, key: &StoredKey) -> Result<(), StoreError> {
        insert_key(self.db.write(), key).await
    }
}

fn key_from(r: &Row) -> Result<StoredKey, StoreError> {
    Ok(StoredKey {
        kid: r.get("kid")?,
        alg: r.get("alg")?,
        private_key: r.get("private_key")?,
        created_at: r.get("created_at")?,
        activates_at: r.get("activates_at")?,
        retired_at: r.get("retired_at")?,
        expires_at: r.get("expires_at")?,
    })
}

async fn insert_key(on: On<'_>, key: &StoredKey) -> Result<(), StoreError> {
    query(
        "INSERT INTO signing_keys (kid, alg, private_key, created_at, activates_at, \
             retired_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&key.kid)
    .bind(&key.alg)
    .bind(key.private_key.as_slice())
    .bind(key.created_at)
    .bind(key.activates_at)
    .bind(key.retired_at)
    .bind(key.expires_at)
    .execute(on)
    .await?;
    Ok(())
}
