//! The behaviour every storage engine must show. Each engine's tests call these functions
//! with a factory that opens a fresh, empty store reporting to the given observer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{DbError, Migration, Store, StoreObserver, TxError, params};

/// Counts commits and the largest batch seen.
#[derive(Default)]
pub struct CountingObserver {
    pub commits: AtomicUsize,
    pub largest_batch: AtomicUsize,
}

impl StoreObserver for CountingObserver {
    fn record_commit(&self, batch_size: usize, _seconds: f64) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.largest_batch.fetch_max(batch_size, Ordering::Relaxed);
    }
}

static TABLE: &[Migration] = &[
    Migration {
        version: 1,
        sql: "CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)",
    },
    Migration {
        version: 2,
        sql: "ALTER TABLE kv ADD COLUMN note TEXT; CREATE INDEX kv_v ON kv (v)",
    },
];

async fn put(store: &Store, key: &str, value: i64) -> Result<(), TxError<DbError>> {
    let key = key.to_owned();
    store
        .write(move |tx| {
            tx.execute(
                "INSERT INTO kv (k, v) VALUES (?1, ?2)",
                &params![key, value],
            )?;
            Ok(())
        })
        .await
}

fn get(store: &Store, key: &str) -> Option<i64> {
    store
        .read(|tx| {
            tx.query_one("SELECT v FROM kv WHERE k = ?1", &params![key])?
                .map(|r| r.i64(0))
                .transpose()
        })
        .expect("read")
}

/// A committed write is visible to readers; migrations apply in order, once.
pub async fn committed_writes_are_readable(store: Store) {
    store.migrate("conformance", TABLE).await.expect("migrate");
    store
        .migrate("conformance", TABLE)
        .await
        .expect("migrations are idempotent");
    put(&store, "a", 1).await.expect("write");
    assert_eq!(get(&store, "a"), Some(1));
    assert_eq!(get(&store, "missing"), None);
    let note: Option<String> = store
        .read(|tx| {
            tx.query_one("SELECT note FROM kv WHERE k = 'a'", &[])?
                .expect("row")
                .opt_string(0)
        })
        .expect("migration 2 added the column");
    assert_eq!(note, None);
    // A reader that kept its snapshot from the read above still sees the next write.
    put(&store, "b", 2).await.expect("write");
    assert_eq!(get(&store, "b"), Some(2));
}

/// Jobs that share a commit are isolated: an abort or a failing statement undoes only its own
/// job, and a job that panics neither stops the writer nor leaks partial writes.
pub async fn aborts_roll_back_only_their_own_job(store: Store, observer: Arc<CountingObserver>) {
    store.migrate("conformance", TABLE).await.expect("migrate");
    let mut handles = Vec::new();
    for i in 0..64_i64 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            store
                .write(move |tx| {
                    tx.execute(
                        "INSERT INTO kv (k, v) VALUES (?1, ?2)",
                        &params![format!("k{i}"), i],
                    )?;
                    match i % 4 {
                        1 => Err(TxError::Abort("domain says no")),
                        2 => {
                            // A constraint violation after a successful insert.
                            tx.execute(
                                "INSERT INTO kv (k, v) VALUES (?1, 0)",
                                &params![format!("k{i}")],
                            )?;
                            Ok(())
                        }
                        3 if i == 3 => panic!("a bug in one job"),
                        _ => Ok(()),
                    }
                })
                .await
        }));
    }
    for (i, handle) in handles.into_iter().enumerate() {
        let result = handle.await.expect("join");
        match i % 4 {
            1 => assert!(matches!(result, Err(TxError::Abort(_)))),
            2 => assert!(matches!(result, Err(TxError::Db(_)))),
            3 if i == 3 => assert!(matches!(result, Err(TxError::Db(DbError::Panicked)))),
            _ => assert!(result.is_ok(), "job {i}: {result:?}"),
        }
        let expected = matches!(i % 4, 0) || (i % 4 == 3 && i != 3);
        assert_eq!(get(&store, &format!("k{i}")).is_some(), expected, "job {i}");
    }
    put(&store, "after", 1).await.expect("the writer survives");
    assert!(
        observer.largest_batch.load(Ordering::Relaxed) > 1,
        "concurrent writes share commits"
    );
}

/// A prechecked job costs no savepoint: aborting before any change leaves its batch alone,
/// and one that fails after a change rolls back its batch so far (every job in it fails)
/// while the jobs queued after it commit.
pub async fn prechecked_writes_never_commit_partially(store: Store) {
    store.migrate("conformance", TABLE).await.expect("migrate");
    let insert = |key: &'static str, then_abort: bool| {
        let store = store.clone();
        async move {
            store
                .write_prechecked(move |tx| {
                    tx.execute("INSERT INTO kv (k, v) VALUES (?1, 1)", &params![key])?;
                    if then_abort {
                        return Err(TxError::Abort("changed, then gave up"));
                    }
                    Ok(())
                })
                .await
        }
    };
    let abort_first = || {
        let store = store.clone();
        async move {
            store
                .write_prechecked(|_| -> Result<(), _> { Err(TxError::Abort("checked first")) })
                .await
        }
    };
    // Holds the writer so that everything below queues up and shares the next batch, in order.
    let blocker = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .write(|_| -> Result<(), TxError<DbError>> {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    Ok(())
                })
                .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (early, early_abort, breaker, guarded, late_abort, late) = tokio::join!(
        insert("early", false),
        abort_first(),
        insert("breaker", true),
        put(&store, "guarded", 1),
        abort_first(),
        insert("late", false),
    );
    blocker.await.expect("join").expect("blocker");
    for (name, result) in [
        ("early", early),
        ("early_abort", early_abort),
        ("breaker", breaker),
    ] {
        assert!(
            matches!(result, Err(TxError::Db(DbError::BatchRolledBack))),
            "{name}: {result:?}"
        );
    }
    assert!(
        matches!(late_abort, Err(TxError::Abort(_))),
        "{late_abort:?}"
    );
    guarded.expect("a guarded write after the rollback commits");
    late.expect("a prechecked write after the rollback commits");
    assert_eq!(get(&store, "early"), None);
    assert_eq!(get(&store, "breaker"), None);
    assert_eq!(get(&store, "guarded"), Some(1));
    assert_eq!(get(&store, "late"), Some(1));
}

/// A deferred write commits with the next write that needs a commit (one commit for both),
/// or on its own once it has waited long enough; either way it is readable when it returns.
pub async fn deferred_writes_ride_along(store: Store, observer: Arc<CountingObserver>) {
    store.migrate("conformance", TABLE).await.expect("migrate");
    let deferred_put = |key: &'static str| {
        let store = store.clone();
        async move {
            store
                .write_deferred(move |tx| -> Result<(), TxError<DbError>> {
                    tx.execute("INSERT INTO kv (k, v) VALUES (?1, 1)", &params![key])?;
                    Ok(())
                })
                .await
        }
    };
    let before = observer.commits.load(Ordering::Relaxed);
    let waiting = tokio::spawn(deferred_put("deferred"));
    // Well inside the deferred write's wait.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    put(&store, "urgent", 1).await.expect("urgent write");
    waiting.await.expect("join").expect("deferred write");
    assert_eq!(
        observer.commits.load(Ordering::Relaxed) - before,
        1,
        "one commit for both"
    );
    assert_eq!(get(&store, "deferred"), Some(1));
    // Alone, it still commits.
    deferred_put("alone").await.expect("lone deferred write");
    assert_eq!(get(&store, "alone"), Some(1));
    assert_eq!(observer.commits.load(Ordering::Relaxed) - before, 2);
}

/// Writes after close fail cleanly instead of hanging.
pub async fn writes_after_close_fail(store: Store) {
    store.migrate("conformance", TABLE).await.expect("migrate");
    store.close().await;
    assert!(matches!(
        put(&store, "late", 1).await,
        Err(TxError::Db(DbError::Closed))
    ));
}
