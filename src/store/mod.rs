//! Storage: one repository per aggregate over one database handle (`db::Db`), so the
//! queries are written once for SQLite and PostgreSQL. Every query here is portable SQL
//! with `$n` placeholders; the engine differences (connections, how statements run,
//! migrations) live in `db` and in `Store` below, nowhere else.

mod accounts;
mod assertions;
mod audit;
mod audit_queue;
mod clients;
mod codes;
mod consents;
mod db;
mod identities;
mod keys;
mod login_attempts;
mod logout_deliveries;
mod passkeys;
mod pending;
mod refresh;
mod representations;
mod revocations;
mod sealed_secrets;
mod session_clients;
mod sessions;
mod sms_sends;
mod sqlite;
mod subjects;
mod throttle;

use std::str::FromStr;
use std::sync::Arc;

use rusqlite::Connection;
use sqlx::Executor;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use db::Db;
use sqlite::{SqliteDb, SqlitePath};

pub use accounts::{Account, AccountForToken, AccountKind, Accounts, Address, NewAccount};
pub use assertions::AssertionJtis;
pub use audit::{Audit, AuditEvent, ChainBroken, ChainIntact, NewEvent, TailFilter};
pub use clients::{AuthMethod, Client, Clients, GrantType, SubjectType};
pub use codes::{AuthorizationCode, Codes, ConsumeOutcome, JudgeCode};
pub use consents::{ConsentSummary, Consents, Granted};
pub use identities::{Identities, LinkedLogin, Linking, Resolution, Resolved, Resolving};
pub use keys::{Keys, StoredKey};
pub use login_attempts::{LoginAttempt, LoginAttempts, Tried};
pub use logout_deliveries::{LogoutDeliveries, LogoutDelivery, NewDelivery};
pub use passkeys::{Passkeys, StoredPasskey};
pub use pending::{Pending, PendingAuthorization};
pub use refresh::{RefreshToken, RefreshTokens, Rotation, RotationEvent, Successor};
pub use representations::{Representation, Representations, Represents};
pub use revocations::{DenyKeys, Revocations, grant_key, jti_key, sid_key};
pub use sealed_secrets::{Resealed, SealedItem, SealedSecrets};
pub use session_clients::{SessionClient, SessionClients, SessionPortal};
pub use sessions::{Session, SessionSummary, Sessions};
pub use sms_sends::{Reserved, SendKey, SendLimits, SmsSends};
pub use subjects::PairwiseSubjects;
pub use throttle::{Claim, Throttle};

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (or did not answer in time): a 503.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
            // PostgreSQL classes 08 (connection exception) and 57 (operator intervention:
            // shutdown, cancelled by statement_timeout): the database, not the query.
            sqlx::Error::Database(db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57")) =>
            {
                StoreError::Unavailable(e.to_string())
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            _ => StoreError::Database(e.to_string()),
        }
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    audit_queue: audit_queue::AuditQueue,
}

impl Store {
    pub async fn connect(config: &Config) -> Result<Store, StoreError> {
        let url = &config.database_url;
        let db = if url.starts_with("sqlite:") {
            let path = SqlitePath::parse(url);
            // Opening runs a few PRAGMAs and may create the file: off the async threads.
            let acquire_timeout = config.database.acquire_timeout;
            let opened =
                tokio::task::spawn_blocking(move || SqliteDb::open(&path, acquire_timeout))
                    .await
                    .map_err(|e| StoreError::Database(e.to_string()))??;
            Db::Sqlite(Arc::new(opened))
        } else {
            let statement_timeout_ms = config.database.statement_timeout.as_millis();
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(config.database.max_connections)
                .acquire_timeout(config.database.acquire_timeout)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            format!("SET statement_timeout = {statement_timeout_ms}").as_str(),
                        )
                        .await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await?;
            Db::Postgres(pool)
        };
        let audit_queue = audit_queue::AuditQueue::start(db.clone());
        Ok(Store { db, audit_queue })
    }

    /// A migrated in-memory SQLite store, for unit tests.
    #[cfg(test)]
    pub(crate) async fn in_memory() -> Store {
        let env = [(
            "PORTICO_DATABASE_URL".to_owned(),
            "sqlite::memory:".to_owned(),
        )];
        let store = Store::connect(&Config::from_parts("", &env).unwrap())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(db) => {
                let writer = db.lock_writer_idle().await?;
                tokio::task::spawn_blocking(move || {
                    migrate_sqlite(&writer.conn, &SQLITE_MIGRATIONS)
                })
                .await
                .map_err(|e| StoreError::Database(e.to_string()))?
            }
            Db::Postgres(pool) => Ok(POSTGRES_MIGRATIONS.run(pool).await?),
        }
    }

    /// A round trip to the database, for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        db::query("SELECT 1 AS one")
            .fetch_one(self.db.read())
            .await?;
        Ok(())
    }

    /// Deletes rows no longer needed by anyone: expired codes, pending requests,
    /// sessions, refresh tokens, deny-list entries, assertion `jti`s, and logout
    /// deliveries finished a day ago. Answers the number of rows removed. On SQLite the
    /// deletes run on a blocking thread: they can be large, and requests must not wait
    /// behind them on the async threads.
    ///
    /// A code's row is kept `codes_kept_for` seconds past its expiry (the access-token
    /// lifetime): it names the grant of every access token issued from it, so that a
    /// withdrawn consent can deny them all, and a replay of it is still detected.
    pub async fn purge_expired(&self, now: i64, codes_kept_for: i64) -> Result<u64, StoreError> {
        // Each statement and the time it deletes before.
        let statements: [(&'static str, i64); 10] = [
            (
                "DELETE FROM authorization_codes WHERE expires_at < $1",
                now - codes_kept_for,
            ),
            ("DELETE FROM login_attempts WHERE expires_at < $1", now),
            (
                "DELETE FROM pending_authorizations WHERE expires_at < $1",
                now,
            ),
            ("DELETE FROM revocations WHERE expires_at < $1", now),
            ("DELETE FROM assertion_jtis WHERE expires_at < $1", now),
            (
                "DELETE FROM refresh_tokens WHERE family_expires_at < $1",
                now,
            ),
            ("DELETE FROM sessions WHERE expires_at < $1", now),
            ("DELETE FROM throttle WHERE expires_at < $1", now),
            (
                "DELETE FROM logout_deliveries WHERE delivered_at < $1 - 86400 OR failed_at < $1 - 86400",
                now,
            ),
            ("DELETE FROM sms_sends WHERE sent_at < $1 - 86400", now),
        ];
        match &self.db {
            Db::Sqlite(db) => {
                // One statement per turn at the writer, so writes queued meanwhile wait
                // for one delete at most.
                let mut removed = 0;
                for (sql, before) in statements {
                    let writer = db.lock_writer_idle().await?;
                    removed += tokio::task::spawn_blocking(move || {
                        writer.conn.prepare_cached(sql)?.execute([before])
                    })
                    .await
                    .map_err(|e| StoreError::Database(e.to_string()))??
                        as u64;
                }
                Ok(removed)
            }
            Db::Postgres(_) => {
                let mut removed = 0;
                for (sql, before) in statements {
                    removed += db::query(sql).bind(before).execute(self.db.write()).await?;
                }
                Ok(removed)
            }
        }
    }

    /// Moves the SQLite write-ahead log into the database file (see
    /// `db::SqliteDb::checkpoint`); nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(db) => db.checkpoint().await,
            Db::Postgres(_) => Ok(()),
        }
    }

    pub async fn close(&self) {
        if let Db::Postgres(pool) = &self.db {
            pool.close().await;
        }
    }

    pub fn accounts(&self) -> Accounts<'_> {
        Accounts::new(&self.db)
    }
    pub fn clients(&self) -> Clients<'_> {
        Clients::new(&self.db)
    }
    pub fn codes(&self) -> Codes<'_> {
        Codes::new(&self.db, &self.audit_queue)
    }
    pub fn consents(&self) -> Consents<'_> {
        Consents::new(&self.db)
    }
    pub fn keys(&self) -> Keys<'_> {
        Keys::new(&self.db)
    }
    pub fn identities(&self) -> Identities<'_> {
        Identities::new(&self.db)
    }
    pub fn login_attempts(&self) -> LoginAttempts<'_> {
        LoginAttempts::new(&self.db)
    }
    pub fn passkeys(&self) -> Passkeys<'_> {
        Passkeys::new(&self.db)
    }
    pub fn pending(&self) -> Pending<'_> {
        Pending::new(&self.db)
    }
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions::new(&self.db)
    }
    pub fn session_clients(&self) -> SessionClients<'_> {
        SessionClients::new(&self.db)
    }
    pub fn logout_deliveries(&self) -> LogoutDeliveries<'_> {
        LogoutDeliveries::new(&self.db)
    }
    pub fn refresh_tokens(&self) -> RefreshTokens<'_> {
        RefreshTokens::new(&self.db, &self.audit_queue)
    }
    pub fn representations(&self) -> Representations<'_> {
        Representations::new(&self.db)
    }
    pub fn revocations(&self) -> Revocations<'_> {
        Revocations::new(&self.db)
    }
    pub fn assertion_jtis(&self) -> AssertionJtis<'_> {
        AssertionJtis::new(&self.db)
    }
    pub fn audit(&self) -> Audit<'_> {
        Audit::new(&self.db, &self.audit_queue)
    }
    pub fn sealed_secrets(&self) -> SealedSecrets<'_> {
        SealedSecrets::new(&self.db)
    }

    pub fn pairwise_subjects(&self) -> PairwiseSubjects<'_> {
        PairwiseSubjects::new(&self.db)
    }
    pub fn throttle(&self) -> Throttle<'_> {
        Throttle::new(&self.db)
    }

    pub fn sms_sends(&self) -> SmsSends<'_> {
        SmsSends::new(&self.db)
    }
}

/// Applies the SQLite migrations not yet applied, each in its own transaction, and
/// records them in sqlx's `_sqlx_migrations` table, in sqlx's format: a database
/// migrated by earlier versions (which used sqlx's SQLite driver) carries on as is.
fn migrate_sqlite(conn: &Connection, migrator: &Migrator) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations ( \
            version BIGINT PRIMARY KEY, \
            description TEXT NOT NULL, \
            installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, \
            success BOOLEAN NOT NULL, \
            checksum BLOB NOT NULL, \
            execution_time BIGINT NOT NULL)",
    )?;
    let applied: Vec<(i64, bool, Vec<u8>)> = conn
        .prepare("SELECT version, success, checksum FROM _sqlx_migrations")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for migration in migrator.iter() {
        match applied.iter().find(|(v, ..)| *v == migration.version) {
            Some((version, false, _)) => return Err(MigrateError::Dirty(*version).into()),
            Some((version, true, checksum)) if *checksum != *migration.checksum => {
                return Err(MigrateError::VersionMismatch(*version).into());
            }
            Some(_) => continue,
            None => {}
        }
        let started = std::time::Instant::now();
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(&migration.sql)?;
        tx.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (?1, ?2, TRUE, ?3, ?4)",
            rusqlite::params![
                migration.version,
                migration.description.as_ref(),
                migration.checksum.as_ref(),
                i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX),
            ],
        )?;
        tx.commit()?;
    }
    Ok(())
}

/// JSON text columns holding lists.
fn to_json_list(items: &[String]) -> String {
    serde_json::to_string(items).expect("a list of strings always serialises")
}

fn from_json_list(column: &str, text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}
