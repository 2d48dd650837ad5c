//! Authorization requests waiting for the person to log in or consent. They live in
//! the database (not in a node's memory) so that any node can finish them.

use super::db::{Db, Row, query};

use super::StoreError;
use crate::ids::{PendingId, SessionId};

#[derive(Debug, Clone)]
pub struct PendingAuthorization {
    pub id: PendingId,
    /// The validated request, as JSON.
    pub request: String,
    /// Hash of the browser's CSRF cookie: the request belongs to that browser only.
    pub browser_binding: String,
    /// The session that authenticated for this request, once someone has.
    pub session_id: Option<SessionId>,
    pub expires_at: i64,
}

fn pending_from(r: &Row) -> Result<PendingAuthorization, StoreError> {
    Ok(PendingAuthorization {
        id: PendingId::new(r.get::<String>("id")?),
        request: r.get("request")?,
        browser_binding: r.get("browser_binding")?,
        session_id: r.get::<Option<String>>("session_id")?.map(SessionId::new),
        expires_at: r.get("expires_at")?,
    })
}

pub struct Pending<'a> {
    db: &'a Db,
}

impl<'a> Pending<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Pending { db }
    }

    pub async fn insert(&self, p: &PendingAuthorization, now: i64) -> Result<(), StoreError> {
        query(
            "INSERT INTO pending_authorizations (id, request, browser_binding, session_id, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(p.id.as_str())
        .bind(&p.request)
        .bind(&p.browser_binding)
        .bind(p.session_id.as_ref().map(SessionId::as_str))
        .bind(now)
        .bind(p.expires_at)
        .execute(self.db.write())
        .await?;
        Ok(())
    }

    /// The request if it has not expired.
    pub async fn get(
        &self,
        id: &PendingId,
        now: i64,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        query(
            "SELECT id, request, browser_binding, session_id, expires_at \
             FROM pending_authorizations WHERE id = $1 AND expires_at > $2",
        )
        .bind(id.as_str())
        .bind(now)
        .fetch_optional(self.db.read())
        .await?
        .map(|r| pending_from(&r))
        .transpose()
    }

    /// Records which session authenticated for the request.
    pub async fn attach_session(
        &self,
        id: &PendingId,
        session: &SessionId,
    ) -> Result<(), StoreError> {
        query("UPDATE pending_authorizations SET session_id = $2 WHERE id = $1")
            .bind(id.as_str())
            .bind(session.as_str())
            .execute(self.db.write())
            .await?;
        Ok(())
    }

    /// Takes the request out, once: a double-submitted form finishes it only once.
    pub async fn take(
        &self,
        id: &PendingId,
        now: i64,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        query(
            "DELETE FROM pending_authorizations WHERE id = $1 AND expires_at > $2 \
             RETURNING id, request, browser_binding, session_id, expires_at",
        )
        .bind(id.as_str())
        .bind(now)
        .fetch_optional(self.db.write())
        .await?
        .map(|r| pending_from(&r))
        .transpose()
    }
}
