//! Consent remembered per account and client: one row per scope granted so far, so a
//! grant adds rows and never rewrites what another grant wrote.

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

    /// The scopes this account has granted to this client, in no order (none if it
    /// never consented).
    pub async fn granted(
        &self,
        account: &AccountId,
        client: &ClientId,
    ) -> Result<Vec<String>, StoreError> {
        query("SELECT scope FROM consents WHERE account_id = $1 AND client_id = $2")
            .bind(account.as_str())
            .bind(client.as_str())
            .fetch_all(self.db.read())
            .await?
            .iter()
            .map(|r| r.get("scope"))
            .collect()
    }

    /// Adds `scopes` to what the account has granted the client: one statement, with
    /// no read before it, so grants made at the same time all count. A scope granted
    /// before keeps the time it was first granted.
    pub async fn grant(
        &self,
        account: &AccountId,
        client: &ClientId,
        scopes: &[&str],
        now: i64,
    ) -> Result<(), StoreError> {
        if scopes.is_empty() {
            return Ok(());
        }
        // One row of values per scope ($4 on); a few shapes, each prepared once.
        let rows: Vec<String> = (0..scopes.len())
            .map(|i| format!("($1, $2, ${}, $3)", i + 4))
            .collect();
        let sql = format!(
            "INSERT INTO consents (account_id, client_id, scope, granted_at) VALUES {} \
             ON CONFLICT (account_id, client_id, scope) DO NOTHING",
            rows.join(", ")
        );
        let mut statement = query(&sql)
            .bind(account.as_str())
            .bind(client.as_str())
            .bind(now);
        for scope in scopes {
            statement = statement.bind(*scope);
        }
        statement.execute(self.db.write()).await?;
        Ok(())
    }
}
