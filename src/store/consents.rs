//! Consent remembered per account and client: the set of scopes granted so far.

use super::db::{Db, query};

use super::StoreError;
use crate::ids::{AccountId, ClientId};

pub struct Consents<'a> {
    db: &'a Db,
}

impl<'a> Consents<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Consents { db }
    }

    /// The scopes this account has granted to this client (space-separated), if any.
    pub async fn granted(
        &self,
        account: &AccountId,
        client: &ClientId,
    ) -> Result<Option<String>, StoreError> {
        query("SELECT scope FROM consents WHERE account_id = $1 AND client_id = $2")
            .bind(account.as_str())
            .bind(client.as_str())
            .fetch_optional(self.db.read())
            .await?
            .map(|r| r.get("scope"))
            .transpose()
    }

    /// Stores the scopes now granted (the caller passes the union with earlier grants).
    pub async fn grant(
        &self,
        account: &AccountId,
        client: &ClientId,
        scope: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        query(
            "INSERT INTO consents (account_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, client_id) DO UPDATE SET scope = $3, granted_at = $4",
        )
        .bind(account.as_str())
        .bind(client.as_str())
        .bind(scope)
        .bind(now)
        .execute(self.db.write())
        .await?;
        Ok(())
    }
}
