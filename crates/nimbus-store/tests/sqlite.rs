//! The SQLite engine against the conformance suite, plus its durability settings.

use std::sync::Arc;

use nimbus_store::conformance::{self, CountingObserver};
use nimbus_store::{Store, StoreConfig, TxError, params};

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nimbus-store-test-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

async fn on_disk(observer: Arc<CountingObserver>) -> Store {
    let path = temp_dir().join("nimbus.sqlite");
    Store::open_observed(StoreConfig::new(Some(path)), observer)
        .await
        .unwrap()
}

async fn open_at(path: &std::path::Path) -> Store {
    Store::open(StoreConfig::new(Some(path.to_path_buf())))
        .await
        .unwrap()
}

/// A store on disk that checkpoints its log at SQLite's default 1,000 pages, so that tests
/// of checkpointing need few writes.
async fn open_with_short_log(path: &std::path::Path) -> Store {
    let mut config = StoreConfig::new(Some(path.to_path_buf()));
    config.checkpoint_pages = 1000;
    Store::open(config).await.unwrap()
}

async fn in_memory(observer: Arc<CountingObserver>) -> Store {
    Store::open_observed(StoreConfig::in_memory(), observer)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_disk() {
    conformance::committed_writes_are_readable(on_disk(Arc::default()).await).await;
    let observer = Arc::new(CountingObserver::default());
    conformance::aborts_roll_back_only_their_own_job(on_disk(observer.clone()).await, observer)
        .await;
    conformance::prechecked_writes_never_commit_partially(on_disk(Arc::default()).await).await;
    let observer = Arc::new(CountingObserver::default());
    conformance::deferred_writes_ride_along(on_disk(observer.clone()).await, observer).await;
    conformance::writes_after_close_fail(on_disk(Arc::default()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_in_memory() {
    conformance::committed_writes_are_readable(in_memory(Arc::default()).await).await;
    let observer = Arc::new(CountingObserver::default());
    conformance::aborts_roll_back_only_their_own_job(in_memory(observer.clone()).await, observer)
        .await;
    conformance::prechecked_writes_never_commit_partially(in_memory(Arc::default()).await).await;
    let observer = Arc::new(CountingObserver::default());
    conformance::deferred_writes_ride_along(in_memory(observer.clone()).await, observer).await;
    conformance::writes_after_close_fail(in_memory(Arc::default()).await).await;
}

#[tokio::test]
async fn on_disk_commits_are_fsynced_and_survive_reopen() {
    let path = temp_dir().join("nimbus.sqlite");
    let store = open_at(&path).await;
    assert!(store.is_durable());
    assert_eq!(
        store.synchronous_mode().await.unwrap(),
        2,
        "synchronous=FULL"
    );
    store
        .write(|tx| -> Result<(), TxError<()>> {
            tx.execute("CREATE TABLE t (v INTEGER)", &[])?;
            tx.execute("INSERT INTO t VALUES (?1)", &params![7])?;
            Ok(())
        })
        .await
        .unwrap();
    // No close: the process "dies" here; the commit must already be in the file.
    drop(store);
    let reopened = open_at(&path).await;
    let v = reopened
        .read(|tx| tx.query_one("SELECT v FROM t", &[])?.unwrap().i64(0))
        .unwrap();
    assert_eq!(v, 7);
}

#[tokio::test]
async fn in_memory_store_leaves_no_files() {
    let store = Store::open(StoreConfig::in_memory()).await.unwrap();
    assert!(!store.is_durable());
    assert_eq!(store.synchronous_mode().await.unwrap(), 0);
    store.close().await;
}

/// A store on disk with an empty table `t` of blobs; the database file's path.
async fn store_with_blob_table() -> (std::path::PathBuf, Store) {
    let path = temp_dir().join("nimbus.sqlite");
    let store = open_with_short_log(&path).await;
    store
        .write(|tx| -> Result<(), TxError<()>> {
            tx.execute("CREATE TABLE t (v BLOB)", &[])?;
            Ok(())
        })
        .await
        .unwrap();
    (path, store)
}

/// One commit of one 8 KB row into `t`: two pages of the log.
async fn insert_8_kib_row(store: &Store) {
    store
        .write(|tx| -> Result<(), TxError<()>> {
            tx.execute("INSERT INTO t VALUES (?1)", &params![vec![7_u8; 8192]])?;
            Ok(())
        })
        .await
        .unwrap();
}

/// The log is copied into the database file by the checkpointing thread while the store is
/// open, not only when it closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_checkpointed_while_open() {
    let (path, store) = store_with_blob_table().await;
    // 1,500 commits of one 8 KB row each: well past the 1,000-page log threshold.
    for _ in 0..1500 {
        insert_8_kib_row(&store).await;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let size = std::fs::metadata(&path).unwrap().len();
        if size > 4 * 1024 * 1024 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "database file still {size} bytes: the log was never checkpointed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    store.close().await;
}

/// Under writes that never pause, the log still restarts from its beginning instead of growing
/// with everything written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_stays_bounded_under_steady_writes() {
    let (path, store) = store_with_blob_table().await;
    // 64 writers × 100 rows of 8 KB: about 52 MB written, 13,000 pages.
    let writers: Vec<_> = (0..64)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..100 {
                    insert_8_kib_row(&store).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    let wal_size = std::fs::metadata(&wal).unwrap().len();
    assert!(
        wal_size < 32 * 1024 * 1024,
        "the log grew to {wal_size} bytes"
    );
    store.close().await;
}

/// A reader keeps its snapshot between reads; one left idle while writes go on must not
/// hold the log at that snapshot, or the log would grow with every commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_reader_does_not_hold_the_log() {
    let path = temp_dir().join("nimbus.sqlite");
    let store = open_with_short_log(&path).await;
    store
        .write(|tx| -> Result<(), TxError<nimbus_store::DbError>> {
            tx.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)", &[])?;
            Ok(())
        })
        .await
        .unwrap();
    store
        .read(|tx| tx.query("SELECT count(*) FROM t", &[]))
        .unwrap();
    // Several times the log size that asks for a checkpoint.
    const COMMITS: i64 = 6_000;
    for k in 0..COMMITS {
        store
            .write(move |tx| -> Result<(), TxError<nimbus_store::DbError>> {
                tx.execute(
                    "INSERT INTO t (k, v) VALUES (?1, ?2)",
                    &params![k, "x".repeat(100)],
                )?;
                Ok(())
            })
            .await
            .unwrap();
    }
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    let wal_bytes = std::fs::metadata(&wal).unwrap().len();
    // Each commit appends at least one 4 KiB page; a log that never restarted would hold them all.
    let never_restarted = COMMITS as u64 * 4096;
    assert!(
        wal_bytes < never_restarted * 3 / 4,
        "the log grew to {wal_bytes} bytes over {COMMITS} commits"
    );
    let count = store
        .read(|tx| tx.query_one("SELECT count(*) FROM t", &[])?.unwrap().i64(0))
        .unwrap();
    assert_eq!(count, COMMITS);
    store.close().await;
}
