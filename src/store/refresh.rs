//! Refresh tokens: stored only as SHA-256, rotated on every use, grouped in families
//! (one per grant) so that reuse of a rotated token revokes them all.

use super::db::{Db, On, Row, query};

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

fn token_from(r: &Row) -> Result<RefreshToken, StoreError> {
    Ok(RefreshToken {
        amr: from_json_list("amr", &r.get::<String>("amr")?)?,
        id: r.get("id")?,
        family_id: GrantId::new(r.get::<String>("family_id")?),
        client_id: ClientId::new(r.get::<String>("client_id")?),
        account_id: AccountId::new(r.get::<String>("account_id")?),
        session_id: r.get::<Option<String>>("session_id")?.map(SessionId::new),
        scope: r.get("scope")?,
        auth_time: r.get("auth_time")?,
        acr: r.get("acr")?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
        family_expires_at: r.get("family_expires_at")?,
        rotated_at: r.get("rotated_at")?,
        revoked_at: r.get("revoked_at")?,
    })
}

const COLUMNS: &str = "id, family_id, client_id, account_id, session_id, scope, auth_time, \
    acr, amr, created_at, expires_at, family_expires_at, rotated_at, revoked_at";

/// What rotating a presented token found.
#[derive(Debug)]
pub enum Rotation {
    /// The token was live: it is now rotated and the successor stored. `session_live`
    /// says whether the session it was issued under is still live.
    Rotated {
        old: Box<RefreshToken>,
        session_live: bool,
    },
    /// The token was live but the caller refused it (another client's, say): nothing
    /// changed.
    Refused(Box<RefreshToken>),
    /// The token was not live (unknown, expired, rotated or revoked); the stored row, if
    /// any, for the caller to judge (grace period or reuse).
    NotLive(Option<Box<RefreshToken>>),
}

pub struct RefreshTokens<'a> {
    db: &'a Db,
}

async fn insert_on(on: On<'_>, t: &RefreshToken, token_hash: &str) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO refresh_tokens (token_hash, {COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    );
    query(&sql)
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
        .execute(on)
        .await?;
    Ok(())
}

impl<'a> RefreshTokens<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        RefreshTokens { db }
    }

    pub async fn insert(&self, t: &RefreshToken, token_hash: &str) -> Result<(), StoreError> {
        insert_on(self.db.write(), t, token_hash).await
    }

    pub async fn get(&self, token_hash: &str) -> Result<Option<RefreshToken>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM refresh_tokens WHERE token_hash = $1");
        query(&sql)
            .bind(token_hash)
            .fetch_optional(self.db.read())
            .await?
            .map(|r| token_from(&r))
            .transpose()
    }

    /// Marks the presented token rotated and stores the successor that `successor`
    /// makes of it (or, if it answers `None`, changes nothing), atomically: of two
    /// concurrent rotations of one token, exactly one succeeds. The token's row, the
    /// successor and its session's liveness are one transaction on the writer, with no
    /// separate read before it.
    pub async fn rotate(
        &self,
        token_hash: &str,
        successor_hash: &str,
        now: i64,
        successor: impl FnOnce(&RefreshToken) -> Option<RefreshToken>,
    ) -> Result<Rotation, StoreError> {
        let mut tx = self.db.begin().await?;
        // The session's liveness comes back with the row: one statement fewer (one round
        // trip fewer on PostgreSQL).
        let sql = format!(
            "UPDATE refresh_tokens SET rotated_at = $2 \
             WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
             RETURNING {COLUMNS}, EXISTS (SELECT 1 FROM sessions \
             WHERE sessions.id = refresh_tokens.session_id AND sessions.revoked_at IS NULL \
             AND sessions.expires_at > $2) AS session_live"
        );
        let rotated = query(&sql)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(tx.on())
            .await?;
        match rotated {
            Some(row) => {
                let old = token_from(&row)?;
                let Some(next) = successor(&old) else {
                    tx.rollback().await?;
                    return Ok(Rotation::Refused(Box::new(old)));
                };
                let session_live = row.get("session_live")?;
                insert_on(tx.on(), &next, successor_hash).await?;
                tx.commit().await?;
                Ok(Rotation::Rotated {
                    old: Box::new(old),
                    session_live,
                })
            }
            None => {
                // Waits for the batch this saw (a concurrent rotation of the same token,
                // say) to be committed before reading the row elsewhere.
                tx.rollback().await?;
                Ok(Rotation::NotLive(self.get(token_hash).await?.map(Box::new)))
            }
        }
    }

    /// Revokes every token of a family; answers how many were still unrevoked.
    pub async fn revoke_family(&self, family: &GrantId, now: i64) -> Result<u64, StoreError> {
        query(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
        )
        .bind(family.as_str())
        .bind(now)
        .execute(self.db.write())
        .await
    }

    /// The latest expiry of any token of the family, to keep its revocation as long.
    pub async fn family_expiry(&self, family: &GrantId) -> Result<Option<i64>, StoreError> {
        query("SELECT MAX(family_expires_at) AS latest FROM refresh_tokens WHERE family_id = $1")
            .bind(family.as_str())
            .fetch_one(self.db.read())
            .await?
            .get("latest")
    }
}
