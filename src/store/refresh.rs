//! Refresh tokens: stored only as SHA-256, rotated on every use, grouped in families
//! (one per grant) so that reuse of a rotated token revokes them all.

use super::Pools;

use super::{StoreError, from_json_list, to_json_list};
use crate::ids::{AccountId, ClientId, GrantId, SessionId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub id: String,
    pub family_id: GrantId,
    pub client_id: ClientId,
    pub account_id: AccountId,
    pub session_id: Option<SessionId>,
    pub scope: String,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub family_expires_at: i64,
    pub rotated_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl RefreshToken {
    pub fn is_live(&self, now: i64) -> bool {
        self.rotated_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    family_id: String,
    client_id: String,
    account_id: String,
    session_id: Option<String>,
    scope: String,
    auth_time: i64,
    acr: String,
    amr: String,
    created_at: i64,
    expires_at: i64,
    family_expires_at: i64,
    rotated_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<Row> for RefreshToken {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(RefreshToken {
            amr: from_json_list("amr", &r.amr)?,
            id: r.id,
            family_id: GrantId::new(r.family_id),
            client_id: ClientId::new(r.client_id),
            account_id: AccountId::new(r.account_id),
            session_id: r.session_id.map(SessionId::new),
            scope: r.scope,
            auth_time: r.auth_time,
            acr: r.acr,
            created_at: r.created_at,
            expires_at: r.expires_at,
            family_expires_at: r.family_expires_at,
            rotated_at: r.rotated_at,
            revoked_at: r.revoked_at,
        })
    }
}

const COLUMNS: &str = "id, family_id, client_id, account_id, session_id, scope, auth_time, \
    acr, amr, created_at, expires_at, family_expires_at, rotated_at, revoked_at";

/// What rotating a presented token found.
#[derive(Debug)]
pub enum Rotation {
    /// The token was live: it is now rotated and the successor stored.
    Rotated(Box<RefreshToken>),
    /// The token was not live (unknown, expired, rotated or revoked); the stored row, if
    /// any, for the caller to judge (grace period or reuse).
    NotLive(Option<Box<RefreshToken>>),
}

pub struct RefreshTokens<'a> {
    pools: &'a Pools,
}

async fn insert_with<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    t: &RefreshToken,
    token_hash: &str,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO refresh_tokens (token_hash, {COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    );
    sqlx::query(&sql)
        .bind(token_hash)
        .bind(&t.id)
        .bind(t.family_id.as_str())
        .bind(t.client_id.as_str())
        .bind(t.account_id.as_str())
        .bind(t.session_id.as_ref().map(SessionId::as_str))
        .bind(&t.scope)
        .bind(t.auth_time)
        .bind(&t.acr)
        .bind(to_json_list(&t.amr))
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.family_expires_at)
        .bind(t.rotated_at)
        .bind(t.revoked_at)
        .execute(executor)
        .await?;
    Ok(())
}

impl<'a> RefreshTokens<'a> {
    pub(super) fn new(pools: &'a Pools) -> Self {
        RefreshTokens { pools }
    }

    pub async fn insert(&self, t: &RefreshToken, token_hash: &str) -> Result<(), StoreError> {
        insert_with(&self.pools.write, t, token_hash).await
    }

    pub async fn get(&self, token_hash: &str) -> Result<Option<RefreshToken>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM refresh_tokens WHERE token_hash = $1");
        sqlx::query_as::<_, Row>(&sql)
            .bind(token_hash)
            .fetch_optional(&self.pools.read)
            .await?
            .map(RefreshToken::try_from)
            .transpose()
    }

    /// Marks the presented token rotated and stores its successor, atomically: of two
    /// concurrent rotations of one token, exactly one succeeds.
    pub async fn rotate(
        &self,
        token_hash: &str,
        successor: &RefreshToken,
        successor_hash: &str,
        now: i64,
    ) -> Result<Rotation, StoreError> {
        let mut tx = self.pools.write.begin().await?;
        let sql = format!(
            "UPDATE refresh_tokens SET rotated_at = $2 \
             WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
             RETURNING {COLUMNS}"
        );
        let rotated = sqlx::query_as::<_, Row>(&sql)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        match rotated {
            Some(row) => {
                insert_with(&mut *tx, successor, successor_hash).await?;
                tx.commit().await?;
                Ok(Rotation::Rotated(Box::new(row.try_into()?)))
            }
            None => {
                tx.rollback().await?;
                Ok(Rotation::NotLive(self.get(token_hash).await?.map(Box::new)))
            }
        }
    }

    /// Revokes every token of a family; answers how many were still unrevoked.
    pub async fn revoke_family(&self, family: &GrantId, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
        )
        .bind(family.as_str())
        .bind(now)
        .execute(&self.pools.write)
        .await?;
        Ok(done.rows_affected())
    }

    /// The latest expiry of any token of the family, to keep its revocation as long.
    pub async fn family_expiry(&self, family: &GrantId) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT MAX(family_expires_at) FROM refresh_tokens WHERE family_id = $1",
        )
        .bind(family.as_str())
        .fetch_one(&self.pools.read)
        .await?)
    }
}
