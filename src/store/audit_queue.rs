//! Group commit on PostgreSQL for the audit events of the request path (a token issued
//! to a person at every code exchange and refresh), appended after the statement that
//! granted the tokens (`audit::append_after_grant`). On SQLite these are appended in
//! the granting write's own transaction instead, inside the writer's batch.
//!
//! Appending to the chain takes its one head row, so appends are serial: on PostgreSQL
//! across every node. Taken once per event on the token endpoint, the head would be the
//! bottleneck. Instead each node's events go to one task that appends whatever is
//! queued in one transaction (one take of the head, three statements), as the SQLite
//! writer batches writes: a lone event is written at once, and under load the events
//! that arrive while a batch commits form the next one. The caller waits for its
//! batch's commit, so an event is durable before the response that it records leaves,
//! and nothing is lost in a crash.

use tokio::sync::{mpsc, oneshot};

use super::StoreError;
use super::audit::{NewEvent, append_all_in};
use super::db::Db;

/// The most events one transaction appends.
const BATCH_MAX: usize = 64;
/// Events waiting for the task; a full queue makes callers wait (back-pressure).
const QUEUE_DEPTH: usize = 4096;

struct Queued {
    event: NewEvent,
    done: oneshot::Sender<Result<(), String>>,
}

/// The handle the store keeps; the task ends when the last handle is dropped.
#[derive(Clone)]
pub(super) struct AuditQueue {
    tx: mpsc::Sender<Queued>,
}

impl std::fmt::Debug for AuditQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditQueue").finish_non_exhaustive()
    }
}

impl AuditQueue {
    /// Starts the task that writes the queue (needs a Tokio runtime).
    pub(super) fn start(db: Db) -> AuditQueue {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run(db, rx));
        AuditQueue { tx }
    }

    /// Appends the event with the others queued meanwhile; answers once it is committed.
    pub(super) async fn append(&self, event: NewEvent) -> Result<(), StoreError> {
        let (done, committed) = oneshot::channel();
        self.tx
            .send(Queued { event, done })
            .await
            .map_err(|_| StoreError::Unavailable("the audit queue has stopped".into()))?;
        committed
            .await
            .map_err(|_| StoreError::Unavailable("the audit queue has stopped".into()))?
            .map_err(StoreError::Database)
    }
}

async fn run(db: Db, mut rx: mpsc::Receiver<Queued>) {
    let mut batch: Vec<Queued> = Vec::with_capacity(BATCH_MAX);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < BATCH_MAX {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let events: Vec<NewEvent> = batch.iter().map(|q| q.event.clone()).collect();
        let written = write(&db, &events).await.map_err(|e| e.to_string());
        for queued in batch.drain(..) {
            // A caller that gave up (its request ended) no longer listens.
            let _ = queued.done.send(written.clone());
        }
    }
}

async fn write(db: &Db, events: &[NewEvent]) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    append_all_in(&mut tx, events).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::NewEvent;
    use crate::store::Store;

    /// Concurrent events all land, each once, and the chain holds.
    #[tokio::test]
    async fn concurrent_events_are_chained_in_batches() {
        let store = Store::in_memory().await;
        let mut writes = tokio::task::JoinSet::new();
        for i in 0..200 {
            let store = store.clone();
            // The queue itself (what PostgreSQL uses), here over SQLite.
            writes.spawn(async move {
                store
                    .audit_queue
                    .append(NewEvent {
                        occurred_at: 1_000 + i,
                        event: "token_issued".into(),
                        account_id: Some("acct".into()),
                        client_id: Some("portal".into()),
                        detail: "x".into(),
                    })
                    .await
            });
        }
        while let Some(written) = writes.join_next().await {
            written.unwrap().unwrap();
        }
        let intact = store.audit().verify().await.unwrap().unwrap();
        assert_eq!(intact.rows, 200);
        let all = store
            .audit()
            .tail(&crate::store::TailFilter::default(), 500)
            .await
            .unwrap();
        let mut times: Vec<i64> = all.iter().map(|e| e.occurred_at).collect();
        times.sort();
        assert_eq!(times, (1_000..1_200).collect::<Vec<_>>());
    }
}
