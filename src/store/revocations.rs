//! The deny list: revoked access tokens (`jti:...`) and grants (`grant:...`), each kept
//! until every token it covers has expired.

use super::db::{Db, query};

use super::StoreError;

pub struct Revocations<'a> {
    db: &'a Db,
}

pub fn jti_key(jti: &str) -> String {
    format!("jti:{jti}")
}

pub fn grant_key(grant: &str) -> String {
    format!("grant:{grant}")
}

/// Every access token issued under a session that ended (by the `sid` its client got).
pub fn sid_key(sid: &str) -> String {
    format!("sid:{sid}")
}

impl<'a> Revocations<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Revocations { db }
    }

    pub async fn revoke(&self, key: &str, now: i64, expires_at: i64) -> Result<(), StoreError> {
        query(
            "INSERT INTO revocations (revoked_key, revoked_at, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (revoked_key) DO UPDATE SET expires_at = \
             CASE WHEN revocations.expires_at > $3 THEN revocations.expires_at ELSE $3 END",
        )
        .bind(key)
        .bind(now)
        .bind(expires_at)
        .execute(self.db.write())
        .await?;
        Ok(())
    }

    /// Whether a token with this `jti`, grant and `sid` is revoked: one indexed lookup.
    pub async fn any_revoked(
        &self,
        jti: &str,
        grant: Option<&str>,
        sid: Option<&str>,
    ) -> Result<bool, StoreError> {
        let found =
            query("SELECT 1 AS found FROM revocations WHERE revoked_key IN ($1, $2, $3) LIMIT 1")
                .bind(jti_key(jti))
                .bind(grant.map(grant_key).unwrap_or_default())
                .bind(sid.map(sid_key).unwrap_or_default())
                .fetch_optional(self.db.read())
                .await?;
        Ok(found.is_some())
    }
}
