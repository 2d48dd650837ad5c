//! Storage: one repository per aggregate over one sqlx `Any` pool, so the queries are
//! written once for SQLite and PostgreSQL. Every query here is portable SQL with `$n`
//! placeholders; the dialect differences (connection set-up, migrations folder) live in
//! `Dialect` below and nowhere else.

mod accounts;
mod assertions;
mod audit;
mod clients;
mod codes;
mod consents;
mod keys;
mod logout_deliveries;
mod pending;
mod refresh;
mod revocations;
mod session_clients;
mod sessions;
mod subjects;

use std::path::Path;
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use accounts::{Account, AccountKind, Accounts, Address, NewAccount};
pub use assertions::AssertionJtis;
pub use audit::{Audit, AuditEvent};
pub use clients::{AuthMethod, Client, Clients, GrantType, SubjectType};
pub use codes::{AuthorizationCode, Codes, ConsumeOutcome};
pub use consents::Consents;
pub use keys::{Keys, StoredKey};
pub use logout_deliveries::{LogoutDeliveries, LogoutDelivery};
pub use pending::{Pending, PendingAuthorization};
pub use refresh::{RefreshToken, RefreshTokens, Rotation};
pub use revocations::{Revocations, grant_key, jti_key, sid_key};
pub use session_clients::{SessionClient, SessionClients};
pub use sessions::{Session, SessionSummary, Sessions};
pub use subjects::PairwiseSubjects;

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (or did not answer in time): a 503.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    #[error("database error: {0}")]
    Database(sqlx::Error),
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
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e),
            // PostgreSQL classes 08 (connection exception) and 57 (operator intervention:
            // shutdown, cancelled by statement_timeout): the database, not the query.
            sqlx::Error::Database(db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57")) =>
            {
                StoreError::Unavailable(e)
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            _ => StoreError::Database(e),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    fn of(url: &str) -> Dialect {
        if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            Dialect::Postgres
        }
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The connection pools: every read goes to `read`, every write to `write`. On
/// SQLite, `write` is one connection, so writers queue in the pool (first come, first
/// served) instead of polling SQLite's lock with growing sleeps, and readers never wait
/// for them (WAL). On PostgreSQL both are the same pool.
#[derive(Clone, Debug)]
pub struct Pools {
    read: AnyPool,
    write: AnyPool,
}

#[derive(Clone, Debug)]
pub struct Store {
    pools: Pools,
    dialect: Dialect,
}

impl Store {
    pub async fn connect(config: &Config) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of(&config.database_url);
        let url = match dialect {
            Dialect::Sqlite => sqlite_url(&config.database_url)?,
            Dialect::Postgres => config.database_url.clone(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let statement_timeout_ms = config.database.statement_timeout.as_millis();
        let pool_with = |size: u32| {
            AnyPoolOptions::new()
                .max_connections(size)
                .acquire_timeout(config.database.acquire_timeout)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        match dialect {
                            // Set here, on every connection: the Any driver does not
                            // apply sqlx's SQLite defaults. WAL lets readers run beside
                            // the writer; in WAL mode NORMAL is durable against
                            // application crashes and needs no fsync per commit.
                            Dialect::Sqlite => {
                                conn.execute(
                                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                                )
                                .await?;
                            }
                            Dialect::Postgres => {
                                conn.execute(
                                    format!("SET statement_timeout = {statement_timeout_ms}")
                                        .as_str(),
                                )
                                .await?;
                            }
                        }
                        Ok(())
                    })
                })
        };
        let read = pool_with(config.database.max_connections)
            .connect_with(options.clone())
            .await?;
        let write = match dialect {
            Dialect::Sqlite => pool_with(1).connect_with(options).await?,
            Dialect::Postgres => read.clone(),
        };
        Ok(Store {
            pools: Pools { read, write },
            dialect,
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pools.write).await?;
        Ok(())
    }

    /// A round trip to the database, for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pools.read).await?;
        Ok(())
    }

    /// Deletes rows no longer needed by anyone: expired codes, pending requests,
    /// sessions, refresh tokens, deny-list entries, assertion `jti`s, and logout
    /// deliveries finished a day ago. Answers the number of rows removed.
    pub async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        let statements = [
            "DELETE FROM authorization_codes WHERE expires_at < $1",
            "DELETE FROM pending_authorizations WHERE expires_at < $1",
            "DELETE FROM revocations WHERE expires_at < $1",
            "DELETE FROM assertion_jtis WHERE expires_at < $1",
            "DELETE FROM refresh_tokens WHERE family_expires_at < $1",
            "DELETE FROM sessions WHERE expires_at < $1",
            "DELETE FROM logout_deliveries WHERE delivered_at < $1 - 86400 OR failed_at < $1 - 86400",
        ];
        let mut removed = 0;
        for sql in statements {
            removed += sqlx::query(sql)
                .bind(now)
                .execute(&self.pools.write)
                .await?
                .rows_affected();
        }
        Ok(removed)
    }

    pub async fn close(&self) {
        self.pools.read.close().await;
        self.pools.write.close().await;
    }

    pub fn accounts(&self) -> Accounts<'_> {
        Accounts::new(&self.pools)
    }
    pub fn clients(&self) -> Clients<'_> {
        Clients::new(&self.pools)
    }
    pub fn codes(&self) -> Codes<'_> {
        Codes::new(&self.pools)
    }
    pub fn consents(&self) -> Consents<'_> {
        Consents::new(&self.pools)
    }
    pub fn keys(&self) -> Keys<'_> {
        Keys::new(&self.pools)
    }
    pub fn pending(&self) -> Pending<'_> {
        Pending::new(&self.pools)
    }
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions::new(&self.pools)
    }
    pub fn session_clients(&self) -> SessionClients<'_> {
        SessionClients::new(&self.pools)
    }
    pub fn logout_deliveries(&self) -> LogoutDeliveries<'_> {
        LogoutDeliveries::new(&self.pools)
    }
    pub fn refresh_tokens(&self) -> RefreshTokens<'_> {
        RefreshTokens::new(&self.pools)
    }
    pub fn revocations(&self) -> Revocations<'_> {
        Revocations::new(&self.pools)
    }
    pub fn assertion_jtis(&self) -> AssertionJtis<'_> {
        AssertionJtis::new(&self.pools)
    }
    pub fn audit(&self) -> Audit<'_> {
        Audit::new(&self.pools)
    }
    pub fn pairwise_subjects(&self) -> PairwiseSubjects<'_> {
        PairwiseSubjects::new(&self.pools)
    }
}

/// Creates the SQLite file's folder and asks sqlx to create the file.
fn sqlite_url(url: &str) -> Result<String, StoreError> {
    let path_part = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path_part.split('?').next().unwrap_or_default();
    if !path.is_empty() && path != ":memory:" {
        if let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Corrupt(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
    }
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// JSON text columns holding lists.
fn to_json_list(items: &[String]) -> String {
    serde_json::to_string(items).expect("a list of strings always serialises")
}

fn from_json_list(column: &str, text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}
