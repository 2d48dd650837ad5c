//! The deny list: revoked access tokens (`jti:...`) and grants (`grant:...`), each kept
//! until every token it covers has expired.

use super::db::{Db, On, Query, query};

use super::StoreError;

pub struct Revocations<'a> {
    db: &'a Db,
}

pub fn jti_key(jti: &str) -> String {
    format!("jti:{jti}")
}

pub fn grant_key(grant: &str) -> String {
    format!("grant:{grant}")
}

/// Every access token issued under a session that ended (by the `sid` its client got).
pub fn sid_key(sid: &str) -> String {
    format!("sid:{sid}")
}

/// The deny-list keys that revoke one access token: its own `jti`, its grant, the
/// session (`sid`) it was issued under.
pub struct DenyKeys<'a> {
    pub jti: &'a str,
    pub grant: Option<&'a str>,
    pub sid: Option<&'a str>,
}

impl DenyKeys<'_> {
    /// An SQL expression: whether any of the keys, bound as `$1`..`$3`, is on the list.
    pub(super) const REVOKED: &'static str =
        "EXISTS (SELECT 1 FROM revocations WHERE revoked_key IN ($1, $2, $3))";

    /// Binds the keys as the query's first three parameters.
    pub(super) fn bind<'q>(&self, q: Query<'q>) -> Query<'q> {
        q.bind(jti_key(self.jti))
            .bind(self.grant.map(grant_key).unwrap_or_default())
            .bind(self.sid.map(sid_key).unwrap_or_default())
    }
}

impl<'a> Revocations<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Revocations { db }
    }

    /// Puts `key` on the list until `expires_at` (or later, if it is there already). The
    /// time it was (last) revoked is the database's, so that other nodes can read what
    /// is new with one clock (`revoked_since`).
    pub async fn revoke(&self, key: &str, expires_at: i64) -> Result<(), StoreError> {
        self.revoke_on(self.db.write(), key, expires_at).await
    }

    /// `revoke`, on `on`: the writer, or a transaction that writes more.
    pub(super) async fn revoke_on(
        &self,
        on: On<'_>,
        key: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO revocations (revoked_key, revoked_at, expires_at) VALUES ($1, {now}, $2) \
             ON CONFLICT (revoked_key) DO UPDATE SET revoked_at = {now}, expires_at = \
             CASE WHEN revocations.expires_at > $2 THEN revocations.expires_at ELSE $2 END",
            now = self.db.now_expr()
        );
        query(&sql).bind(key).bind(expires_at).execute(on).await?;
        Ok(())
    }

    /// The database's clock, in unix seconds.
    pub async fn database_now(&self) -> Result<i64, StoreError> {
        let sql = format!("SELECT {} AS now", self.db.now_expr());
        query(&sql).fetch_one(self.db.read()).await?.get("now")
    }

    /// The keys revoked at or after `from` (the database's clock, `database_now`) that
    /// still matter at `now`, with the time each may be forgotten: what another node's
    /// mirror of the list has not seen yet.
    pub async fn revoked_since(
        &self,
        from: i64,
        now: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        query(
            "SELECT revoked_key, expires_at FROM revocations \
             WHERE revoked_at >= $1 AND expires_at > $2",
        )
        .bind(from)
        .bind(now)
        .fetch_all(self.db.read())
        .await?
        .iter()
        .map(|r| Ok((r.get("revoked_key")?, r.get("expires_at")?)))
        .collect()
    }

    /// Whether a token with these keys is revoked: one indexed lookup.
    /// Whether the grant is on the deny list, read where writes go: the check a code
    /// exchange makes after writing its refresh family, which must see a replay's
    /// revocation committed just before.
    pub async fn grant_revoked(&self, grant: &str) -> Result<bool, StoreError> {
        query("SELECT EXISTS (SELECT 1 FROM revocations WHERE revoked_key = $1) AS revoked")
            .bind(grant_key(grant))
            .fetch_one(self.db.write())
            .await?
            .get("revoked")
    }

    pub async fn any_revoked(&self, keys: &DenyKeys<'_>) -> Result<bool, StoreError> {
        let sql = format!("SELECT {} AS revoked", DenyKeys::REVOKED);
        keys.bind(query(&sql))
            .fetch_one(self.db.read())
            .await?
            .get("revoked")
    }
}
