//! Text messages sent by `sms_otp` sources (the repository behind
//! `sources::sms_otp`): one row per message, so that every node sees the same
//! "not again within a minute" and hourly limits. The number and the client's address
//! are stored as their hashes.

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
    /// Messages asked from one client address per hour, whatever the number (one
    /// machine pumping messages to many numbers).
    pub per_address_per_hour: i64,
}

/// Who a message is for and who asked for it, as hashes.
#[derive(Debug, Clone, Copy)]
pub struct SendKey<'a> {
    pub source_id: &'a str,
    /// SHA-256 (base64url) of the E.164 number.
    pub number_hash: &'a str,
    /// SHA-256 (base64url) of the client's address as counted
    /// (`model::address::counted_as`); `None` when the address is unknown, which only
    /// the per-number and per-source limits then bound.
    pub address_hash: Option<&'a str>,
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
    /// The client's address had its hourly share.
    AddressLimit,
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
        key: SendKey<'_>,
        limits: SendLimits,
        now: i64,
    ) -> Result<Reserved, StoreError> {
        let SendKey {
            source_id,
            number_hash,
            address_hash,
        } = key;
        // An unknown address is bound as the empty text, which no hash is: it counts
        // nothing and is stored as NULL.
        let address = address_hash.unwrap_or_default();
        let inserted = query(
            "INSERT INTO sms_sends (source_id, number_hash, address_hash, sent_at) \
             SELECT $1, $2, NULLIF($7, ''), $3 WHERE \
             NOT EXISTS (SELECT 1 FROM sms_sends WHERE number_hash = $2 AND sent_at > $3 - $4) \
             AND (SELECT COUNT(*) FROM sms_sends WHERE number_hash = $2 AND sent_at > $3 - 3600) < $5 \
             AND (SELECT COUNT(*) FROM sms_sends WHERE source_id = $1 AND sent_at > $3 - 3600) < $6 \
             AND (SELECT COUNT(*) FROM sms_sends WHERE address_hash = $7 AND sent_at > $3 - 3600) < $8",
        )
        .bind(source_id)
        .bind(number_hash)
        .bind(now)
        .bind(limits.min_interval_secs)
        .bind(limits.per_number_per_hour)
        .bind(limits.per_source_per_hour)
        .bind(address)
        .bind(limits.per_address_per_hour)
        .execute(self.db.write())
        .await?;
        if inserted == 1 {
            return Ok(Reserved::Granted);
        }
        let row = query(
            "SELECT \
             (SELECT COUNT(*) FROM sms_sends WHERE number_hash = $1 AND sent_at > $2 - $3) AS recent, \
             (SELECT COUNT(*) FROM sms_sends WHERE number_hash = $1 AND sent_at > $2 - 3600) AS hourly, \
             (SELECT COUNT(*) FROM sms_sends WHERE address_hash = $4 AND sent_at > $2 - 3600) AS by_address",
        )
        .bind(number_hash)
        .bind(now)
        .bind(limits.min_interval_secs)
        .bind(address)
        .fetch_one(self.db.read())
        .await?;
        let recent: i64 = row.get("recent")?;
        let hourly: i64 = row.get("hourly")?;
        let by_address: i64 = row.get("by_address")?;
        Ok(if recent > 0 {
            Reserved::TooSoon
        } else if hourly >= limits.per_number_per_hour {
            Reserved::NumberLimit
        } else if by_address >= limits.per_address_per_hour {
            Reserved::AddressLimit
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
