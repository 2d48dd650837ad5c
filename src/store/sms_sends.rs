//! Text messages sent by `sms_otp` sources (the repository behind
//! `sources::sms_otp`): one row per message, so that every node sees the same
//! "not again within a minute" and hourly limits. The number is stored as its hash.

use super::StoreError;
use super::db::{Db, query};

/// The limits a send must stay within.
#[derive(Debug, Clone, Copy)]
pub struct SendLimits {
    /// No second message to the same number within this many seconds.
    pub min_interval_secs: i64,
    /// Messages to one number per hour.
    pub per_number_per_hour: i64,
    /// Messages from one source per hour (against SMS pumping).
    pub per_source_per_hour: i64,
}

/// The answer of [`SmsSends::reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// Recorded: the message may go.
    Granted,
    /// A message went to this number less than `min_interval_secs` ago.
    TooSoon,
    /// This number had its hourly share.
    NumberLimit,
    /// The source had its hourly share.
    SourceLimit,
}

pub struct SmsSends<'a> {
    db: &'a Db,
}

impl<'a> SmsSends<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        SmsSends { db }
    }

    /// Records a send if it is within the limits, in one statement (on SQLite the one
    /// writer makes it atomic; on PostgreSQL two nodes racing for the same number in the
    /// same instant may both pass, which costs one message, not a bypass of the limit).
    pub async fn reserve(
        &self,
        source_id: &str,
        number_hash: &str,
        limits: SendLimits,
        now: i64,
    ) -> Result<Reserved, StoreError> {
        let inserted = query(
            "INSERT INTO sms_sends (source_id, number_hash, sent_at) \
             SELECT $1, $2, $3 WHERE \
             NOT EXISTS (SELECT 1 FROM sms_sends WHERE number_hash = $2 AND sent_at > $3 - $4) \
             AND (SELECT COUNT(*) FROM sms_sends WHERE number_hash = $2 AND sent_at > $3 - 3600) < $5 \
             AND (SELECT COUNT(*) FROM sms_sends WHERE source_id = $1 AND sent_at > $3 - 3600) < $6",
        )
        .bind(source_id)
        .bind(number_hash)
        .bind(now)
        .bind(limits.min_interval_secs)
        .bind(limits.per_number_per_hour)
        .bind(limits.per_source_per_hour)
        .execute(self.db.write())
        .await?;
        if inserted == 1 {
            return Ok(Reserved::Granted);
        }
        let row = query(
            "SELECT \
             (SELECT COUNT(*) FROM sms_sends WHERE number_hash = $1 AND sent_at > $2 - $3) AS recent, \
             (SELECT COUNT(*) FROM sms_sends WHERE number_hash = $1 AND sent_at > $2 - 3600) AS hourly",
        )
        .bind(number_hash)
        .bind(now)
        .bind(limits.min_interval_secs)
        .fetch_one(self.db.read())
        .await?;
        let recent: i64 = row.get("recent")?;
        let hourly: i64 = row.get("hourly")?;
        Ok(if recent > 0 {
            Reserved::TooSoon
        } else if hourly >= limits.per_number_per_hour {
            Reserved::NumberLimit
        } else {
            Reserved::SourceLimit
        })
    }

    /// Forgets a send recorded at `sent_at` that did not go (the gateway failed).
    pub async fn release(&self, number_hash: &str, sent_at: i64) -> Result<(), StoreError> {
        query("DELETE FROM sms_sends WHERE number_hash = $1 AND sent_at = $2")
            .bind(number_hash)
            .bind(sent_at)
            .execute(self.db.write())
            .await?;
        Ok(())
    }
}
