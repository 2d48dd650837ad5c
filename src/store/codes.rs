//! Authorization codes, stored only as SHA-256 and consumed atomically.

use super::audit::{NewEvent, append_after_grant, append_all_in};
use super::audit_queue::AuditQueue;
use super::db::{Db, Row, query};

use super::accounts::{Account, account_beside, account_returned};
use super::session_clients::{RECORD, SessionPortal};
use super::sessions::session_live;
use super::{StoreError, from_json_list, to_json_list};
use crate::ids::{AccountId, ClientId, GrantId, PendingId, SessionId};
use crate::model::RequestedClaims;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    pub code_hash: String,
    pub grant_id: GrantId,
    pub client_id: ClientId,
    pub account_id: AccountId,
    pub session_id: SessionId,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    /// The claims asked for by name (OIDC Core section 5.5), for the tokens.
    pub claims: RequestedClaims,
    pub created_at: i64,
    pub expires_at: i64,
}

fn code_from(r: &Row) -> Result<AuthorizationCode, StoreError> {
    Ok(AuthorizationCode {
        amr: from_json_list("amr", &r.get::<String>("amr")?)?,
        code_hash: r.get("code_hash")?,
        grant_id: GrantId::new(r.get::<String>("grant_id")?),
        client_id: ClientId::new(r.get::<String>("client_id")?),
        account_id: AccountId::new(r.get::<String>("account_id")?),
        session_id: SessionId::new(r.get::<String>("session_id")?),
        redirect_uri: r.get("redirect_uri")?,
        scope: r.get("scope")?,
        nonce: r.get("nonce")?,
        code_challenge: r.get("code_challenge")?,
        auth_time: r.get("auth_time")?,
        acr: r.get("acr")?,
        claims: RequestedClaims::from_stored(r.get::<Option<String>>("claims")?.as_deref())
            .map_err(|e| StoreError::Corrupt(format!("code claims: {e}")))?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
    })
}

/// What presenting a code found.
#[derive(Debug)]
pub enum ConsumeOutcome {
    /// First use: the code is now spent and its details are returned, with whether the
    /// session it was issued in is still live.
    Consumed {
        code: Box<AuthorizationCode>,
        session_live: bool,
        /// The code's account, read in the same statement, when the code names claims
        /// to release.
        account: Option<Box<Account>>,
    },
    /// The code was spent before: a replay. The grant it belonged to is returned so the
    /// tokens issued from it can be revoked.
    Replayed(GrantId),
    NotFound,
}

pub struct Codes<'a> {
    db: &'a Db,
    audit: &'a AuditQueue,
}

/// What the caller judges of the code it spent, inside the write that spends it: the
/// audit event to commit with the spending (tokens issued from it), or none.
pub type JudgeCode<'f> = &'f (dyn Fn(&AuthorizationCode, bool) -> Option<NewEvent> + Sync);

impl<'a> Codes<'a> {
    pub(super) fn new(db: &'a Db, audit: &'a AuditQueue) -> Self {
        Codes { db, audit }
    }

    /// For a withdrawn consent: spends every unused code of the account at the client
    /// (a later exchange is a replay) and answers the grant of each code still stored,
    /// used or not: every access token issued from them names one (codes are kept for
    /// the access-token lifetime after they expire, `Store::purge_expired`).
    pub async fn spend_for(
        &self,
        account: &AccountId,
        client: &ClientId,
        now: i64,
    ) -> Result<Vec<GrantId>, StoreError> {
        query(
            "UPDATE authorization_codes SET consumed_at = COALESCE(consumed_at, $3) \
             WHERE account_id = $1 AND client_id = $2 RETURNING grant_id",
        )
        .bind(account.as_str())
        .bind(client.as_str())
        .bind(now)
        .fetch_all(self.db.write())
        .await?
        .iter()
        .map(|r| Ok(GrantId::new(r.get::<String>("grant_id")?)))
        .collect()
    }

    /// Stores a code and records its portal (the session's record of the client, with
    /// the `sid` and `sub` its tokens will carry). `finishing`: the pending request the
    /// code completes, taken (deleted) in the same write, so that one request yields one
    /// code; `false` when it was already taken or has expired, and then nothing is
    /// written. On PostgreSQL the three writes are one statement.
    pub async fn insert(
        &self,
        c: &AuthorizationCode,
        portal: &SessionPortal,
        finishing: Option<&PendingId>,
    ) -> Result<bool, StoreError> {
        const COLUMNS: &str = "INSERT INTO authorization_codes (code_hash, grant_id, client_id, \
             account_id, session_id, redirect_uri, scope, nonce, code_challenge, auth_time, acr, \
             amr, created_at, expires_at, claims)";
        const VALUES: &str = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15";
        const TAKE: &str = "DELETE FROM pending_authorizations WHERE id = $1 AND expires_at > $2 \
             RETURNING id";
        let code = |sql| {
            query(sql)
                .bind(&c.code_hash)
                .bind(c.grant_id.as_str())
                .bind(c.client_id.as_str())
                .bind(c.account_id.as_str())
                .bind(c.session_id.as_str())
                .bind(&c.redirect_uri)
                .bind(&c.scope)
                .bind(c.nonce.as_deref())
                .bind(c.code_challenge.as_deref())
                .bind(c.auth_time)
                .bind(&c.acr)
                .bind(to_json_list(&c.amr))
                .bind(c.created_at)
                .bind(c.expires_at)
                .bind(c.claims.to_stored())
        };
        if let Db::Postgres(_) = self.db {
            // The code's own parameters serve the other writes ($3 client, $5 session, $13
            // now); the sid, subject and pending request come after them ($16 on).
            let taken = match finishing {
                Some(_) => {
                    "DELETE FROM pending_authorizations WHERE id = $18 \
                            AND expires_at > $13 RETURNING id"
                }
                None => "SELECT 1 AS id",
            };
            let sql = format!(
                "WITH taken AS ({taken}), \
                 code AS ({COLUMNS} SELECT {VALUES} FROM taken), \
                 portal AS (INSERT INTO session_clients \
                 (session_id, client_id, sid, subject, first_at, last_at) \
                 SELECT $5, $3, $16, $17, $13, $13 FROM taken \
                 ON CONFLICT (session_id, client_id) DO UPDATE SET last_at = $13) \
                 SELECT count(*) AS taken FROM taken"
            );
            let mut statement = code(&sql).bind(&portal.sid).bind(&portal.subject);
            if let Some(id) = finishing {
                statement = statement.bind(id.as_str());
            }
            let row = statement.fetch_one(self.db.write()).await?;
            return Ok(row.get::<i64>("taken")? > 0);
        }
        let mut tx = self.db.begin().await?;
        if let Some(id) = finishing {
            let taken = query(TAKE)
                .bind(id.as_str())
                .bind(c.created_at)
                .fetch_optional(tx.on())
                .await?;
            if taken.is_none() {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        code(&format!("{COLUMNS} VALUES ({VALUES})"))
            .execute(tx.on())
            .await?;
        query(RECORD)
            .bind(c.session_id.as_str())
            .bind(c.client_id.as_str())
            .bind(&portal.sid)
            .bind(&portal.subject)
            .bind(c.created_at)
            .execute(tx.on())
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Marks the code used in one statement, so two concurrent exchanges cannot both
    /// succeed; expiry and the other bindings are checked by the caller on the returned
    /// row. Only a code of `client_id`, the authenticated client, is touched: another
    /// client's code is neither spent nor counted as a replay (RFC 6749 section 4.1.3), so
    /// presenting a code seen elsewhere cannot burn it or revoke its grant. The session's
    /// liveness comes back with it (one round trip fewer on PostgreSQL).
    ///
    /// `audit` sees the spent code and its session's liveness; the event it answers is
    /// committed with the spending: on SQLite in the same transaction, so the exchange
    /// waits for no commit of its own; on PostgreSQL through the audit queue after the
    /// statement ([`append_after_grant`]).
    pub async fn consume(
        &self,
        code_hash: &str,
        client_id: &ClientId,
        now: i64,
        audit: JudgeCode<'_>,
    ) -> Result<ConsumeOutcome, StoreError> {
        let sql = format!(
            "UPDATE authorization_codes SET consumed_at = $2 \
             WHERE code_hash = $1 AND client_id = $3 AND consumed_at IS NULL \
             RETURNING code_hash, grant_id, client_id, account_id, session_id, redirect_uri, \
             scope, nonce, code_challenge, auth_time, acr, amr, created_at, expires_at, claims, \
             {}, {}",
            // `now` stays $2: `session_live` reads it there.
            session_live("authorization_codes"),
            account_beside("authorization_codes"),
        );
        let spend = || {
            query(&sql)
                .bind(code_hash)
                .bind(now)
                .bind(client_id.as_str())
        };
        let consumed = if let Db::Postgres(_) = self.db {
            match spend().fetch_optional(self.db.write()).await? {
                Some(row) => {
                    let code = code_from(&row)?;
                    if let Some(event) = audit(&code, row.get("session_live")?) {
                        append_after_grant(self.audit, event).await;
                    }
                    Some(consumed(&row, code)?)
                }
                None => None,
            }
        } else {
            let mut tx = self.db.begin().await?;
            match spend().fetch_optional(tx.on()).await? {
                Some(row) => {
                    let code = code_from(&row)?;
                    if let Some(event) = audit(&code, row.get("session_live")?) {
                        append_all_in(&mut tx, std::slice::from_ref(&event)).await?;
                    }
                    tx.commit().await?;
                    Some(consumed(&row, code)?)
                }
                None => {
                    tx.rollback().await?;
                    None
                }
            }
        };
        if let Some(consumed) = consumed {
            return Ok(consumed);
        }
        let grant: Option<String> = query(
            "SELECT grant_id FROM authorization_codes WHERE code_hash = $1 AND client_id = $2",
        )
        .bind(code_hash)
        .bind(client_id.as_str())
        .fetch_optional(self.db.read())
        .await?
        .map(|r| r.get("grant_id"))
        .transpose()?;
        Ok(match grant {
            Some(g) => ConsumeOutcome::Replayed(GrantId::new(g)),
            None => ConsumeOutcome::NotFound,
        })
    }
}

/// A spent code's outcome, from the row that spent it.
fn consumed(row: &Row, code: AuthorizationCode) -> Result<ConsumeOutcome, StoreError> {
    Ok(ConsumeOutcome::Consumed {
        account: account_returned(row, &code.account_id)?.map(Box::new),
        code: Box::new(code),
        session_live: row.get("session_live")?,
    })
}
