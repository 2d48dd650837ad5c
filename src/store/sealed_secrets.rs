//! What is sealed under the master key and kept long: the rows of `sealed_secrets` (the
//! pairwise-subject key, the ids of the latest key file) and, for a re-seal after a master-key rotation, the
//! private parts of `signing_keys` (the sealing itself happens in `crypto`).

use super::db::{Db, Row, query};

use super::StoreError;

pub struct SealedSecrets<'a> {
    db: &'a Db,
}

/// A sealed value a re-seal meets.
#[derive(Debug, Clone, Copy)]
pub enum SealedItem<'a> {
    SigningKey { kid: &'a str },
    Secret { name: &'a str },
}

/// What a re-seal changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    pub signing_keys: usize,
    pub secrets: usize,
    /// Already under the current key.
    pub unchanged: usize,
}

impl<'a> SealedSecrets<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        SealedSecrets { db }
    }

    pub async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        query("SELECT sealed FROM sealed_secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(self.db.read())
            .await?
            .map(|r| r.get("sealed"))
            .transpose()
    }

    /// Stores the secret unless one of that name exists (nodes starting together all
    /// try; the first wins, and each reads back the winner's).
    pub async fn insert_if_absent(
        &self,
        name: &str,
        sealed: &[u8],
        now: i64,
    ) -> Result<(), StoreError> {
        query(
            "INSERT INTO sealed_secrets (name, sealed, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(sealed)
        .bind(now)
        .execute(self.db.write())
        .await?;
        Ok(())
    }

    /// Stores the secret, replacing one of that name.
    pub async fn put(&self, name: &str, sealed: &[u8], now: i64) -> Result<(), StoreError> {
        query(
            "INSERT INTO sealed_secrets (name, sealed, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, \
             created_at = excluded.created_at",
        )
        .bind(name)
        .bind(sealed)
        .bind(now)
        .execute(self.db.write())
        .await?;
        Ok(())
    }

    /// Re-seals every signing key (published or not) and every secret in one
    /// transaction: `reseal` answers the value sealed anew, `None` when it is under the
    /// current key already, or an error, which rolls everything back.
    pub async fn reseal_all(
        &self,
        mut reseal: impl FnMut(SealedItem<'_>, &[u8]) -> Result<Option<Vec<u8>>, String>,
    ) -> Result<Resealed, StoreError> {
        let mut tx = self.db.begin().await?;
        let mut done = Resealed::default();
        let keys = query("SELECT kid, private_key FROM signing_keys ORDER BY kid")
            .fetch_all(tx.on())
            .await?;
        for row in &keys {
            let (kid, sealed) = pair(row, "kid", "private_key")?;
            match reseal(SealedItem::SigningKey { kid: &kid }, &sealed) {
                Ok(Some(fresh)) => {
                    query("UPDATE signing_keys SET private_key = $2 WHERE kid = $1")
                        .bind(&kid)
                        .bind(fresh.as_slice())
                        .execute(tx.on())
                        .await?;
                    done.signing_keys += 1;
                }
                Ok(None) => done.unchanged += 1,
                Err(e) => return Err(StoreError::Corrupt(format!("signing key {kid}: {e}"))),
            }
        }
        let secrets = query("SELECT name, sealed FROM sealed_secrets ORDER BY name")
            .fetch_all(tx.on())
            .await?;
        for row in &secrets {
            let (name, sealed) = pair(row, "name", "sealed")?;
            match reseal(SealedItem::Secret { name: &name }, &sealed) {
                Ok(Some(fresh)) => {
                    query("UPDATE sealed_secrets SET sealed = $2 WHERE name = $1")
                        .bind(&name)
                        .bind(fresh.as_slice())
                        .execute(tx.on())
                        .await?;
                    done.secrets += 1;
                }
                Ok(None) => done.unchanged += 1,
                Err(e) => return Err(StoreError::Corrupt(format!("sealed secret {name}: {e}"))),
            }
        }
        tx.commit().await?;
        Ok(done)
    }
}

fn pair(row: &Row, name: &str, blob: &str) -> Result<(String, Vec<u8>), StoreError> {
    Ok((row.get(name)?, row.get(blob)?))
}
