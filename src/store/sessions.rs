//! SSO browser sessions. The cookie carries a random token; the row keeps its SHA-256,
//! so a copy of the database does not give anyone a session.

use super::Pools;

use super::{StoreError, from_json_list, to_json_list};
use crate::ids::{AccountId, SessionId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub account_id: AccountId,
    pub source_id: String,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

/// What the account page shows of a session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionSummary {
    pub id: String,
    pub user_agent: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub source_id: String,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    account_id: String,
    source_id: String,
    auth_time: i64,
    acr: String,
    amr: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> Result<Self, StoreError> {
        Ok(Session {
            amr: from_json_list("amr", &r.amr)?,
            id: SessionId::new(r.id),
            account_id: AccountId::new(r.account_id),
            source_id: r.source_id,
            auth_time: r.auth_time,
            acr: r.acr,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
        })
    }
}

/// Seconds between two writes of a session's `last_seen_at`.
const TOUCH_GRANULARITY: i64 = 60;

pub struct Sessions<'a> {
    pools: &'a Pools,
}

impl<'a> Sessions<'a> {
    pub(super) fn new(pools: &'a Pools) -> Self {
        Sessions { pools }
    }

    pub async fn insert(
        &self,
        session: &Session,
        token_hash: &str,
        user_agent: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
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
        .execute(&self.pools.write)
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
        let found = sqlx::query_as::<_, SessionRow>(
            "SELECT id, account_id, source_id, auth_time, acr, amr, created_at, last_seen_at, \
             expires_at FROM sessions \
             WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_seen_at > $3",
        )
        .bind(token_hash)
        .bind(now)
        .bind(now - idle_timeout)
        .fetch_optional(&self.pools.read)
        .await?;
        let Some(row) = found else { return Ok(None) };
        if row.last_seen_at < now - TOUCH_GRANULARITY {
            sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
                .bind(&row.id)
                .bind(now)
                .execute(&self.pools.write)
                .await?;
        }
        Session::try_from(row).map(Some)
    }

    /// A live session by id.
    pub async fn get_live(&self, id: &SessionId, now: i64) -> Result<Option<Session>, StoreError> {
        sqlx::query_as::<_, SessionRow>(
            "SELECT id, account_id, source_id, auth_time, acr, amr, created_at, last_seen_at, expires_at \
             FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(id.as_str())
        .bind(now)
        .fetch_optional(&self.pools.read)
        .await?
        .map(Session::try_from)
        .transpose()
    }

    /// The account's live sessions, newest first, for the account page.
    pub async fn live_for_account(
        &self,
        account: &AccountId,
        now: i64,
        idle_timeout: i64,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        Ok(sqlx::query_as::<_, SessionSummary>(
            "SELECT id, user_agent, created_at, last_seen_at, source_id FROM sessions \
             WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_seen_at > $3 \
             ORDER BY created_at DESC",
        )
        .bind(account.as_str())
        .bind(now)
        .bind(now - idle_timeout)
        .fetch_all(&self.pools.read)
        .await?)
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
        sqlx::query_as::<_, SessionRow>(
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
        .fetch_optional(&self.pools.write)
        .await?
        .map(Session::try_from)
        .transpose()
    }

    pub async fn revoke(&self, id: &SessionId, now: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id.as_str())
                .bind(now)
                .execute(&self.pools.write)
                .await?;
        Ok(done.rows_affected() > 0)
    }
}
