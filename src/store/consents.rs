//! Consent remembered per account and client: the set of scopes granted so far.

use super::Pools;

use super::StoreError;
use crate::ids::{AccountId, ClientId};

pub struct Consents<'a> {
    pools: &'a Pools,
}

impl<'a> Consents<'a> {
    pub(super) fn new(pools: &'a Pools) -> Self {
        Consents { pools }
    }

    /// The scopes this account has granted to this client (space-separated), if any.
    pub async fn granted(
        &self,
        account: &AccountId,
        client: &ClientId,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT scope FROM consents WHERE account_id = $1 AND client_id = $2",
        )
        .bind(account.as_str())
        .bind(client.as_str())
        .fetch_optional(&self.pools.read)
        .await?)
    }

    /// Stores the scopes now granted (the caller passes the union with earlier grants).
    pub async fn grant(
        &self,
        account: &AccountId,
        client: &ClientId,
        scope: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO consents (account_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, client_id) DO UPDATE SET scope = $3, granted_at = $4",
        )
        .bind(account.as_str())
        .bind(client.as_str())
        .bind(scope)
        .bind(now)
        .execute(&self.pools.write)
        .await?;
        Ok(())
    }
}
