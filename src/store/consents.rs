//! Consent remembered per account and client: one row per scope granted so far, so a
//! grant adds rows and never rewrites what another grant wrote.

use super::db::{Db, query};

use super::StoreError;
use crate::ids::{AccountId, ClientId};

/// What an account has allowed one portal, for the account page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentSummary {
    pub client_id: String,
    pub client_name: String,
    /// In the order of the scope names.
    pub scopes: Vec<String>,
    /// When the first of them was granted.
    pub since: i64,
}

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

    /// Every portal the account has consented to, by name.
    pub async fn of_account(&self, account: &AccountId) -> Result<Vec<ConsentSummary>, StoreError> {
        let rows = query(
            "SELECT c.client_id, cl.name, c.scope, c.granted_at FROM consents c \
             JOIN clients cl ON cl.client_id = c.client_id WHERE c.account_id = $1 \
             ORDER BY cl.name, c.client_id, c.scope",
        )
        .bind(account.as_str())
        .fetch_all(self.db.read())
        .await?;
        let mut out: Vec<ConsentSummary> = Vec::new();
        for r in &rows {
            let client_id: String = r.get("client_id")?;
            let scope: String = r.get("scope")?;
            let granted_at: i64 = r.get("granted_at")?;
            match out.last_mut() {
                Some(last) if last.client_id == client_id => {
                    last.scopes.push(scope);
                    last.since = last.since.min(granted_at);
                }
                _ => out.push(ConsentSummary {
                    client_id,
                    client_name: r.get("name")?,
                    scopes: vec![scope],
                    since: granted_at,
                }),
            }
        }
        Ok(out)
    }

    /// Forgets every scope the account granted the client; answers how many there were.
    pub async fn withdraw(
        &self,
        account: &AccountId,
        client: &ClientId,
    ) -> Result<u64, StoreError> {
        query("DELETE FROM consents WHERE account_id = $1 AND client_id = $2")
            .bind(account.as_str())
            .bind(client.as_str())
            .execute(self.db.write())
            .await
    }
}
