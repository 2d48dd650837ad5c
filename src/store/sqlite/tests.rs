//! Group commit, against a real SQLite file.

use super::*;
use crate::store::db::{Db, query};

async fn file_db(dir: &tempfile::TempDir) -> (Db, Arc<SqliteDb>) {
    let path = SqlitePath::File(dir.path().join("t.db"));
    let sqlite = Arc::new(SqliteDb::open(&path, Duration::from_secs(5)).unwrap());
    let db = Db::Sqlite(sqlite.clone());
    query("CREATE TABLE t (k TEXT PRIMARY KEY)")
        .execute(db.write())
        .await
        .unwrap();
    (db, sqlite)
}

async fn keys(db: &Db) -> Vec<String> {
    query("SELECT k FROM t ORDER BY k")
        .fetch_all(db.read())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("k").unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits_and_each_answers_only_once_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (db, sqlite) = file_db(&dir).await;
    // The writer is held until all 200 writes wait for it, so that they are queued
    // together whatever the scheduling (on a loaded machine they may otherwise run one
    // by one, each alone in its batch).
    let held = sqlite.writer.clone().lock_owned().await;
    let before = held.batches;
    let writes: Vec<_> = (0..200)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                query("INSERT INTO t (k) VALUES ($1)")
                    .bind(format!("{i:03}"))
                    .execute(db.write())
                    .await
                    .unwrap();
                // Answered: so committed, and visible to a reader.
                let seen = query("SELECT k FROM t WHERE k = $1")
                    .bind(format!("{i:03}"))
                    .fetch_optional(db.read())
                    .await
                    .unwrap();
                assert!(seen.is_some(), "write {i} answered before its commit");
            })
        })
        .collect();
    while sqlite.waiting.load(Ordering::Acquire) < 200 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    drop(held);
    for write in writes {
        write.await.unwrap();
    }
    assert_eq!(keys(&db).await.len(), 200);
    let writer = sqlite.writer.lock().await;
    assert!(writer.batch.is_none(), "no batch left open");
    assert!(
        writer.batches - before <= 10,
        "writes queued together share a commit ({} commits)",
        writer.batches - before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_or_an_abandoned_transaction_undoes_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (db, sqlite) = file_db(&dir).await;
    // Hold the writer so that everything below queues into one batch.
    let held = sqlite.lock_writer().await.unwrap();
    let insert = |k: &'static str| {
        let db = db.clone();
        tokio::spawn(async move {
            query("INSERT INTO t (k) VALUES ($1)")
                .bind(k)
                .execute(db.write())
                .await
        })
    };
    let first = insert("a");
    let duplicate = insert("a");
    let abandoned = {
        let db = db.clone();
        tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            query("INSERT INTO t (k) VALUES ($1)")
                .bind("gone")
                .execute(tx.on())
                .await
                .unwrap();
            drop(tx);
        })
    };
    let last = insert("b");
    tokio::time::sleep(Duration::from_millis(20)).await;
    drop(held);
    // Whichever of the two got the writer first wins; the other alone fails.
    let outcomes = [first.await.unwrap(), duplicate.await.unwrap()];
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Err(StoreError::Conflict(_))))
    );
    abandoned.await.unwrap();
    assert!(last.await.unwrap().is_ok());
    assert_eq!(keys(&db).await, ["a", "b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_transaction_answers_after_the_batch_it_saw_is_committed() {
    let dir = tempfile::tempdir().unwrap();
    let (db, sqlite) = file_db(&dir).await;
    query("INSERT INTO t (k) VALUES ('fresh')")
        .execute(db.write())
        .await
        .unwrap();
    let held = sqlite.lock_writer().await.unwrap();
    // A rotates the row; B, queued behind it in the same batch, finds it already
    // rotated (A's write, not yet committed), rolls back, and reads elsewhere.
    let a = {
        let db = db.clone();
        tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            query("UPDATE t SET k = 'rotated' WHERE k = 'fresh'")
                .execute(tx.on())
                .await
                .unwrap();
            tx.commit().await.unwrap();
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let b = {
        let db = db.clone();
        tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            let changed = query("UPDATE t SET k = 'twice' WHERE k = 'fresh'")
                .execute(tx.on())
                .await
                .unwrap();
            assert_eq!(changed, 0, "A's rotation is visible inside the batch");
            tx.rollback().await.unwrap();
            keys(&db).await
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    // C, queued behind B, keeps the batch open when B is done with the writer.
    let c = {
        let db = db.clone();
        tokio::spawn(async move {
            query("INSERT INTO t (k) VALUES ('c')")
                .execute(db.write())
                .await
                .unwrap();
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    drop(held);
    a.await.unwrap();
    c.await.unwrap();
    let seen = b.await.unwrap();
    assert!(
        seen.contains(&"rotated".to_owned()) && !seen.contains(&"fresh".to_owned()),
        "B reads A's rotation committed, not the row before it: {seen:?}"
    );
}
