//! The database handle under the repositories: one query API, two engines.
//!
//! Queries are written once, with `$n` placeholders, and run on either engine:
//! - PostgreSQL through sqlx's connection pool (a network round trip per statement).
//! - SQLite through rusqlite on the calling task's own thread, with group commit
//!   (`super::sqlite`).

use std::borrow::Cow;
use std::sync::Arc;

use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;
use sqlx::postgres::{PgArguments, PgPool, PgRow};
use sqlx::{Postgres, Row as _, TypeInfo as _, ValueRef as _};
use tokio::sync::OwnedMutexGuard;

use super::StoreError;
use super::audit::NewEvent;
use super::sqlite::{Joined, SqliteDb, Writer};

#[derive(Clone, Debug)]
pub(crate) enum Db {
    Sqlite(Arc<SqliteDb>),
    Postgres(PgPool),
}

/// Where a statement runs.
pub(crate) enum On<'a> {
    Read(&'a Db),
    Write(&'a Db),
    Tx(&'a mut Tx),
}

impl Db {
    pub(crate) fn read(&self) -> On<'_> {
        On::Read(self)
    }

    pub(crate) fn write(&self) -> On<'_> {
        On::Write(self)
    }

    /// An SQL expression for the database server's own clock, in unix seconds: one
    /// clock for every node (their clocks may differ).
    pub(crate) fn now_expr(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "CAST(strftime('%s', 'now') AS INTEGER)",
            Db::Postgres(_) => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)",
        }
    }

    /// A transaction on the writer. On SQLite it is a savepoint in the writer's batch,
    /// which holds SQLite's write lock from its start (`BEGIN IMMEDIATE`), so it never
    /// fails half-way on a lock upgrade.
    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Db::Sqlite(db) => {
                let mut writer = db.lock_writer().await?;
                let joined = writer.join()?;
                if let Err(e) = writer.conn.execute_batch("SAVEPOINT tx") {
                    drop(joined);
                    db.release_now(writer);
                    return Err(e.into());
                }
                Tx::Sqlite(Some(SqliteTx {
                    db: db.clone(),
                    audit_mark: writer.audit_events.len(),
                    writer,
                    joined,
                }))
            }
            Db::Postgres(pool) => Tx::Postgres(Some(pool.begin().await?)),
        })
    }
}

/// A transaction: rolled back when dropped without `commit`.
pub(crate) enum Tx {
    Sqlite(Option<SqliteTx>),
    Postgres(Option<sqlx::Transaction<'static, Postgres>>),
}

pub(crate) struct SqliteTx {
    db: Arc<SqliteDb>,
    writer: OwnedMutexGuard<Writer>,
    joined: Joined,
    /// The batch's audit events before this transaction: a rollback drops the rest.
    audit_mark: usize,
}

impl SqliteTx {
    /// Undoes the savepoint and the audit events handed over inside it.
    fn undo(&mut self) -> rusqlite::Result<()> {
        self.writer.audit_events.truncate(self.audit_mark);
        self.writer.conn.execute_batch("ROLLBACK TO tx; RELEASE tx")
    }
}

impl Tx {
    pub(crate) fn on(&mut self) -> On<'_> {
        On::Tx(self)
    }

    /// On SQLite, the audit events of the writer's batch, which it appends to the chain
    /// when it commits (`audit::append_at_batch_commit`); `None` on PostgreSQL.
    pub(crate) fn batch_audit_events(&mut self) -> Option<&mut Vec<NewEvent>> {
        match self {
            Tx::Sqlite(Some(tx)) => Some(&mut tx.writer.audit_events),
            _ => None,
        }
    }

    /// Commits; on SQLite, answers once the batch holding the transaction is committed.
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        match &mut self {
            Tx::Sqlite(tx) => {
                if let Some(inner) = tx.take() {
                    if let Err(e) = inner.writer.conn.execute_batch("RELEASE tx") {
                        // Dropping `self` now rolls the savepoint back.
                        *tx = Some(inner);
                        return Err(e.into());
                    }
                    inner.db.release(inner.writer, inner.joined).await?;
                }
            }
            Tx::Postgres(tx) => {
                if let Some(tx) = tx.take() {
                    tx.commit().await?;
                }
            }
        }
        Ok(())
    }
}

impl Tx {
    /// Rolls back; on SQLite, answers once the batch the transaction was part of is
    /// committed, so that what it read there (writes of others in the same batch) is
    /// committed too before the caller reads again elsewhere.
    pub(crate) async fn rollback(mut self) -> Result<(), StoreError> {
        match &mut self {
            Tx::Sqlite(tx) => {
                if let Some(mut inner) = tx.take() {
                    let undone = inner.undo();
                    inner.db.release(inner.writer, inner.joined).await?;
                    undone?;
                }
            }
            Tx::Postgres(tx) => {
                if let Some(tx) = tx.take() {
                    tx.rollback().await?;
                }
            }
        }
        Ok(())
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if let Tx::Sqlite(tx) = self
            && let Some(mut inner) = tx.take()
        {
            // Undoes this transaction only; the batch may hold other writes. Nothing to
            // report to: the statement that failed already did.
            let _ = inner.undo();
            inner.db.release_now(inner.writer);
        }
    }
}

/// A bound value.
#[derive(Debug, Clone)]
pub(crate) enum Arg<'q> {
    Int(Option<i64>),
    Text(Option<Cow<'q, str>>),
    Blob(Option<Cow<'q, [u8]>>),
}

pub(crate) trait Bind<'q> {
    fn arg(self) -> Arg<'q>;
}

impl<'q> Bind<'q> for i64 {
    fn arg(self) -> Arg<'q> {
        Arg::Int(Some(self))
    }
}
impl<'q> Bind<'q> for Option<i64> {
    fn arg(self) -> Arg<'q> {
        Arg::Int(self)
    }
}
/// Flags are stored as 0 or 1 (SMALLINT on PostgreSQL, INTEGER on SQLite).
impl<'q> Bind<'q> for bool {
    fn arg(self) -> Arg<'q> {
        Arg::Int(Some(i64::from(self)))
    }
}
impl<'q> Bind<'q> for &'q str {
    fn arg(self) -> Arg<'q> {
        Arg::Text(Some(Cow::Borrowed(self)))
    }
}
impl<'q> Bind<'q> for &'q String {
    fn arg(self) -> Arg<'q> {
        Arg::Text(Some(Cow::Borrowed(self)))
    }
}
impl<'q> Bind<'q> for String {
    fn arg(self) -> Arg<'q> {
        Arg::Text(Some(Cow::Owned(self)))
    }
}
impl<'q> Bind<'q> for Option<&'q str> {
    fn arg(self) -> Arg<'q> {
        Arg::Text(self.map(Cow::Borrowed))
    }
}
impl<'q> Bind<'q> for Option<String> {
    fn arg(self) -> Arg<'q> {
        Arg::Text(self.map(Cow::Owned))
    }
}
impl<'q> Bind<'q> for &'q [u8] {
    fn arg(self) -> Arg<'q> {
        Arg::Blob(Some(Cow::Borrowed(self)))
    }
}
impl<'q> Bind<'q> for Vec<u8> {
    fn arg(self) -> Arg<'q> {
        Arg::Blob(Some(Cow::Owned(self)))
    }
}

/// A statement and its arguments; `$n` refers to the n-th `bind`.
pub(crate) struct Query<'q> {
    sql: &'q str,
    args: Vec<Arg<'q>>,
}

pub(crate) fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        args: Vec::new(),
    }
}

impl<'q> Query<'q> {
    pub(crate) fn bind(mut self, value: impl Bind<'q>) -> Self {
        self.args.push(value.arg());
        self
    }

    /// Runs a statement that returns no rows; answers the number of rows changed.
    pub(crate) async fn execute(self, on: On<'_>) -> Result<u64, StoreError> {
        Ok(self.run(on, Want::Changes).await?.0)
    }

    pub(crate) async fn fetch_all(self, on: On<'_>) -> Result<Vec<Row>, StoreError> {
        Ok(self.run(on, Want::Rows).await?.1)
    }

    pub(crate) async fn fetch_optional(self, on: On<'_>) -> Result<Option<Row>, StoreError> {
        Ok(self.run(on, Want::Rows).await?.1.into_iter().next())
    }

    pub(crate) async fn fetch_one(self, on: On<'_>) -> Result<Row, StoreError> {
        self.fetch_optional(on)
            .await?
            .ok_or_else(|| StoreError::Database("a statement returned no row".into()))
    }

    /// Runs a statement that returns no rows on an SQLite connection held already (the
    /// writer, inside its batch's transaction).
    pub(crate) fn execute_on(self, conn: &Connection) -> Result<u64, StoreError> {
        Ok(run_sqlite(conn, &self, Want::Changes)?.0)
    }

    /// Runs a statement that returns one row on an SQLite connection held already.
    pub(crate) fn fetch_one_on(self, conn: &Connection) -> Result<Row, StoreError> {
        run_sqlite(conn, &self, Want::Rows)?
            .1
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Database("a statement returned no row".into()))
    }

    async fn run(self, on: On<'_>, want: Want) -> Result<(u64, Vec<Row>), StoreError> {
        match on {
            On::Read(Db::Sqlite(db)) => Ok(db.read(|conn| run_sqlite(conn, &self, want)).await??),
            On::Write(Db::Sqlite(db)) => {
                let mut writer = db.lock_writer().await?;
                let joined = writer.join()?;
                let done = run_sqlite(&writer.conn, &self, want);
                // The commit's outcome first: a statement error inside a batch that then
                // failed to commit is not the story.
                db.release(writer, joined).await?;
                Ok(done?)
            }
            On::Tx(Tx::Sqlite(tx)) => {
                let tx = tx
                    .as_ref()
                    .ok_or_else(|| StoreError::Database("transaction already ended".into()))?;
                Ok(run_sqlite(&tx.writer.conn, &self, want)?)
            }
            On::Read(Db::Postgres(pool)) | On::Write(Db::Postgres(pool)) => {
                run_postgres(self.postgres(), pool, want).await
            }
            On::Tx(Tx::Postgres(tx)) => {
                let conn = tx
                    .as_mut()
                    .ok_or_else(|| StoreError::Database("transaction already ended".into()))?;
                run_postgres(self.postgres(), &mut **conn, want).await
            }
        }
    }

    fn postgres(self) -> sqlx::query::Query<'q, Postgres, PgArguments> {
        let mut query = sqlx::query(self.sql);
        for arg in self.args {
            query = match arg {
                Arg::Int(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
                Arg::Blob(v) => query.bind(v.map(Cow::into_owned)),
            };
        }
        query
    }
}

#[derive(Clone, Copy)]
enum Want {
    Changes,
    Rows,
}

async fn run_postgres<'q, 'c, E>(
    query: sqlx::query::Query<'q, Postgres, PgArguments>,
    executor: E,
    want: Want,
) -> Result<(u64, Vec<Row>), StoreError>
where
    E: sqlx::Executor<'c, Database = Postgres>,
{
    Ok(match want {
        Want::Changes => (query.execute(executor).await?.rows_affected(), Vec::new()),
        Want::Rows => {
            let rows = query.fetch_all(executor).await?;
            (0, rows.into_iter().map(Row::Postgres).collect())
        }
    })
}

/// Runs one statement on an SQLite connection, from its prepared-statement cache.
fn run_sqlite(
    conn: &Connection,
    query: &Query<'_>,
    want: Want,
) -> rusqlite::Result<(u64, Vec<Row>)> {
    let mut statement = conn.prepare_cached(query.sql)?;
    for index in 1..=statement.parameter_count() {
        let arg = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| query.args.get(n.wrapping_sub(1)))
            .ok_or_else(|| rusqlite::Error::InvalidParameterCount(index, query.args.len()))?;
        match arg {
            Arg::Int(v) => statement.raw_bind_parameter(index, v)?,
            Arg::Text(v) => statement.raw_bind_parameter(index, v.as_deref())?,
            Arg::Blob(v) => statement.raw_bind_parameter(index, v.as_deref())?,
        }
    }
    if let Want::Changes = want {
        return Ok((statement.raw_execute()? as u64, Vec::new()));
    }
    let columns: Arc<[String]> = statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let values = (0..columns.len())
            .map(|i| row.get::<_, SqlValue>(i))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.push(Row::Sqlite {
            columns: columns.clone(),
            values,
        });
    }
    Ok((conn.changes(), out))
}

/// A result row of either engine, read by column name.
pub(crate) enum Row {
    Sqlite {
        columns: Arc<[String]>,
        values: Vec<SqlValue>,
    },
    Postgres(PgRow),
}

impl Row {
    pub(crate) fn get<T: Column>(&self, column: &str) -> Result<T, StoreError> {
        match self {
            Row::Sqlite { columns, values } => {
                let value = columns
                    .iter()
                    .position(|c| c == column)
                    .map(|i| &values[i])
                    .ok_or_else(|| StoreError::Corrupt(format!("no column {column}")))?;
                T::from_sqlite(value).ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "column {column}: unexpected {:?}",
                        value.data_type()
                    ))
                })
            }
            Row::Postgres(row) => T::from_postgres(row, column)
                .map_err(|e| StoreError::Corrupt(format!("column {column}: {e}"))),
        }
    }
}

/// A Rust type a column can be read as.
pub(crate) trait Column: Sized {
    /// `None` when the value has another type.
    fn from_sqlite(value: &SqlValue) -> Option<Self>;
    fn from_postgres(row: &PgRow, column: &str) -> Result<Self, sqlx::Error>;
}

impl Column for i64 {
    fn from_sqlite(value: &SqlValue) -> Option<Self> {
        match value {
            SqlValue::Integer(i) => Some(*i),
            _ => None,
        }
    }
    /// Any integer width: flags are SMALLINT, counts BIGINT.
    fn from_postgres(row: &PgRow, column: &str) -> Result<Self, sqlx::Error> {
        match row.try_get_raw(column)?.type_info().name() {
            "INT2" => row.try_get::<i16, _>(column).map(i64::from),
            "INT4" => row.try_get::<i32, _>(column).map(i64::from),
            _ => row.try_get::<i64, _>(column),
        }
    }
}

impl Column for bool {
    fn from_sqlite(value: &SqlValue) -> Option<Self> {
        i64::from_sqlite(value).map(|i| i != 0)
    }
    /// A boolean expression (`EXISTS`), or a flag column (0 or 1).
    fn from_postgres(row: &PgRow, column: &str) -> Result<Self, sqlx::Error> {
        match row.try_get_raw(column)?.type_info().name() {
            "BOOL" => row.try_get(column),
            _ => i64::from_postgres(row, column).map(|i| i != 0),
        }
    }
}

impl Column for String {
    fn from_sqlite(value: &SqlValue) -> Option<Self> {
        match value {
            SqlValue::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
    fn from_postgres(row: &PgRow, column: &str) -> Result<Self, sqlx::Error> {
        row.try_get(column)
    }
}

impl Column for Vec<u8> {
    fn from_sqlite(value: &SqlValue) -> Option<Self> {
        match value {
            SqlValue::Blob(b) => Some(b.clone()),
            _ => None,
        }
    }
    fn from_postgres(row: &PgRow, column: &str) -> Result<Self, sqlx::Error> {
        row.try_get(column)
    }
}

impl<T: Column> Column for Option<T> {
    fn from_sqlite(value: &SqlValue) -> Option<Self> {
        match value {
            SqlValue::Null => Some(None),
            other => T::from_sqlite(other).map(Some),
        }
    }
    fn from_postgres(row: &PgRow, column: &str) -> Result<Self, sqlx::Error> {
        if row.try_get_raw(column)?.is_null() {
            Ok(None)
        } else {
            T::from_postgres(row, column).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Db {
        let path = super::super::sqlite::SqlitePath::parse("sqlite::memory:");
        Db::Sqlite(Arc::new(
            SqliteDb::open(&path, std::time::Duration::from_secs(5)).unwrap(),
        ))
    }

    #[tokio::test]
    async fn binds_by_placeholder_number_and_reads_by_column_name() {
        let db = memory();
        query("CREATE TABLE t (a INTEGER NOT NULL, b TEXT, c BLOB)")
            .execute(db.write())
            .await
            .unwrap();
        // $2 before $1, and $1 twice: bound by number, not by position.
        query("INSERT INTO t (b, a, c) VALUES ($2, $1 + $1, $3)")
            .bind(21_i64)
            .bind(Some("x"))
            .bind(vec![1_u8, 2])
            .execute(db.write())
            .await
            .unwrap();
        let row = query("SELECT a, b, c FROM t WHERE a = $1")
            .bind(42_i64)
            .fetch_one(db.read())
            .await
            .unwrap();
        assert_eq!(row.get::<i64>("a").unwrap(), 42);
        assert_eq!(
            row.get::<Option<String>>("b").unwrap().as_deref(),
            Some("x")
        );
        assert_eq!(row.get::<Vec<u8>>("c").unwrap(), vec![1, 2]);
        assert!(matches!(
            row.get::<String>("a"),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(row.get::<i64>("zz"), Err(StoreError::Corrupt(_))));
    }

    #[tokio::test]
    async fn a_dropped_transaction_rolls_back_and_a_unique_violation_is_a_conflict() {
        let db = memory();
        query("CREATE TABLE t (k TEXT PRIMARY KEY)")
            .execute(db.write())
            .await
            .unwrap();
        {
            let mut tx = db.begin().await.unwrap();
            query("INSERT INTO t (k) VALUES ($1)")
                .bind("gone")
                .execute(tx.on())
                .await
                .unwrap();
        }
        let mut tx = db.begin().await.unwrap();
        query("INSERT INTO t (k) VALUES ($1)")
            .bind("kept")
            .execute(tx.on())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let keys: Vec<String> = query("SELECT k FROM t")
            .fetch_all(db.read())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("k").unwrap())
            .collect();
        assert_eq!(keys, ["kept"]);
        let again = query("INSERT INTO t (k) VALUES ($1)")
            .bind("kept")
            .execute(db.write())
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))));
    }
}
