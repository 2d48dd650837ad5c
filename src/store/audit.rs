//! The audit trail: who did what, where, when. Never a secret or a token.
//!
//! Rows are hash-chained: each holds its place in the chain (`seq`), the hash of the
//! row before it and its own hash, SHA-256 over that previous hash and the row's
//! canonical content, so a row edited, deleted or moved in the database breaks the
//! chain at that row ([`Audit::verify`]). Appends are serialised in SQL: each takes the
//! one `audit_chain` row (the head: the last `seq` and its hash) with an `UPDATE` in
//! the transaction that inserts the events, so on PostgreSQL a second node's append
//! waits for the first to commit and the chain never forks. SQLite's writer is serial
//! anyway: there the events of a batch's transactions are appended together, with one
//! take of the head, just before the batch commits.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::StoreError;
use super::audit_queue::AuditQueue;
use super::db::{Db, Query, Row, Tx, query};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEvent {
    pub id: String,
    pub occurred_at: i64,
    pub event: String,
    pub account_id: Option<String>,
    pub client_id: Option<String>,
    pub detail: String,
    /// The place in the chain (`None` for rows written before the chain existed).
    pub seq: Option<i64>,
}

/// Which events `Audit::tail` shows.
#[derive(Debug, Clone, Default)]
pub struct TailFilter {
    pub account_id: Option<String>,
    pub client_id: Option<String>,
    /// Unix seconds: events at or after.
    pub since: Option<i64>,
}

/// An untouched chain, as [`Audit::verify`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainIntact {
    /// Chained rows checked.
    pub rows: i64,
    /// The head's hash (record it elsewhere to notice a rewrite of the whole chain).
    pub head_hash: String,
    /// Rows from before the chain was introduced, which it does not cover.
    pub unchained: i64,
}

/// The first place where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBroken {
    /// The `seq` at which it breaks.
    pub seq: i64,
    /// The row found there, if any.
    pub id: Option<String>,
    pub problem: String,
}

const COLUMNS: &str = "id, occurred_at, event, account_id, client_id, detail, seq";

fn event_from(r: &Row) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        id: r.get("id")?,
        occurred_at: r.get("occurred_at")?,
        event: r.get("event")?,
        account_id: r.get("account_id")?,
        client_id: r.get("client_id")?,
        detail: r.get("detail")?,
        // Rows from before the chain: no `seq` on PostgreSQL, a negative one on SQLite
        // (whose table is stored in chain order, `seq` its rowid).
        seq: r.get::<Option<i64>>("seq")?.filter(|seq| *seq >= 1),
    })
}

/// base64url(SHA-256(previous hash, newline, the row's canonical content: a JSON array
/// of its `seq`, id, time, event, account, client and detail)).
fn row_hash(prev_hash: &str, e: &AuditEvent, seq: i64) -> String {
    let canonical = serde_json::json!([
        seq,
        e.id,
        e.occurred_at,
        e.event,
        e.account_id,
        e.client_id,
        e.detail
    ]);
    let mut input = prev_hash.as_bytes().to_vec();
    input.push(b'\n');
    input.extend_from_slice(canonical.to_string().as_bytes());
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &input,
    ))
}

/// An event to append: what happened, to whom, where, when. Never a secret or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub occurred_at: i64,
    pub event: String,
    pub account_id: Option<String>,
    pub client_id: Option<String>,
    pub detail: String,
}

/// Appends an event to the chain inside `tx` (the caller's transaction, which commits
/// it with whatever else it writes).
pub(super) async fn append_in(
    tx: &mut Tx,
    now: i64,
    event: &str,
    account_id: Option<&str>,
    client_id: Option<&str>,
    detail: &str,
) -> Result<(), StoreError> {
    let event = NewEvent {
        occurred_at: now,
        event: event.to_owned(),
        account_id: account_id.map(str::to_owned),
        client_id: client_id.map(str::to_owned),
        detail: detail.to_owned(),
    };
    append_all_in(tx, std::slice::from_ref(&event)).await
}

/// Appends the event of a grant a PostgreSQL statement has just committed (a code
/// spent, a refresh token rotated, a refresh family started) through the node's audit
/// queue, where one take of the chain's head serves many events. The grant stands
/// whatever happens here, since refusing the response would lose the person's login or
/// refresh token without undoing anything: a failure to record is logged, not returned.
/// (On SQLite the event goes with the grant's own transaction instead, into the
/// writer's batch, so it costs no commit of its own, and a failure undoes both.)
pub(super) async fn append_after_grant(queue: &AuditQueue, event: NewEvent) {
    let (name, client) = (event.event.clone(), event.client_id.clone());
    if let Err(e) = queue.append(event).await {
        tracing::error!(
            event = %name,
            client_id = client.as_deref().unwrap_or("-"),
            "grant committed but not audited: {e}"
        );
    }
}

/// Takes the chain's head for `n` events: answers the `seq` before them and its hash.
/// A concurrent append (another PostgreSQL node's) waits on this row until this commits.
const TAKE_HEAD: &str =
    "UPDATE audit_chain SET seq = seq + $1 WHERE id = 1 RETURNING seq, head_hash";
const SET_HEAD: &str = "UPDATE audit_chain SET head_hash = $1 WHERE id = 1";

/// An event given its place in the chain.
struct Chained {
    seq: i64,
    event: AuditEvent,
    prev_hash: String,
    hash: String,
}

/// The rows `events` become after the head just taken, and the chain's new head hash.
fn chain(head: &Row, events: &[NewEvent]) -> Result<(Vec<Chained>, String), StoreError> {
    let last: i64 = head.get("seq")?;
    let mut prev: String = head.get("head_hash")?;
    let first = last - events.len() as i64 + 1;
    let mut rows = Vec::with_capacity(events.len());
    for (seq, new) in (first..).zip(events) {
        let event = AuditEvent {
            id: crate::ids::new_uuid(),
            occurred_at: new.occurred_at,
            event: new.event.clone(),
            account_id: new.account_id.clone(),
            client_id: new.client_id.clone(),
            detail: new.detail.clone(),
            seq: Some(seq),
        };
        let hash = row_hash(&prev, &event, seq);
        let prev_hash = std::mem::replace(&mut prev, hash.clone());
        rows.push(Chained {
            seq,
            event,
            prev_hash,
            hash,
        });
    }
    Ok((rows, prev))
}

/// `INSERT` of `n` rows.
fn insert_sql(n: usize) -> String {
    let values: Vec<String> = (0..n)
        .map(|i| {
            let p: Vec<String> = (1..=9).map(|k| format!("${}", i * 9 + k)).collect();
            format!("({})", p.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO audit_log (id, occurred_at, event, account_id, client_id, detail, \
         seq, prev_hash, row_hash) VALUES {}",
        values.join(", ")
    )
}

fn bind_rows<'q>(mut insert: Query<'q>, rows: &'q [Chained]) -> Query<'q> {
    for row in rows {
        let e = &row.event;
        insert = insert
            .bind(e.id.as_str())
            .bind(e.occurred_at)
            .bind(e.event.as_str())
            .bind(e.account_id.as_deref())
            .bind(e.client_id.as_deref())
            .bind(e.detail.as_str())
            .bind(row.seq)
            .bind(row.prev_hash.as_str())
            .bind(row.hash.as_str());
    }
    insert
}

/// Appends events to the chain with the transaction `tx`, in their order. On
/// PostgreSQL they are written now, with one take of the head: three statements however
/// many events (the audit queue's batches). On SQLite they are handed to the writer's
/// batch, which appends all the events of its transactions when it commits
/// ([`append_at_batch_commit`]); a transaction rolled back takes its events back.
pub(super) async fn append_all_in(tx: &mut Tx, events: &[NewEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    if let Some(batch) = tx.batch_audit_events() {
        batch.extend_from_slice(events);
        return Ok(());
    }
    let head = query(TAKE_HEAD)
        .bind(events.len() as i64)
        .fetch_one(tx.on())
        .await?;
    let (rows, head_hash) = chain(&head, events)?;
    let sql = insert_sql(rows.len());
    bind_rows(query(&sql), &rows).execute(tx.on()).await?;
    query(SET_HEAD)
        .bind(head_hash.as_str())
        .execute(tx.on())
        .await?;
    Ok(())
}

/// Appends the events of an SQLite batch on its writer, inside the batch's transaction
/// just before it commits: one take of the head for the whole batch, and one cached
/// single-row insert each. A failure fails the batch, and every write in it.
pub(super) fn append_at_batch_commit(
    conn: &rusqlite::Connection,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let head = query(TAKE_HEAD)
        .bind(events.len() as i64)
        .fetch_one_on(conn)?;
    let (rows, head_hash) = chain(&head, events)?;
    static INSERT_ONE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| insert_sql(1));
    for row in &rows {
        bind_rows(query(&INSERT_ONE), std::slice::from_ref(row)).execute_on(conn)?;
    }
    query(SET_HEAD).bind(head_hash.as_str()).execute_on(conn)?;
    Ok(())
}

pub struct Audit<'a> {
    db: &'a Db,
    queue: &'a AuditQueue,
}

impl<'a> Audit<'a> {
    pub(super) fn new(db: &'a Db, queue: &'a AuditQueue) -> Self {
        Audit { db, queue }
    }

    /// Appends an event batched with others, committed when this answers; for the
    /// request path, where an event cannot join the write it records (a refresh
    /// family's first tokens, recorded after the replay check; a refresh within the
    /// grace period, which writes nothing). On SQLite the append joins the writer's
    /// open batch like any write (its group commit: the head is no contention there, the
    /// writer is serial anyway); on PostgreSQL it goes through the node's audit queue
    /// ([`AuditQueue`]), so one take of the chain's head, which every node's appends
    /// wait for, serves many events.
    pub async fn record_queued(&self, event: NewEvent) -> Result<(), StoreError> {
        if matches!(self.db, Db::Sqlite(_)) {
            let mut tx = self.db.begin().await?;
            append_all_in(&mut tx, std::slice::from_ref(&event)).await?;
            return tx.commit().await;
        }
        self.queue.append(event).await
    }

    /// Appends an event to the chain, in a transaction of its own.
    pub async fn record(
        &self,
        now: i64,
        event: &str,
        account_id: Option<&str>,
        client_id: Option<&str>,
        detail: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        append_in(&mut tx, now, event, account_id, client_id, detail).await?;
        tx.commit().await
    }

    /// The newest events of a kind, newest first.
    pub async fn recent(&self, event: &str, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log WHERE event = $1 \
             ORDER BY occurred_at DESC, seq DESC, id DESC LIMIT $2"
        );
        query(&sql)
            .bind(event)
            .bind(limit)
            .fetch_all(self.db.read())
            .await?
            .iter()
            .map(event_from)
            .collect()
    }

    /// The newest `limit` events matching `filter`, oldest first (as a log reads).
    pub async fn tail(
        &self,
        filter: &TailFilter,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log \
             WHERE ($1 = '' OR account_id = $1) AND ($2 = '' OR client_id = $2) \
             AND occurred_at >= $3 \
             ORDER BY occurred_at DESC, seq DESC, id DESC LIMIT $4"
        );
        let mut events = query(&sql)
            .bind(filter.account_id.as_deref().unwrap_or_default())
            .bind(filter.client_id.as_deref().unwrap_or_default())
            .bind(filter.since.unwrap_or(i64::MIN))
            .bind(limit)
            .fetch_all(self.db.read())
            .await?
            .iter()
            .map(event_from)
            .collect::<Result<Vec<_>, _>>()?;
        events.reverse();
        Ok(events)
    }

    /// Walks the chain from its first row: each `seq` must follow the last, name the
    /// last row's hash and hash to its own; the head must name the last row. Answers
    /// the first row where that fails.
    pub async fn verify(&self) -> Result<Result<ChainIntact, ChainBroken>, StoreError> {
        const PAGE: i64 = 1_000;
        let mut expected = 1;
        let mut prev = String::new();
        loop {
            let sql = format!(
                "SELECT {COLUMNS}, prev_hash, row_hash FROM audit_log \
                 WHERE seq >= $1 ORDER BY seq LIMIT $2"
            );
            let rows = query(&sql)
                .bind(expected)
                .bind(PAGE)
                .fetch_all(self.db.read())
                .await?;
            for r in &rows {
                let e = event_from(r)?;
                let seq = e.seq.expect("selected by seq");
                let broken = |problem: String| {
                    Ok(Err(ChainBroken {
                        seq: expected,
                        id: Some(e.id.clone()),
                        problem,
                    }))
                };
                if seq != expected {
                    return broken(format!(
                        "row {expected} is missing (deleted?): the next row is {seq}"
                    ));
                }
                let stored_prev: String = r.get("prev_hash")?;
                if stored_prev != prev {
                    return broken(
                        "it does not name the hash of the row before it (rows reordered, or one before it replaced)"
                            .into(),
                    );
                }
                let stored: String = r.get("row_hash")?;
                if stored != row_hash(&prev, &e, seq) {
                    return broken("its content does not match its hash (edited)".into());
                }
                prev = stored;
                expected += 1;
            }
            if (rows.len() as i64) < PAGE {
                break;
            }
        }
        let head = query("SELECT seq, head_hash FROM audit_chain WHERE id = 1")
            .fetch_one(self.db.read())
            .await?;
        let (head_seq, head_hash): (i64, String) = (head.get("seq")?, head.get("head_hash")?);
        if head_seq != expected - 1 || head_hash != prev {
            return Ok(Err(ChainBroken {
                seq: expected,
                id: None,
                problem: format!(
                    "the chain's head says {head_seq} rows, the table holds {} that chain (the last rows deleted?)",
                    expected - 1
                ),
            }));
        }
        let unchained: i64 =
            query("SELECT COUNT(*) AS n FROM audit_log WHERE seq IS NULL OR seq < 1")
                .fetch_one(self.db.read())
                .await?
                .get("n")?;
        Ok(Ok(ChainIntact {
            rows: expected - 1,
            head_hash,
            unchained,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn the_chain_verifies_and_tail_filters() {
        let store = Store::in_memory().await;
        let audit = store.audit();
        assert_eq!(audit.verify().await.unwrap().unwrap().rows, 0);
        for i in 0..5 {
            let account = format!("acct-{}", i % 2);
            audit
                .record(100 + i, "login_failed", Some(&account), None, "reason=x")
                .await
                .unwrap();
        }
        let intact = audit.verify().await.unwrap().unwrap();
        assert_eq!((intact.rows, intact.unchained), (5, 0));
        let filter = TailFilter {
            account_id: Some("acct-1".into()),
            ..TailFilter::default()
        };
        let tail = audit.tail(&filter, 10).await.unwrap();
        assert_eq!(
            tail.iter().map(|e| e.occurred_at).collect::<Vec<_>>(),
            [101, 103]
        );
        let all = audit.tail(&TailFilter::default(), 2).await.unwrap();
        assert_eq!(
            all.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [Some(4), Some(5)]
        );
    }
}
