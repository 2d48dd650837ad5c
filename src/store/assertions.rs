//! The replay cache of `private_key_jwt` assertion `jti`s, shared by every node through
//! the database.

use super::db::{Db, query};

use super::StoreError;

pub struct AssertionJtis<'a> {
    db: &'a Db,
}

impl<'a> AssertionJtis<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        AssertionJtis { db }
    }

    /// Records a `jti` until `expires_at`; answers false when it was already seen (a
    /// replay). The primary key makes two concurrent uses of one `jti` succeed once.
    pub async fn first_use(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        query("DELETE FROM assertion_jtis WHERE client_id = $1 AND jti = $2 AND expires_at <= $3")
            .bind(client_id)
            .bind(jti)
            .bind(now)
            .execute(self.db.write())
            .await?;
        match query("INSERT INTO assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3)")
            .bind(client_id)
            .bind(jti)
            .bind(expires_at)
            .execute(self.db.write())
            .await
        {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
