//! Refresh tokens: stored only as SHA-256, rotated on every use, grouped in families
//! (one per grant) so that reuse of a rotated token revokes them all.

use super::accounts::{Account, account_beside, account_returned};
use super::audit::{NewEvent, append_after_grant, append_all_in};
use super::audit_queue::AuditQueue;
use super::db::{Db, On, Row, query};
use super::sessions::session_live;

use super::{StoreError, from_json_list, to_json_list};
use crate::ids::{AccountId, ClientId, GrantId, SessionId};
use crate::model::RequestedClaims;

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
    /// The claims asked for by name (OIDC Core section 5.5): the family keeps them.
    pub claims: RequestedClaims,
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
        claims: RequestedClaims::from_stored(r.get::<Option<String>>("claims")?.as_deref())
            .map_err(|e| StoreError::Corrupt(format!("refresh claims: {e}")))?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
        family_expires_at: r.get("family_expires_at")?,
        rotated_at: r.get("rotated_at")?,
        revoked_at: r.get("revoked_at")?,
    })
}

const COLUMNS: &str = "id, family_id, client_id, account_id, session_id, scope, auth_time, \
    acr, amr, created_at, expires_at, family_expires_at, rotated_at, revoked_at, claims";

/// A rotatable token, at `$2` (now).
const LIVE: &str = "rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $2";

/// The token a rotation stores in place of the presented one: a fresh id, created now,
/// expiring after the idle lifetime but never after its family.
pub struct Successor<'a> {
    pub token_hash: &'a str,
    pub id: String,
    pub idle_secs: i64,
}

/// What rotating a presented token found.
#[derive(Debug)]
pub enum Rotation {
    /// The token was live: it is now rotated and the successor stored. `session_live`
    /// says whether the session it was issued under is still live.
    Rotated {
        old: Box<RefreshToken>,
        session_live: bool,
        /// The token's account, read in the same statement, when the family names
        /// claims to release.
        account: Option<Box<Account>>,
    },
    /// The token was live but the caller's `accept` refused it: nothing changed.
    Refused,
    /// The token was not live (unknown, expired, rotated or revoked) or not the
    /// client's; the stored row, if any, for the caller to judge (grace period, reuse).
    NotLive(Option<Box<RefreshToken>>),
}

pub struct RefreshTokens<'a> {
    db: &'a Db,
    audit: &'a AuditQueue,
}

/// The audit event of a rotation, from the rotated row and its session's liveness,
/// committed with the rotation.
pub type RotationEvent<'f> = &'f (dyn Fn(&RefreshToken, bool) -> NewEvent + Sync);

async fn insert_on(on: On<'_>, t: &RefreshToken, token_hash: &str) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO refresh_tokens (token_hash, {COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
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
        .bind(t.claims.to_stored())
        .execute(on)
        .await?;
    Ok(())
}

impl<'a> RefreshTokens<'a> {
    pub(super) fn new(db: &'a Db, audit: &'a AuditQueue) -> Self {
        RefreshTokens { db, audit }
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

    /// Marks the presented token rotated and stores its successor, atomically: of two
    /// concurrent rotations of one token, exactly one succeeds. Only a live token of
    /// `client` is rotated, and only if `accept` (when given) accepts its row; a refusal
    /// changes nothing. The token's row, the successor and its session's liveness are one
    /// transaction on the writer, with no separate read before it; on PostgreSQL, when
    /// there is no `accept` to run between the two writes, one statement (one round trip
    /// instead of four). `audit` gives the rotation's event, committed with it: in the
    /// transaction on SQLite, through the audit queue after it on PostgreSQL.
    pub async fn rotate(
        &self,
        token_hash: &str,
        client: &ClientId,
        successor: &Successor<'_>,
        now: i64,
        accept: Option<&(dyn Fn(&RefreshToken) -> bool + Sync)>,
        audit: RotationEvent<'_>,
    ) -> Result<Rotation, StoreError> {
        let rotated = match (self.db, accept) {
            (Db::Postgres(_), None) => {
                self.rotate_in_one_statement(token_hash, client, successor, now)
                    .await?
            }
            _ => {
                self.rotate_in_transaction(token_hash, client, successor, now, accept, audit)
                    .await?
            }
        };
        if let (
            Db::Postgres(_),
            Some(Rotation::Rotated {
                old, session_live, ..
            }),
        ) = (self.db, &rotated)
        {
            append_after_grant(self.audit, audit(old, *session_live)).await;
        }
        match rotated {
            Some(rotation) => Ok(rotation),
            None => Ok(Rotation::NotLive(self.get(token_hash).await?.map(Box::new))),
        }
    }

    async fn rotate_in_one_statement(
        &self,
        token_hash: &str,
        client: &ClientId,
        successor: &Successor<'_>,
        now: i64,
    ) -> Result<Option<Rotation>, StoreError> {
        // PostgreSQL runs data-modifying WITH clauses in the statement's own transaction
        // and snapshot; the session's liveness comes back with the row.
        let sql = format!(
            "WITH old AS (UPDATE refresh_tokens SET rotated_at = $2 \
             WHERE token_hash = $1 AND client_id = $3 AND {LIVE} RETURNING {COLUMNS}), \
             successor AS (INSERT INTO refresh_tokens (token_hash, {COLUMNS}) \
             SELECT $4, $5, family_id, client_id, account_id, session_id, scope, auth_time, \
             acr, amr, $2, LEAST($2 + $6, family_expires_at), family_expires_at, NULL, NULL, \
             claims \
             FROM old) \
             SELECT {COLUMNS}, {}, {} FROM old",
            session_live("old"),
            account_beside("old"),
        );
        let row = query(&sql)
            .bind(token_hash)
            .bind(now)
            .bind(client.as_str())
            .bind(successor.token_hash)
            .bind(&successor.id)
            .bind(successor.idle_secs)
            .fetch_optional(self.db.write())
            .await?;
        row.map(|row| {
            let old = token_from(&row)?;
            Ok(Rotation::Rotated {
                account: account_returned(&row, &old.account_id)?.map(Box::new),
                old: Box::new(old),
                session_live: row.get("session_live")?,
            })
        })
        .transpose()
    }

    async fn rotate_in_transaction(
        &self,
        token_hash: &str,
        client: &ClientId,
        successor: &Successor<'_>,
        now: i64,
        accept: Option<&(dyn Fn(&RefreshToken) -> bool + Sync)>,
        audit: RotationEvent<'_>,
    ) -> Result<Option<Rotation>, StoreError> {
        let mut tx = self.db.begin().await?;
        let sql = format!(
            "UPDATE refresh_tokens SET rotated_at = $2 \
             WHERE token_hash = $1 AND client_id = $3 AND {LIVE} \
             RETURNING {COLUMNS}, {}, {}",
            session_live("refresh_tokens"),
            account_beside("refresh_tokens"),
        );
        let rotated = query(&sql)
            .bind(token_hash)
            .bind(now)
            .bind(client.as_str())
            .fetch_optional(tx.on())
            .await?;
        let Some(row) = rotated else {
            // Waits for the batch this saw (a concurrent rotation of the same token, say)
            // to be committed before the caller reads the row elsewhere.
            tx.rollback().await?;
            return Ok(None);
        };
        let old = token_from(&row)?;
        if accept.is_some_and(|accept| !accept(&old)) {
            tx.rollback().await?;
            return Ok(Some(Rotation::Refused));
        }
        let next = RefreshToken {
            id: successor.id.clone(),
            created_at: now,
            expires_at: (now + successor.idle_secs).min(old.family_expires_at),
            rotated_at: None,
            revoked_at: None,
            ..old.clone()
        };
        insert_on(tx.on(), &next, successor.token_hash).await?;
        let session_live = row.get("session_live")?;
        if let Db::Sqlite(_) = self.db {
            append_all_in(&mut tx, &[audit(&old, session_live)]).await?;
        }
        tx.commit().await?;
        Ok(Some(Rotation::Rotated {
            account: account_returned(&row, &old.account_id)?.map(Box::new),
            old: Box::new(old),
            session_live,
        }))
    }

    /// Revokes every token of a family; answers how many were still unrevoked.
    ///
    /// Passes are repeated until one finds nothing left to revoke. On PostgreSQL an
    /// `UPDATE` that waits for a row a concurrent rotation holds revokes that row once
    /// the rotation commits, but not the successor the rotation stored (it is newer
    /// than the `UPDATE`'s snapshot): the next pass does. A pass that finds nothing
    /// means no rotation of the family holds a live row, so none can add one after.
    pub async fn revoke_family(&self, family: &GrantId, now: i64) -> Result<u64, StoreError> {
        const MAX_PASSES: usize = 100;
        let mut revoked = 0;
        for _ in 0..MAX_PASSES {
            let pass = query(
                "UPDATE refresh_tokens SET revoked_at = $2 \
                 WHERE family_id = $1 AND revoked_at IS NULL",
            )
            .bind(family.as_str())
            .bind(now)
            .execute(self.db.write())
            .await?;
            if pass == 0 {
                return Ok(revoked);
            }
            revoked += pass;
        }
        Err(StoreError::Database(format!(
            "refresh family {family} still had live tokens after {MAX_PASSES} passes"
        )))
    }

    /// The families of the account at the client that may still hold a live token.
    pub async fn families_for(
        &self,
        account: &AccountId,
        client: &ClientId,
        now: i64,
    ) -> Result<Vec<GrantId>, StoreError> {
        query(
            "SELECT DISTINCT family_id FROM refresh_tokens WHERE account_id = $1 \
             AND client_id = $2 AND revoked_at IS NULL AND family_expires_at > $3",
        )
        .bind(account.as_str())
        .bind(client.as_str())
        .bind(now)
        .fetch_all(self.db.read())
        .await?
        .iter()
        .map(|r| Ok(GrantId::new(r.get::<String>("family_id")?)))
        .collect()
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
