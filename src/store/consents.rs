//! Consent remembered per account and client: one row per scope granted so far, and
//! one per claim granted by name (OIDC Core section 5.5), so a grant adds rows and
//! never rewrites what another grant wrote.

use super::db::{Db, Query, query};

use super::StoreError;
use crate::ids::{AccountId, ClientId};

/// What an account has granted a client so far, in no order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Granted {
    pub scopes: Vec<String>,
    pub claims: Vec<String>,
}

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

    /// The scopes and claims this account has granted to this client (none if it
    /// never consented), in one statement.
    pub async fn granted(
        &self,
        account: &AccountId,
        client: &ClientId,
    ) -> Result<Granted, StoreError> {
        let rows = query(
            "SELECT 0 AS claim, scope AS name FROM consents \
             WHERE account_id = $1 AND client_id = $2 \
             UNION ALL SELECT 1 AS claim, claim AS name FROM consent_claims \
             WHERE account_id = $1 AND client_id = $2",
        )
        .bind(account.as_str())
        .bind(client.as_str())
        .fetch_all(self.db.read())
        .await?;
        let mut granted = Granted::default();
        for r in &rows {
            let name: String = r.get("name")?;
            match r.get::<i64>("claim")? {
                0 => granted.scopes.push(name),
                _ => granted.claims.push(name),
            }
        }
        Ok(granted)
    }

    /// Adds `scopes` and `claims` to what the account has granted the client, with no
    /// read before: grants made at the same time all count. A scope or claim granted
    /// before keeps the time it was first granted. One statement for scopes alone (the
    /// common case); with claims, one transaction.
    pub async fn grant(
        &self,
        account: &AccountId,
        client: &ClientId,
        scopes: &[&str],
        claims: &[&str],
        now: i64,
    ) -> Result<(), StoreError> {
        // One row of values per name ($4 on); a few shapes, each prepared once.
        let insert = |table: &str, column: &str, names: &[&str]| {
            let rows: Vec<String> = (0..names.len())
                .map(|i| format!("($1, $2, ${}, $3)", i + 4))
                .collect();
            format!(
                "INSERT INTO {table} (account_id, client_id, {column}, granted_at) VALUES {} \
                 ON CONFLICT (account_id, client_id, {column}) DO NOTHING",
                rows.join(", ")
            )
        };
        fn statement<'q>(
            sql: &'q str,
            account: &'q AccountId,
            client: &'q ClientId,
            names: &[&'q str],
            now: i64,
        ) -> Query<'q> {
            let mut statement = query(sql)
                .bind(account.as_str())
                .bind(client.as_str())
                .bind(now);
            for name in names {
                statement = statement.bind(*name);
            }
            statement
        }
        let scopes_sql = insert("consents", "scope", scopes);
        if claims.is_empty() {
            if !scopes.is_empty() {
                statement(&scopes_sql, account, client, scopes, now)
                    .execute(self.db.write())
                    .await?;
            }
            return Ok(());
        }
        let claims_sql = insert("consent_claims", "claim", claims);
        let mut tx = self.db.begin().await?;
        if !scopes.is_empty() {
            statement(&scopes_sql, account, client, scopes, now)
                .execute(tx.on())
                .await?;
        }
        statement(&claims_sql, account, client, claims, now)
            .execute(tx.on())
            .await?;
        tx.commit().await?;
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

    /// Forgets every scope and claim the account granted the client, in one
    /// transaction; answers how many scopes there were.
    pub async fn withdraw(
        &self,
        account: &AccountId,
        client: &ClientId,
    ) -> Result<u64, StoreError> {
        let mut tx = self.db.begin().await?;
        let scopes = query("DELETE FROM consents WHERE account_id = $1 AND client_id = $2")
            .bind(account.as_str())
            .bind(client.as_str())
            .execute(tx.on())
            .await?;
        query("DELETE FROM consent_claims WHERE account_id = $1 AND client_id = $2")
            .bind(account.as_str())
            .bind(client.as_str())
            .execute(tx.on())
            .await?;
        tx.commit().await?;
        Ok(scopes)
    }
}
