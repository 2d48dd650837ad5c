//! Pairwise subject identifiers issued, so a pairwise `sub` leads back to its account.

use super::Pools;

use super::StoreError;
use crate::ids::AccountId;

pub struct PairwiseSubjects<'a> {
    pools: &'a Pools,
}

impl<'a> PairwiseSubjects<'a> {
    pub(super) fn new(pools: &'a Pools) -> Self {
        PairwiseSubjects { pools }
    }

    pub async fn record(
        &self,
        sector: &str,
        subject: &str,
        account: &AccountId,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pairwise_subjects (sector, subject, account_id) VALUES ($1, $2, $3) \
             ON CONFLICT (sector, subject) DO NOTHING",
        )
        .bind(sector)
        .bind(subject)
        .bind(account.as_str())
        .execute(&self.pools.write)
        .await?;
        Ok(())
    }

    pub async fn account(
        &self,
        sector: &str,
        subject: &str,
    ) -> Result<Option<AccountId>, StoreError> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT account_id FROM pairwise_subjects WHERE sector = $1 AND subject = $2",
        )
        .bind(sector)
        .bind(subject)
        .fetch_optional(&self.pools.read)
        .await?;
        Ok(id.map(AccountId::new))
    }
}
