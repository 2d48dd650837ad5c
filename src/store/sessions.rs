//! SSO browser sessions. The cookie carries a random token; the row keeps its SHA-256,
//! so a copy of the database does not give anyone a session.

use super::db::{Db, Row, query};
use super::logout_deliveries::{LogoutDeliveries, NewDelivery};
use super::revocations::Revocations;

use super::{StoreError, from_json_list, to_json_list};
use crate::ids::{AccountId, SessionId};

pub use crate::model::Session;

/// What the account page shows of a session.
#[derive(Debug, Clone)]
pub struct SessionSummary {
    pub id: String,
    pub user_agent: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub source_id: String,
}

fn session_from(r: &Row) -> Result<Session, StoreError> {
    Ok(Session {
        amr: from_json_list("amr", &r.get::<String>("amr")?)?,
        id: SessionId::new(r.get::<String>("id")?),
        account_id: AccountId::new(r.get::<String>("account_id")?),
        source_id: r.get("source_id")?,
        auth_time: r.get("auth_time")?,
        acr: r.get("acr")?,
        created_at: r.get("created_at")?,
        last_seen_at: r.get("last_seen_at")?,
        expires_at: r.get("expires_at")?,
    })
}

/// Seconds between two writes of a session's `last_seen_at`.
const TOUCH_GRANULARITY: i64 = 60;

/// An SQL expression: whether the session that row `row` names in its `session_id` is
/// still live at `$2`, as `session_live` (read with the row, one round trip fewer).
pub(super) fn session_live(row: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM sessions WHERE sessions.id = {row}.session_id \
         AND sessions.revoked_at IS NULL AND sessions.expires_at > $2) AS session_live"
    )
}

pub struct Sessions<'a> {
    db: &'a Db,
}

impl<'a> Sessions<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Sessions { db }
    }

    pub async fn insert(
        &self,
        session: &Session,
        token_hash: &str,
        user_agent: Option<&str>,
    ) -> Result<(), StoreError> {
        query(
            "INSERT INTO sessions (id, token_hash, account_id, source_id, auth_time, acr, amr, \
             user_agent, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(session.id.as_str())
        .bind(token_hash)
        .bind(session.account_id.as_str())
        .bind(&session.source_id)
        .bind(session.auth_time)
        .bind(&session.acr)
        .bind(to_json_list(&session.amr))
        .bind(user_agent)
        .bind(session.created_at)
        .bind(session.last_seen_at)
        .bind(session.expires_at)
        .execute(self.db.write())
        .await?;
        Ok(())
    }

    /// The live session for a cookie token: not revoked, not past its lifetime, and used
    /// within `idle_timeout`. `last_seen_at` is written at most once a minute (reads are
    /// the hot path of SSO; the idle timeout is kept to within that minute).
    pub async fn touch_live(
        &self,
        token_hash: &str,
        now: i64,
        idle_timeout: i64,
    ) -> Result<Option<Session>, StoreError> {
        let found = query(
            "SELECT id, account_id, source_id, auth_time, acr, amr, created_at, last_seen_at, \
             expires_at FROM sessions \
             WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_seen_at > $3",
        )
        .bind(token_hash)
        .bind(now)
        .bind(now - idle_timeout)
        .fetch_optional(self.db.read())
        .await?;
        let Some(session) = found.map(|r| session_from(&r)).transpose()? else {
            return Ok(None);
        };
        if session.last_seen_at < now - TOUCH_GRANULARITY {
            query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
                .bind(session.id.as_str())
                .bind(now)
                .execute(self.db.write())
                .await?;
        }
        Ok(Some(session))
    }

    /// A live session by id.
    pub async fn get_live(&self, id: &SessionId, now: i64) -> Result<Option<Session>, StoreError> {
        query(
            "SELECT id, account_id, source_id, auth_time, acr, amr, created_at, last_seen_at, expires_at \
             FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(id.as_str())
        .bind(now)
        .fetch_optional(self.db.read())
        .await?
        .map(|r| session_from(&r))
        .transpose()
    }

    /// The account's live sessions, newest first, for the account page.
    pub async fn live_for_account(
        &self,
        account: &AccountId,
        now: i64,
        idle_timeout: i64,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        query(
            "SELECT id, user_agent, created_at, last_seen_at, source_id FROM sessions \
             WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_seen_at > $3 \
             ORDER BY created_at DESC",
        )
        .bind(account.as_str())
        .bind(now)
        .bind(now - idle_timeout)
        .fetch_all(self.db.read())
        .await?
        .iter()
        .map(|r| {
            Ok(SessionSummary {
                id: r.get("id")?,
                user_agent: r.get("user_agent")?,
                created_at: r.get("created_at")?,
                last_seen_at: r.get("last_seen_at")?,
                source_id: r.get("source_id")?,
            })
        })
        .collect()
    }

    /// A new login of the session's own person: a new cookie token and the new
    /// authentication, same id. `None` if the session ended meanwhile.
    #[allow(clippy::too_many_arguments)]
    pub async fn reauthenticate(
        &self,
        id: &SessionId,
        token_hash: &str,
        source_id: &str,
        acr: &str,
        amr: &[String],
        now: i64,
        expires_at: i64,
    ) -> Result<Option<Session>, StoreError> {
        query(
            "UPDATE sessions SET token_hash = $2, source_id = $3, acr = $4, amr = $5, auth_time = $6, \
             last_seen_at = $6, expires_at = $7 WHERE id = $1 AND revoked_at IS NULL \
             RETURNING id, account_id, source_id, auth_time, acr, amr, created_at, last_seen_at, expires_at",
        )
        .bind(id.as_str())
        .bind(token_hash)
        .bind(source_id)
        .bind(acr)
        .bind(to_json_list(amr))
        .bind(now)
        .bind(expires_at)
        .fetch_optional(self.db.write())
        .await?
        .map(|r| session_from(&r))
        .transpose()
    }

    /// Ends a live session, puts `deny` on the deny list (each key until its time) and
    /// queues `deliveries`, in one transaction: a failure leaves the session live with
    /// none of them written, so trying again does it all. `false` if the session had
    /// ended already; then nothing is written. A transaction on both engines: logout is
    /// rare next to token traffic, so the round trips it costs on PostgreSQL do not
    /// call for a statement of its own there.
    pub async fn end(
        &self,
        id: &SessionId,
        now: i64,
        deny: &[(String, i64)],
        deliveries: &[NewDelivery<'_>],
    ) -> Result<bool, StoreError> {
        let mut tx = self.db.begin().await?;
        let ended =
            query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id.as_str())
                .bind(now)
                .execute(tx.on())
                .await?;
        if ended == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let revocations = Revocations::new(self.db);
        for (key, expires_at) in deny {
            revocations.revoke_on(tx.on(), key, *expires_at).await?;
        }
        let outbox = LogoutDeliveries::new(self.db);
        for delivery in deliveries {
            outbox.enqueue_on(tx.on(), delivery, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{DenyKeys, NewAccount, Store, sid_key};

    #[tokio::test]
    async fn a_session_ends_once_with_its_deny_list_entries_and_deliveries() {
        let store = Store::in_memory().await;
        let account = store
            .accounts()
            .create_with_password(&NewAccount::default(), "password", "mai", "hash", 1)
            .await
            .unwrap();
        let session = Session {
            id: SessionId::new("s1".to_owned()),
            account_id: account,
            source_id: "password".into(),
            auth_time: 1,
            acr: "urn:portico:loa:2".into(),
            amr: vec!["pwd".into()],
            created_at: 1,
            last_seen_at: 1,
            expires_at: 1000,
        };
        store.sessions().insert(&session, "h1", None).await.unwrap();
        let delivery = NewDelivery {
            client_id: "ministry",
            uri: "http://127.0.0.1:9/logout",
            sid: "sid-1",
            subject: "sub-1",
        };
        let deny = [(sid_key("sid-1"), 500)];
        let deliveries = [delivery];
        let sessions = store.sessions();
        assert!(
            sessions
                .end(&session.id, 10, &deny, &deliveries)
                .await
                .unwrap()
        );
        assert!(
            store
                .sessions()
                .get_live(&session.id, 10)
                .await
                .unwrap()
                .is_none()
        );
        let keys = DenyKeys {
            jti: "j",
            grant: None,
            sid: Some("sid-1"),
        };
        assert!(store.revocations().any_revoked(&keys).await.unwrap());
        assert_eq!(store.logout_deliveries().counts().await.unwrap(), (0, 0, 1));
        // Ended already: nothing more is written.
        assert!(
            !sessions
                .end(&session.id, 11, &deny, &deliveries)
                .await
                .unwrap()
        );
        assert_eq!(store.logout_deliveries().counts().await.unwrap(), (0, 0, 1));
    }
}
