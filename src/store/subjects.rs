//! Pairwise subject identifiers issued, so a pairwise `sub` leads back to its account.

use super::db::{Db, query};

use super::StoreError;
use crate::ids::AccountId;

pub struct PairwiseSubjects<'a> {
    db: &'a Db,
}

impl<'a> PairwiseSubjects<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        PairwiseSubjects { db }
    }

    pub async fn record(
        &self,
        sector: &str,
        subject: &str,
        account: &AccountId,
    ) -> Result<(), StoreError> {
        query(
            "INSERT INTO pairwise_subjects (sector, subject, account_id) VALUES ($1, $2, $3) \
             ON CONFLICT (sector, subject) DO NOTHING",
        )
        .bind(sector)
        .bind(subject)
        .bind(account.as_str())
        .execute(self.db.write())
        .await?;
        Ok(())
    }

    pub async fn account(
        &self,
        sector: &str,
        subject: &str,
    ) -> Result<Option<AccountId>, StoreError> {
        let found =
            query("SELECT account_id FROM pairwise_subjects WHERE sector = $1 AND subject = $2")
                .bind(sector)
                .bind(subject)
                .fetch_optional(self.db.read())
                .await?;
        Ok(found
            .map(|r| r.get::<String>("account_id"))
            .transpose()?
            .map(AccountId::new))
    }
}
