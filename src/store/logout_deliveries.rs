//! The back-channel logout outbox: one row per portal to notify, retried with back-off
//! by whichever node claims it first.

use super::Pools;

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LogoutDelivery {
    pub id: String,
    pub client_id: String,
    pub uri: String,
    pub sid: String,
    pub subject: String,
    pub attempts: i64,
}

pub struct LogoutDeliveries<'a> {
    pools: &'a Pools,
}

impl<'a> LogoutDeliveries<'a> {
    pub(super) fn new(pools: &'a Pools) -> Self {
        LogoutDeliveries { pools }
    }

    pub async fn enqueue(
        &self,
        client_id: &str,
        uri: &str,
        sid: &str,
        subject: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO logout_deliveries (id, client_id, uri, sid, subject, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $6)",
        )
        .bind(crate::ids::new_uuid())
        .bind(client_id)
        .bind(uri)
        .bind(sid)
        .bind(subject)
        .bind(now)
        .execute(&self.pools.write)
        .await?;
        Ok(())
    }

    /// Ids of deliveries due now.
    pub async fn due(&self, now: i64, limit: i64) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM logout_deliveries \
             WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pools.read)
        .await?)
    }

    /// Claims a due delivery for `lease` seconds, so that two nodes never send it at
    /// once; answers it if this node won.
    pub async fn claim(
        &self,
        id: &str,
        now: i64,
        lease: i64,
    ) -> Result<Option<LogoutDelivery>, StoreError> {
        Ok(sqlx::query_as::<_, LogoutDelivery>(
            "UPDATE logout_deliveries SET next_attempt_at = $3, attempts = attempts + 1 \
             WHERE id = $1 AND next_attempt_at <= $2 AND delivered_at IS NULL AND failed_at IS NULL \
             RETURNING id, client_id, uri, sid, subject, attempts",
        )
        .bind(id)
        .bind(now)
        .bind(now + lease)
        .fetch_optional(&self.pools.write)
        .await?)
    }

    pub async fn delivered(&self, id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE logout_deliveries SET delivered_at = $2, last_error = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(&self.pools.write)
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
            Some(at) => sqlx::query(
                "UPDATE logout_deliveries SET next_attempt_at = $2, last_error = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(at)
            .bind(error)
            .execute(&self.pools.write)
            .await?,
            None => {
                sqlx::query(
                    "UPDATE logout_deliveries SET failed_at = $2, last_error = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(now)
                .bind(error)
                .execute(&self.pools.write)
                .await?
            }
        };
        Ok(())
    }

    /// (delivered, failed for good, pending) counts, for tests and metrics.
    pub async fn counts(&self) -> Result<(i64, i64, i64), StoreError> {
        let delivered: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM logout_deliveries WHERE delivered_at IS NOT NULL",
        )
        .fetch_one(&self.pools.read)
        .await?;
        let failed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM logout_deliveries WHERE failed_at IS NOT NULL",
        )
        .fetch_one(&self.pools.read)
        .await?;
        let pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM logout_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(&self.pools.read)
        .await?;
        Ok((delivered, failed, pending))
    }
}
