//! SQLite under the store: connections, group commit and checkpoints.
//!
//! Statements run through rusqlite on the calling task's own thread: on a warm file a
//! statement takes microseconds, less than handing it to a worker thread and back.
//! Connections sit behind async mutexes: one writer and a few readers, which WAL lets
//! run beside the writer.
//!
//! **Group commit.** SQLite has one writer at a time, and each commit writes every page
//! it touched to the WAL and takes and releases file locks. Writes therefore join a
//! *batch*: one open transaction on the writer, committed when no other write is queued
//! behind it (so a lone write commits at once), or when the batch holds
//! `BATCH_MAX_WRITES` writes or is `BATCH_MAX_AGE` old. Every write waits for its
//! batch's commit before it answers, so a caller never sees a write that is not yet
//! committed, and a failed commit fails every write in it. (Committed means durable
//! against a crash of the process; with `synchronous = NORMAL` a power failure may
//! lose the last commits, docs/deployment.md.) A statement that fails inside
//! a batch is undone by SQLite alone (statement atomicity); a multi-statement
//! transaction is a savepoint inside the batch (`Tx`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use super::StoreError;
use super::audit::{NewEvent, append_at_batch_commit};

/// Readers per database: statements run on the request's thread, so more than the
/// runtime's threads (plus a margin for blocking tasks) would never be used at once.
const READERS: usize = 4;

/// Prepared statements kept per connection: every query of the repositories.
const STATEMENT_CACHE: usize = 128;

/// A batch commits once it holds this many writes, even with more queued.
const BATCH_MAX_WRITES: u32 = 64;

/// ... or once it is this old; also how long a write waits for someone else to commit
/// its batch before committing it itself.
const BATCH_MAX_AGE: Duration = Duration::from_millis(2);

/// WAL pages after which a commit checkpoints by itself: only when `checkpoint` is not
/// being called (a command-line process; the server calls it every second).
const WAL_AUTOCHECKPOINT_PAGES: u32 = 50_000;

/// What a batch's writers learn when it ends: `Err` if the commit failed.
type Outcome = Option<Result<(), String>>;

pub(crate) struct SqliteDb {
    writer: Arc<Mutex<Writer>>,
    /// Tasks waiting for the writer: a write commits its batch only when none is.
    waiting: AtomicUsize,
    readers: Box<[Mutex<Connection>]>,
    next_reader: AtomicUsize,
    /// How long a statement waits for a connection before failing with 503
    /// (`database.acquire_timeout`).
    acquire_timeout: Duration,
    /// Copies the WAL into the database file beside the writer (`checkpoint`); none
    /// for an in-memory database.
    checkpointer: Option<Arc<std::sync::Mutex<Connection>>>,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb")
            .field("readers", &self.readers.len())
            .finish()
    }
}

/// The writer connection and the batch open on it.
pub(crate) struct Writer {
    pub(crate) conn: Connection,
    batch: Option<Batch>,
    batches: u64,
    /// The audit events of the open batch's transactions, appended to the chain when it
    /// commits: one take of the chain's head for the batch, not one for each event.
    pub(crate) audit_events: Vec<NewEvent>,
}

struct Batch {
    id: u64,
    started: Instant,
    writes: u32,
    done: watch::Sender<Outcome>,
}

/// A write's place in a batch.
pub(crate) struct Joined {
    batch: u64,
    done: watch::Receiver<Outcome>,
}

impl Writer {
    /// Joins the open batch, opening one (`BEGIN IMMEDIATE`) if there is none.
    pub(crate) fn join(&mut self) -> Result<Joined, StoreError> {
        self.end_if_rolled_back();
        if self.batch.is_none() {
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.batches += 1;
            self.batch = Some(Batch {
                id: self.batches,
                started: Instant::now(),
                writes: 0,
                done: watch::channel(None).0,
            });
        }
        let batch = self.batch.as_mut().expect("a batch was just opened");
        batch.writes += 1;
        Ok(Joined {
            batch: batch.id,
            done: batch.done.subscribe(),
        })
    }

    /// Ends a batch whose transaction SQLite has already rolled back (it does so on
    /// some errors: a full disk, an I/O error, no memory), failing its writes: a
    /// later write must not run outside a transaction while its batch looks open.
    fn end_if_rolled_back(&mut self) {
        if self.batch.is_some() && self.conn.is_autocommit() {
            let batch = self.batch.take().expect("checked just above");
            self.audit_events.clear();
            tracing::error!(
                writes = batch.writes,
                "SQLite rolled the batch back after an error"
            );
            batch.done.send_replace(Some(Err(
                "the transaction was rolled back after an error".into()
            )));
        }
    }

    /// Commits the open batch, if any, and tells its writers how it went.
    pub(crate) fn commit(&mut self) {
        self.end_if_rolled_back();
        let Some(batch) = self.batch.take() else {
            return;
        };
        let events = std::mem::take(&mut self.audit_events);
        let outcome = append_at_batch_commit(&self.conn, &events)
            .map_err(|e| format!("audit events: {e}"))
            .and_then(|()| self.conn.execute_batch("COMMIT").map_err(|e| e.to_string()))
            .inspect_err(|_| {
                // The transaction may be gone already (SQLite rolls back on some I/O
                // errors); roll back in case it is not.
                let _ = self.conn.execute_batch("ROLLBACK");
            });
        if let Err(e) = &outcome {
            tracing::error!(error = %e, writes = batch.writes, "SQLite commit failed");
        }
        batch.done.send_replace(Some(outcome));
    }

    fn batch_is_full(&self) -> bool {
        self.batch
            .as_ref()
            .is_some_and(|b| b.writes >= BATCH_MAX_WRITES || b.started.elapsed() >= BATCH_MAX_AGE)
    }

    fn holds_batch(&self, id: u64) -> bool {
        self.batch.as_ref().is_some_and(|b| b.id == id)
    }
}

impl SqliteDb {
    /// Opens the writer and the readers of a database file (created if missing). An
    /// in-memory database has only the one connection, which reads too.
    pub(crate) fn open(
        path: &SqlitePath,
        acquire_timeout: Duration,
    ) -> Result<SqliteDb, StoreError> {
        if let SqlitePath::File(file) = path {
            make_private(file)?;
        }
        let writer = open(path, false)?;
        let (readers, checkpointer) = match path {
            SqlitePath::File(_) => (
                (0..READERS)
                    .map(|_| open(path, true).map(Mutex::new))
                    .collect::<Result<Box<[_]>, _>>()?,
                Some(Arc::new(std::sync::Mutex::new(open(path, false)?))),
            ),
            SqlitePath::Memory => (Box::default(), None),
        };
        Ok(SqliteDb {
            writer: Arc::new(Mutex::new(Writer {
                conn: writer,
                batch: None,
                batches: 0,
                audit_events: Vec::new(),
            })),
            waiting: AtomicUsize::new(0),
            readers,
            next_reader: AtomicUsize::new(0),
            acquire_timeout,
            checkpointer,
        })
    }

    /// Runs `f` on a reader: a free one if there is one, else the next in turn.
    pub(crate) async fn read<R>(&self, f: impl FnOnce(&Connection) -> R) -> Result<R, StoreError> {
        if self.readers.is_empty() {
            // In memory, the writer reads too: after committing what it holds, so a read
            // never sees an uncommitted write, and without counting as a waiting write.
            let mut writer = self.within_acquire_timeout(self.writer.lock()).await?;
            writer.commit();
            return Ok(f(&writer.conn));
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let count = self.readers.len();
        for i in 0..count {
            if let Ok(conn) = self.readers[(start + i) % count].try_lock() {
                return Ok(f(&conn));
            }
        }
        let conn = self
            .within_acquire_timeout(self.readers[start % count].lock())
            .await?;
        Ok(f(&conn))
    }

    async fn within_acquire_timeout<T>(
        &self,
        acquire: impl Future<Output = T>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.acquire_timeout, acquire)
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "no SQLite connection free within {:?}",
                    self.acquire_timeout
                ))
            })
    }

    /// The writer, once the writes queued before this call have had it (503 after
    /// `database.acquire_timeout`).
    pub(crate) async fn lock_writer(&self) -> Result<OwnedMutexGuard<Writer>, StoreError> {
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.waiting);
        self.within_acquire_timeout(self.writer.clone().lock_owned())
            .await
    }

    /// The writer with no batch open: for work outside batches (migrations, purges,
    /// checkpoints).
    pub(crate) async fn lock_writer_idle(&self) -> Result<OwnedMutexGuard<Writer>, StoreError> {
        let mut writer = self.lock_writer().await?;
        writer.commit();
        Ok(writer)
    }

    /// Hands the writer back after a write and answers once the write's batch is
    /// committed. The batch commits now if no other write is waiting or it is full;
    /// otherwise the writes queued behind carry it on, and this one waits.
    pub(crate) async fn release(
        &self,
        mut writer: OwnedMutexGuard<Writer>,
        joined: Joined,
    ) -> Result<(), StoreError> {
        if self.waiting.load(Ordering::Acquire) == 0 || writer.batch_is_full() {
            writer.commit();
        }
        drop(writer);
        self.committed(joined).await
    }

    /// Hands the writer back after a write that waits for nothing (a transaction
    /// dropped without commit or rollback): commits the batch, which may hold other
    /// writes, unless writes queued behind will, and always if nobody waits on it.
    pub(crate) fn release_now(&self, mut writer: OwnedMutexGuard<Writer>) {
        let unattended = writer
            .batch
            .as_ref()
            .is_some_and(|b| b.done.receiver_count() == 0);
        if unattended || self.waiting.load(Ordering::Acquire) == 0 || writer.batch_is_full() {
            writer.commit();
        }
    }

    /// Waits for a batch to end. Should the writes behind it not commit it in time (they
    /// were cancelled, say), commits it itself; if this wait is cancelled, commits it
    /// on the way out when the writer is free, so no batch stays open unattended.
    async fn committed(&self, mut joined: Joined) -> Result<(), StoreError> {
        struct CommitIfLeft<'a> {
            db: &'a SqliteDb,
            batch: u64,
            armed: bool,
        }
        impl Drop for CommitIfLeft<'_> {
            fn drop(&mut self) {
                if self.armed {
                    if let Ok(mut writer) = self.db.writer.try_lock() {
                        if writer.holds_batch(self.batch) {
                            writer.commit();
                        }
                    }
                }
            }
        }
        let mut guard = CommitIfLeft {
            db: self,
            batch: joined.batch,
            armed: true,
        };
        loop {
            let waited = tokio::time::timeout(BATCH_MAX_AGE, joined.done.wait_for(Option::is_some))
                .await
                .map(|ended| ended.map(|outcome| outcome.clone()));
            match waited {
                Ok(Ok(outcome)) => {
                    guard.armed = false;
                    return match outcome {
                        Some(Ok(())) => Ok(()),
                        Some(Err(e)) => Err(StoreError::Unavailable(format!("commit failed: {e}"))),
                        None => unreachable!("wait_for returned an unended batch"),
                    };
                }
                Ok(Err(_)) => {
                    guard.armed = false;
                    return Err(StoreError::Unavailable(
                        "the database closed before the write was committed".into(),
                    ));
                }
                Err(_late) => {
                    // Commit it ourselves once we get the writer, unless it ends first
                    // (no acquire timeout here: the write may be committed meanwhile, and
                    // only its outcome may answer).
                    tokio::select! {
                        _ = joined.done.wait_for(Option::is_some) => {}
                        mut writer = self.writer.clone().lock_owned() => {
                            if writer.holds_batch(joined.batch) || writer.batch_is_full() {
                                writer.commit();
                            }
                        }
                    }
                }
            }
        }
    }

    /// Commits a batch left open longer than it should be: the server's once-a-second
    /// safety net behind `committed`.
    pub(crate) fn commit_stale_batch(&self) {
        if let Ok(mut writer) = self.writer.try_lock() {
            if writer
                .batch
                .as_ref()
                .is_some_and(|b| b.started.elapsed() >= BATCH_MAX_AGE * 50)
            {
                writer.commit();
            }
        }
    }

    /// Copies what the WAL holds into the database file, so the WAL starts over
    /// instead of growing. Commits do not do it themselves (`wal_autocheckpoint` is
    /// only a safety net): a checkpoint copies pages and syncs the file, and inside a
    /// commit it would hold the writer and a request thread meanwhile. Here the bulk
    /// is copied on a blocking thread beside the writer; only if writers appended
    /// frames during that copy is the short rest copied while holding the writer, since
    /// the WAL restarts only once everything in it is in the file.
    pub(crate) async fn checkpoint(&self) -> Result<(), StoreError> {
        self.commit_stale_batch();
        let Some(checkpointer) = self.checkpointer.clone() else {
            return Ok(());
        };
        let complete = tokio::task::spawn_blocking(move || {
            let conn = checkpointer.lock().unwrap_or_else(|e| e.into_inner());
            passive_checkpoint(&conn)
        })
        .await
        .map_err(|e| StoreError::Database(e.to_string()))??;
        if !complete {
            let writer = self.lock_writer_idle().await?;
            tokio::task::spawn_blocking(move || passive_checkpoint(&writer.conn))
                .await
                .map_err(|e| StoreError::Database(e.to_string()))??;
        }
        Ok(())
    }
}

/// Answers whether every frame of the WAL is now in the database file.
fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        let (busy, log, done): (i64, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
        Ok(busy == 0 && log == done)
    })
}

/// Where an SQLite database lives: a file, or memory (gone when the process ends).
#[derive(Debug, Clone)]
pub(crate) enum SqlitePath {
    File(PathBuf),
    Memory,
}

impl SqlitePath {
    /// Parses `sqlite://path`, `sqlite:path` or `sqlite::memory:`; the query string, if
    /// any, is ignored (the file is always created when missing).
    pub(crate) fn parse(url: &str) -> SqlitePath {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            SqlitePath::Memory
        } else {
            SqlitePath::File(PathBuf::from(path))
        }
    }
}

fn open(path: &SqlitePath, reader: bool) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match path {
        SqlitePath::File(file) => Connection::open_with_flags(file, flags)?,
        SqlitePath::Memory => Connection::open_in_memory()?,
    };
    // WAL lets readers run beside the writer; in WAL mode NORMAL is durable against
    // application crashes and needs no fsync per commit. Each transaction of a batch is
    // a savepoint, whose undo images (the statement journal) SQLite spills to a temp
    // file past 64 KiB: a large batch wrote every page it touched there too, two
    // `pwrite`s a page, more than the WAL itself. In memory they cost a copy, at most
    // the pages one batch touches, and no personal data reaches a temp file.
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA temp_store = MEMORY; \
         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
         PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES};"
    ))?;
    if reader {
        conn.execute_batch("PRAGMA query_only = ON;")?;
    }
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// The database holds personal data and password hashes: its folder (when created
/// here), the file and its `-wal` and `-shm` are for Portico's user alone. The file is
/// made before SQLite opens it, since SQLite would create it 0644 and its `-wal` and
/// `-shm` with the same mode.
fn make_private(file: &Path) -> Result<(), StoreError> {
    let fail = |what: &Path, e: std::io::Error| {
        StoreError::Unavailable(format!("cannot secure {}: {e}", what.display()))
    };
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::private_files::create_dir(parent).map_err(|e| fail(parent, e))?;
    }
    crate::private_files::create_file(file).map_err(|e| fail(file, e))?;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        let path = PathBuf::from(name);
        crate::private_files::tighten(&path).map_err(|e| fail(&path, e))?;
    }
    Ok(())
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match &e {
            rusqlite::Error::SqliteFailure(failure, message) => match failure.code {
                ErrorCode::ConstraintViolation
                    if matches!(
                        failure.extended_code,
                        rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                            | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    ) =>
                {
                    StoreError::Conflict(message.clone().unwrap_or_else(|| e.to_string()))
                }
                // The file, not the statement: locked by another process for longer
                // than the busy timeout, unreadable, or out of space.
                ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::CannotOpen
                | ErrorCode::SystemIoFailure
                | ErrorCode::DiskFull
                | ErrorCode::ReadOnly => StoreError::Unavailable(e.to_string()),
                _ => StoreError::Database(e.to_string()),
            },
            _ => StoreError::Database(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests;
