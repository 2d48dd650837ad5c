//! The audit trail: who did what, where, when. Never a secret or a token.

use super::db::{Db, query};

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: String,
    pub occurred_at: i64,
    pub event: String,
    pub account_id: Option<String>,
    pub client_id: Option<String>,
    pub detail: String,
}

pub struct Audit<'a> {
    db: &'a Db,
}

impl<'a> Audit<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Audit { db }
    }

    pub async fn record(
        &self,
        now: i64,
        event: &str,
        account_id: Option<&str>,
        client_id: Option<&str>,
        detail: &str,
    ) -> Result<(), StoreError> {
        query(
            "INSERT INTO audit_log (id, occurred_at, event, account_id, client_id, detail) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(crate::ids::new_uuid())
        .bind(now)
        .bind(event)
        .bind(account_id)
        .bind(client_id)
        .bind(detail)
        .execute(self.db.write())
        .await?;
        Ok(())
    }

    /// The newest events of a kind, newest first.
    pub async fn recent(&self, event: &str, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
        query(
            "SELECT id, occurred_at, event, account_id, client_id, detail FROM audit_log \
             WHERE event = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2",
        )
        .bind(event)
        .bind(limit)
        .fetch_all(self.db.read())
        .await?
        .iter()
        .map(|r| {
            Ok(AuditEvent {
                id: r.get("id")?,
                occurred_at: r.get("occurred_at")?,
                event: r.get("event")?,
                account_id: r.get("account_id")?,
                client_id: r.get("client_id")?,
                detail: r.get("detail")?,
            })
        })
        .collect()
    }
}
