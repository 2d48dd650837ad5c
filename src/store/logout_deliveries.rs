//! The back-channel logout outbox: one row per portal to notify, retried with back-off
//! by whichever node claims it first.

use super::db::{Db, On, query};

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutDelivery {
    pub id: String,
    pub client_id: String,
    pub uri: String,
    pub sid: String,
    pub subject: String,
    pub attempts: i64,
}

pub struct LogoutDeliveries<'a> {
    db: &'a Db,
}

/// A back-channel notice to queue: the portal, its `backchannel_logout_uri`, and the
/// `sid` and `sub` its tokens carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery<'a> {
    pub client_id: &'a str,
    pub uri: &'a str,
    pub sid: &'a str,
    pub subject: &'a str,
}

impl<'a> LogoutDeliveries<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        LogoutDeliveries { db }
    }

    /// Queues a delivery, due now, on `on`: ending a session queues its deliveries in
    /// the transaction that ends it (`Sessions::end`), so none is lost between the two.
    pub(super) async fn enqueue_on(
        &self,
        on: On<'_>,
        delivery: &NewDelivery<'_>,
        now: i64,
    ) -> Result<(), StoreError> {
        query(
            "INSERT INTO logout_deliveries (id, client_id, uri, sid, subject, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $6)",
        )
        .bind(crate::ids::new_uuid())
        .bind(delivery.client_id)
        .bind(delivery.uri)
        .bind(delivery.sid)
        .bind(delivery.subject)
        .bind(now)
        .execute(on)
        .await?;
        Ok(())
    }

    /// Ids of deliveries due now.
    pub async fn due(&self, now: i64, limit: i64) -> Result<Vec<String>, StoreError> {
        query(
            "SELECT id FROM logout_deliveries \
             WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.db.read())
        .await?
        .iter()
        .map(|r| r.get("id"))
        .collect()
    }

    /// Claims a due delivery for `lease` seconds, so that two nodes never send it at
    /// once; answers it if this node won.
    pub async fn claim(
        &self,
        id: &str,
        now: i64,
        lease: i64,
    ) -> Result<Option<LogoutDelivery>, StoreError> {
        query(
            "UPDATE logout_deliveries SET next_attempt_at = $3, attempts = attempts + 1 \
             WHERE id = $1 AND next_attempt_at <= $2 AND delivered_at IS NULL AND failed_at IS NULL \
             RETURNING id, client_id, uri, sid, subject, attempts",
        )
        .bind(id)
        .bind(now)
        .bind(now + lease)
        .fetch_optional(self.db.write())
        .await?
        .map(|r| {
            Ok(LogoutDelivery {
                id: r.get("id")?,
                client_id: r.get("client_id")?,
                uri: r.get("uri")?,
                sid: r.get("sid")?,
                subject: r.get("subject")?,
                attempts: r.get("attempts")?,
            })
        })
        .transpose()
    }

    pub async fn delivered(&self, id: &str, now: i64) -> Result<(), StoreError> {
        query("UPDATE logout_deliveries SET delivered_at = $2, last_error = NULL WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(self.db.write())
            .await?;
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or given up when `None`.
    pub async fn attempt_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        match retry_at {
            Some(at) => query(
                "UPDATE logout_deliveries SET next_attempt_at = $2, last_error = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(at)
            .bind(error)
            .execute(self.db.write())
            .await?,
            None => {
                query("UPDATE logout_deliveries SET failed_at = $2, last_error = $3 WHERE id = $1")
                    .bind(id)
                    .bind(now)
                    .bind(error)
                    .execute(self.db.write())
                    .await?
            }
        };
        Ok(())
    }

    /// (delivered, failed for good, pending) counts, for tests and metrics.
    pub async fn counts(&self) -> Result<(i64, i64, i64), StoreError> {
        let row = query(
            "SELECT \
             COALESCE(SUM(CASE WHEN delivered_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS delivered, \
             COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS failed, \
             COALESCE(SUM(CASE WHEN delivered_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END), 0) \
             AS pending FROM logout_deliveries",
        )
        .fetch_one(self.db.read())
        .await?;
        Ok((
            row.get("delivered")?,
            row.get("failed")?,
            row.get("pending")?,
        ))
    }
}
