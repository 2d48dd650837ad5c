//! Login attempts in progress at multi-step identity sources (the repository behind
//! `login::attempts`; no other module uses it). Every change is one statement: the try
//! counter is capped in SQL, an attempt is taken with `DELETE ... RETURNING`.

use super::db::{Db, Row, query};

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    pub handle_hash: String,
    pub source_id: String,
    pub return_to: String,
    pub browser_binding: String,
    pub sealed_state: Vec<u8>,
    pub attempts: i64,
    pub expires_at: i64,
}

/// The answer of [`LoginAttempts::count_try`].
#[derive(Debug)]
pub enum Tried {
    /// Counted; the attempt as it now is.
    Counted(LoginAttempt),
    /// It had used every try, or expired: it is deleted now.
    Exhausted,
    Expired,
    /// No such attempt (finished, replayed, or never begun).
    Missing,
}

const COLUMNS: &str =
    "handle_hash, source_id, return_to, browser_binding, sealed_state, attempts, expires_at";

fn attempt_from(r: &Row) -> Result<LoginAttempt, StoreError> {
    Ok(LoginAttempt {
        handle_hash: r.get("handle_hash")?,
        source_id: r.get("source_id")?,
        return_to: r.get("return_to")?,
        browser_binding: r.get("browser_binding")?,
        sealed_state: r.get("sealed_state")?,
        attempts: r.get("attempts")?,
        expires_at: r.get("expires_at")?,
    })
}

pub struct LoginAttempts<'a> {
    db: &'a Db,
}

impl<'a> LoginAttempts<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        LoginAttempts { db }
    }

    pub async fn insert(&self, a: &LoginAttempt, now: i64) -> Result<(), StoreError> {
        query(
            "INSERT INTO login_attempts (handle_hash, source_id, return_to, browser_binding, \
             sealed_state, attempts, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&a.handle_hash)
        .bind(&a.source_id)
        .bind(&a.return_to)
        .bind(&a.browser_binding)
        .bind(a.sealed_state.as_slice())
        .bind(a.attempts)
        .bind(now)
        .bind(a.expires_at)
        .execute(self.db.write())
        .await?;
        Ok(())
    }

    /// Takes the attempt out, once: a second take of the same handle finds nothing.
    /// Expired attempts are taken too (and answered `None`).
    pub async fn take(
        &self,
        handle_hash: &str,
        now: i64,
    ) -> Result<Option<LoginAttempt>, StoreError> {
        let sql = format!("DELETE FROM login_attempts WHERE handle_hash = $1 RETURNING {COLUMNS}");
        let taken = query(&sql)
            .bind(handle_hash)
            .fetch_optional(self.db.write())
            .await?
            .map(|r| attempt_from(&r))
            .transpose()?;
        Ok(taken.filter(|a| a.expires_at > now))
    }

    /// Counts one more try at the attempt's current step, unless it has had `max`
    /// already or has expired; then it is deleted.
    pub async fn count_try(
        &self,
        handle_hash: &str,
        max: i64,
        now: i64,
    ) -> Result<Tried, StoreError> {
        let counted = query(
            "UPDATE login_attempts SET attempts = attempts + 1 \
             WHERE handle_hash = $1 AND attempts < $2 AND expires_at > $3 \
             RETURNING handle_hash, source_id, return_to, browser_binding, sealed_state, \
             attempts, expires_at",
        )
        .bind(handle_hash)
        .bind(max)
        .bind(now)
        .fetch_optional(self.db.write())
        .await?;
        if let Some(row) = counted {
            return Ok(Tried::Counted(attempt_from(&row)?));
        }
        Ok(match self.delete(handle_hash).await? {
            None => Tried::Missing,
            Some((_, expires_at)) if expires_at <= now => Tried::Expired,
            Some(_) => Tried::Exhausted,
        })
    }

    /// Deletes the attempt (a failure ends it); answers its tries and expiry if it was
    /// there.
    pub async fn delete(&self, handle_hash: &str) -> Result<Option<(i64, i64)>, StoreError> {
        query("DELETE FROM login_attempts WHERE handle_hash = $1 RETURNING attempts, expires_at")
            .bind(handle_hash)
            .fetch_optional(self.db.write())
            .await?
            .map(|r| Ok((r.get("attempts")?, r.get("expires_at")?)))
            .transpose()
    }

    /// The live attempts' sealed states, with their expiry (for `portico keys
    /// drop-old-master`, which must not drop a key that live attempts are sealed under).
    pub async fn live_sealed(&self, now: i64) -> Result<Vec<(String, Vec<u8>, i64)>, StoreError> {
        query(
            "SELECT handle_hash, sealed_state, expires_at FROM login_attempts \
             WHERE expires_at > $1",
        )
        .bind(now)
        .fetch_all(self.db.read())
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.get("handle_hash")?,
                r.get("sealed_state")?,
                r.get("expires_at")?,
            ))
        })
        .collect()
    }
}
