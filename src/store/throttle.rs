//! Failure counters for brute-force protection (the repository behind
//! `login::throttle` and the token endpoint's client authentication). One row per key
//! (an account at a source, a client address, a `client_id`), shared by every node.
//! Each change is one statement. [`Throttle::claim`] counts an attempt before it runs
//! and answers whether it may, in one upsert whose `WHERE` refuses a blocked key, so two
//! nodes (or two requests) cannot both read "one try left" and both try;
//! [`Throttle::record`] counts a failure after the fact, in one upsert with the window.

use super::StoreError;
use super::db::{Db, query};
use crate::config::{BruteForceConfig, Limits};

/// The answer of [`Throttle::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Counted: the key's failures in the window, this one included.
    Counted { failures: i64 },
    /// The key is locked or backing off until then (unix seconds); nothing counted.
    /// `first`: the first attempt refused in this block (the one to audit).
    Blocked { until: i64, first: bool },
}

pub struct Throttle<'a> {
    db: &'a Db,
}

/// The failures after this attempt: one if the window since the run's first failure
/// has passed, else one more.
const NEXT: &str =
    "(CASE WHEN throttle.window_start <= $2 - $3 THEN 1 ELSE throttle.failures + 1 END)";

/// The delay (seconds) after `failures` failures, as `BruteForceConfig::delay_after`:
/// nothing below `backoff_after` ($4), then `first_delay` ($7) doubled per further
/// failure up to `max_delay` ($8), and `lock_duration` ($6) from `lock_after` ($5).
/// `first_delay` is at most an hour (12 bits), so a shift below 30 stays in range.
fn delay_sql(failures: &str) -> String {
    format!(
        "(CASE WHEN {failures} >= $5 THEN $6 \
         WHEN {failures} >= $4 THEN (CASE \
           WHEN {failures} - $4 >= 30 THEN $8 \
           WHEN $7 * (CAST(1 AS BIGINT) << CAST({failures} - $4 AS INTEGER)) > $8 THEN $8 \
           ELSE $7 * (CAST(1 AS BIGINT) << CAST({failures} - $4 AS INTEGER)) END) \
         ELSE 0 END)"
    )
}

/// The upsert that counts one more failure. `claim`: only if the key is not blocked
/// now (else nothing is written and nothing returned); otherwise always, never
/// shortening a block already set.
fn count_sql(claim: bool) -> String {
    let delay = delay_sql(NEXT);
    let blocked_until = if claim {
        format!("$2 + {delay}")
    } else {
        format!(
            "CASE WHEN throttle.blocked_until > $2 + {delay} THEN throttle.blocked_until \
             ELSE $2 + {delay} END"
        )
    };
    let only_unblocked = if claim {
        "WHERE throttle.blocked_until <= $2 "
    } else {
        ""
    };
    format!(
        "INSERT INTO throttle (key, failures, window_start, blocked_until, expires_at) \
         VALUES ($1, 1, $2, $2 + $9, $2 + $3 + $9) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = {NEXT}, \
           window_start = CASE WHEN throttle.window_start <= $2 - $3 THEN $2 \
             ELSE throttle.window_start END, \
           blocked_until = {blocked_until}, \
           expires_at = $2 + $3 + {delay} \
         {only_unblocked}RETURNING failures"
    )
}

impl<'a> Throttle<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Throttle { db }
    }

    /// Counts an attempt at `key` unless the key is blocked now, and blocks it for the
    /// delay its new count calls for (nothing, a back-off, or the lock).
    pub async fn claim(
        &self,
        key: &str,
        limits: Limits,
        policy: &BruteForceConfig,
        now: i64,
    ) -> Result<Claim, StoreError> {
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = SQL.get_or_init(|| count_sql(true));
        match self.count(sql, key, limits, policy, now).await? {
            Some(failures) => Ok(Claim::Counted { failures }),
            None => self.refused(key, now).await,
        }
    }

    /// Counts a failure that has happened (a check that already ran), blocked or not;
    /// answers the failures in the window.
    pub async fn record(
        &self,
        key: &str,
        limits: Limits,
        policy: &BruteForceConfig,
        now: i64,
    ) -> Result<i64, StoreError> {
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = SQL.get_or_init(|| count_sql(false));
        let failures = self.count(sql, key, limits, policy, now).await?;
        failures.ok_or_else(|| StoreError::Database("the failure count returned no row".into()))
    }

    /// The key's failures in the window and the end of its block (0: none), as they are.
    pub async fn status(
        &self,
        key: &str,
        policy: &BruteForceConfig,
        now: i64,
    ) -> Result<(i64, i64), StoreError> {
        let row = query(
            "SELECT CASE WHEN window_start <= $2 - $3 THEN 0 ELSE failures END AS failures, \
             blocked_until FROM throttle WHERE key = $1",
        )
        .bind(key)
        .bind(now)
        .bind(policy.window.as_secs() as i64)
        .fetch_optional(self.db.read())
        .await?;
        match row {
            Some(r) => Ok((r.get("failures")?, r.get("blocked_until")?)),
            None => Ok((0, 0)),
        }
    }

    async fn count(
        &self,
        sql: &str,
        key: &str,
        limits: Limits,
        policy: &BruteForceConfig,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let counted = query(sql)
            .bind(key)
            .bind(now)
            .bind(policy.window.as_secs() as i64)
            .bind(i64::from(limits.backoff_after))
            .bind(i64::from(limits.lock_after))
            .bind(policy.lock_duration.as_secs() as i64)
            .bind(policy.first_delay.as_secs() as i64)
            .bind(policy.max_delay.as_secs() as i64)
            .bind(policy.delay_after(limits, 1) as i64)
            .fetch_optional(self.db.write())
            .await?;
        counted.map(|row| row.get("failures")).transpose()
    }

    /// A refused attempt: when the block ends, and whether it is the first refused in
    /// it (marked in the same statement, so one node audits it).
    pub async fn refused(&self, key: &str, now: i64) -> Result<Claim, StoreError> {
        let first = query(
            "UPDATE throttle SET audited_until = blocked_until \
             WHERE key = $1 AND blocked_until > $2 AND audited_until < blocked_until \
             RETURNING blocked_until",
        )
        .bind(key)
        .bind(now)
        .fetch_optional(self.db.write())
        .await?;
        if let Some(row) = first {
            return Ok(Claim::Blocked {
                until: row.get("blocked_until")?,
                first: true,
            });
        }
        // Blocked, or (rarely) unblocked again since: either way this one waits.
        Ok(Claim::Blocked {
            until: self.blocked_until(key, now).await?.unwrap_or(now + 1),
            first: false,
        })
    }

    /// When the key's block ends, if it is blocked now.
    pub async fn blocked_until(&self, key: &str, now: i64) -> Result<Option<i64>, StoreError> {
        query("SELECT blocked_until FROM throttle WHERE key = $1 AND blocked_until > $2")
            .bind(key)
            .bind(now)
            .fetch_optional(self.db.read())
            .await?
            .map(|r| r.get("blocked_until"))
            .transpose()
    }

    /// Takes back an attempt [`Throttle::claim`] counted that then checked nothing (an
    /// empty field, an outage): one failure less, and the block the claim set lifted
    /// (the key was not blocked before it).
    pub async fn refund(&self, key: &str, now: i64) -> Result<(), StoreError> {
        query(
            "UPDATE throttle SET failures = failures - 1, blocked_until = $2 \
             WHERE key = $1 AND failures > 0",
        )
        .bind(key)
        .bind(now)
        .execute(self.db.write())
        .await?;
        Ok(())
    }

    /// Forgets the key's failures (a successful login resets its account's count).
    pub async fn reset(&self, key: &str) -> Result<(), StoreError> {
        query("DELETE FROM throttle WHERE key = $1")
            .bind(key)
            .execute(self.db.write())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::Store;

    #[tokio::test]
    async fn claims_back_off_then_lock_and_the_window_forgets() {
        let store = Store::in_memory().await;
        let policy = Config::from_parts("", &[]).unwrap().brute_force;
        let t = store.throttle();
        let limits = policy.account;
        let mut now = 1_000_000;
        for n in 1..=10 {
            assert_eq!(
                t.claim("k", limits, &policy, now).await.unwrap(),
                Claim::Counted { failures: n }
            );
            let delay = policy.delay_after(limits, n as u32) as i64;
            if delay > 0 {
                assert_eq!(
                    t.claim("k", limits, &policy, now).await.unwrap(),
                    Claim::Blocked {
                        until: now + delay,
                        first: true
                    },
                    "after failure {n}"
                );
            }
            now += delay;
        }
        // Locked: now is the lock's end; a second before it, still blocked, and not the
        // block's first refusal (the loop saw that one).
        assert_eq!(
            t.claim("k", limits, &policy, now - 1).await.unwrap(),
            Claim::Blocked {
                until: now,
                first: false
            }
        );
        // The lock is over and the window has passed: the count starts again.
        assert_eq!(
            t.claim("k", limits, &policy, now).await.unwrap(),
            Claim::Counted { failures: 1 }
        );
        t.refund("k", now).await.unwrap();
        assert_eq!(
            t.claim("k", limits, &policy, now).await.unwrap(),
            Claim::Counted { failures: 1 }
        );
        t.reset("k").await.unwrap();
        assert_eq!(t.blocked_until("k", now).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_recorded_failure_counts_in_the_window_and_never_shortens_a_lock() {
        let store = Store::in_memory().await;
        let policy = Config::from_parts("", &[]).unwrap().brute_force;
        let t = store.throttle();
        let limits = policy.account;
        let start = 1_000_000;
        for n in 1..=10 {
            assert_eq!(t.record("k", limits, &policy, start).await.unwrap(), n);
        }
        let lock_end = start + policy.lock_duration.as_secs() as i64;
        assert_eq!(t.status("k", &policy, start).await.unwrap(), (10, lock_end));
        // A failure that lands after the window, while the lock holds: a new run of one,
        // the lock kept.
        let later = start + policy.window.as_secs() as i64;
        assert_eq!(t.record("k", limits, &policy, later).await.unwrap(), 1);
        assert_eq!(t.status("k", &policy, later).await.unwrap(), (1, lock_end));
        assert_eq!(t.status("other", &policy, later).await.unwrap(), (0, 0));
    }
}
