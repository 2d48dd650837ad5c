//! Passkeys registered to accounts (`sources::webauthn` signs in with them, `/account`
//! lists, renames and removes them). The credential is webauthn-rs's serialised
//! `Passkey`, opaque here; the credential id is unique across accounts.

use super::db::{Db, Row, query};

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    pub id: String,
    pub account_id: String,
    /// base64url, as the authenticator names it.
    pub credential_id: String,
    pub user_handle: String,
    /// The serialised credential (JSON).
    pub credential: String,
    pub name: String,
    pub counter: i64,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "id, account_id, credential_id, user_handle, credential, name, counter, \
                       backup_eligible, backup_state, created_at, last_used_at";

fn passkey_from(r: &Row) -> Result<StoredPasskey, StoreError> {
    Ok(StoredPasskey {
        id: r.get("id")?,
        account_id: r.get("account_id")?,
        credential_id: r.get("credential_id")?,
        user_handle: r.get("user_handle")?,
        credential: r.get("credential")?,
        name: r.get("name")?,
        counter: r.get("counter")?,
        backup_eligible: r.get("backup_eligible")?,
        backup_state: r.get("backup_state")?,
        created_at: r.get("created_at")?,
        last_used_at: r.get("last_used_at")?,
    })
}

pub struct Passkeys<'a> {
    db: &'a Db,
}

impl<'a> Passkeys<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Passkeys { db }
    }

    /// Registers a passkey and, once per account, the login (`source_id`, user handle)
    /// it signs in as, in one transaction. A credential id already registered (to any
    /// account) is a `Conflict`.
    pub async fn insert(&self, p: &StoredPasskey, source_id: &str) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        query(&format!(
            "INSERT INTO passkeys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(&p.id)
        .bind(&p.account_id)
        .bind(&p.credential_id)
        .bind(&p.user_handle)
        .bind(&p.credential)
        .bind(&p.name)
        .bind(p.counter)
        .bind(p.backup_eligible)
        .bind(p.backup_state)
        .bind(p.created_at)
        .bind(p.last_used_at)
        .execute(tx.on())
        .await?;
        query(
            "INSERT INTO identities (id, account_id, source_id, subject, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source_id, subject) DO NOTHING",
        )
        .bind(crate::ids::new_uuid())
        .bind(&p.account_id)
        .bind(source_id)
        .bind(&p.user_handle)
        .bind(p.created_at)
        .execute(tx.on())
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn by_credential_id(
        &self,
        credential_id: &str,
    ) -> Result<Option<StoredPasskey>, StoreError> {
        query(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1"
        ))
        .bind(credential_id)
        .fetch_optional(self.db.read())
        .await?
        .map(|r| passkey_from(&r))
        .transpose()
    }

    /// The account's passkeys, oldest first.
    pub async fn of_account(&self, account_id: &str) -> Result<Vec<StoredPasskey>, StoreError> {
        query(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE account_id = $1 ORDER BY created_at, id"
        ))
        .bind(account_id)
        .fetch_all(self.db.read())
        .await?
        .iter()
        .map(passkey_from)
        .collect()
    }

    /// After a sign-in: the credential as updated (counter, backup flags) and the time.
    pub async fn record_use(
        &self,
        id: &str,
        credential: &str,
        counter: i64,
        backup_eligible: bool,
        backup_state: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        query(
            "UPDATE passkeys SET credential = $2, counter = $3, backup_eligible = $4, \
             backup_state = $5, last_used_at = $6 WHERE id = $1",
        )
        .bind(id)
        .bind(credential)
        .bind(counter)
        .bind(backup_eligible)
        .bind(backup_state)
        .bind(now)
        .execute(self.db.write())
        .await?;
        Ok(())
    }

    /// Renames one of the account's passkeys; false when it has no such passkey.
    pub async fn rename(&self, account_id: &str, id: &str, name: &str) -> Result<bool, StoreError> {
        let changed = query("UPDATE passkeys SET name = $3 WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(id)
            .bind(name)
            .execute(self.db.write())
            .await?;
        Ok(changed == 1)
    }

    /// Removes one of the account's passkeys; false when it has no such passkey.
    pub async fn remove(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        let removed = query("DELETE FROM passkeys WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(id)
            .execute(self.db.write())
            .await?;
        Ok(removed == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewAccount, Store, StoreError};

    fn passkey(id: &str, account: &str, credential_id: &str) -> StoredPasskey {
        StoredPasskey {
            id: id.into(),
            account_id: account.into(),
            credential_id: credential_id.into(),
            user_handle: "6f1c0c39-7c1b-4a57-9d0e-2b1f3f0e8a11".into(),
            credential: "{}".into(),
            name: "Laptop".into(),
            counter: 0,
            backup_eligible: false,
            backup_state: false,
            created_at: 10,
            last_used_at: None,
        }
    }

    #[tokio::test]
    async fn passkeys_are_one_per_credential_id_and_belong_to_their_account() {
        let store = Store::in_memory().await;
        let new = NewAccount::default();
        let a = store
            .accounts()
            .create_with_password(&new, "password", "mai", "hash", 1)
            .await
            .unwrap();
        let b = store
            .accounts()
            .create_with_password(&new, "password", "lan", "hash", 1)
            .await
            .unwrap();
        let keys = store.passkeys();
        keys.insert(&passkey("p1", a.as_str(), "cred-1"), "passkey")
            .await
            .unwrap();
        // The same credential id again, even for another account, is refused.
        let again = keys
            .insert(&passkey("p2", b.as_str(), "cred-1"), "passkey")
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

        keys.record_use("p1", "{\"updated\":1}", 7, true, true, 50)
            .await
            .unwrap();
        let found = keys.by_credential_id("cred-1").await.unwrap().unwrap();
        assert_eq!(
            (found.counter, found.backup_eligible, found.backup_state),
            (7, true, true)
        );
        assert_eq!(found.last_used_at, Some(50));
        assert_eq!(found.credential, "{\"updated\":1}");

        // Another account can neither rename nor remove it.
        assert!(!keys.rename(b.as_str(), "p1", "Mine").await.unwrap());
        assert!(!keys.remove(b.as_str(), "p1").await.unwrap());
        assert!(keys.rename(a.as_str(), "p1", "Điện thoại").await.unwrap());
        let listed = keys.of_account(a.as_str()).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, "Điện thoại");
        assert!(keys.of_account(b.as_str()).await.unwrap().is_empty());
        assert!(keys.remove(a.as_str(), "p1").await.unwrap());
        assert!(keys.by_credential_id("cred-1").await.unwrap().is_none());
    }
}
