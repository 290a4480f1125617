//! The SQLite engine: WAL mode, one writer thread that group-commits, a pool of readers.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use crate::readers::Readers;
use crate::{DbError, Migration, Row, SqlValue, Tx, TxError};

/// Most jobs one commit may carry; bounds the latency a large burst adds to its first caller.
const MAX_BATCH: usize = 512;
/// Longest a deferred write waits for a commit to ride along with.
const DEFER_FOR: Duration = Duration::from_millis(20);
const READERS: usize = 4;
/// Page cache of each reader connection, in KiB.
const READER_CACHE_KIB: i64 = 16 * 1024;
/// Page cache of the writer, in KiB: the pages its writes land on, spread at random over a
/// key index when keys are random (DynamoDB items).
const WRITER_CACHE_KIB: i64 = 32 * 1024;

/// Where and how the store keeps its data.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The database file; `None` keeps state in a throw-away database (RAM-backed where the
    /// system has `/dev/shm`) without fsync, removed when the store closes.
    pub path: Option<PathBuf>,
    /// Log size, in pages, past which the log is checkpointed into the database file.
    pub checkpoint_pages: u32,
}

impl StoreConfig {
    /// The database at `path` (see [`StoreConfig::path`]) with the default checkpoint size.
    pub fn new(path: Option<PathBuf>) -> Self {
        StoreConfig {
            path,
            checkpoint_pages: crate::checkpointer::CHECKPOINT_PAGES,
        }
    }

    /// A throw-away database.
    pub fn in_memory() -> Self {
        Self::new(None)
    }
}

/// Told about every group commit (for metrics).
pub trait StoreObserver: Send + Sync {
    /// `batch_size` writes were committed; the commit (including fsync) took `seconds`.
    fn record_commit(&self, batch_size: usize, seconds: f64);
}

struct NoObserver;
impl StoreObserver for NoObserver {
    fn record_commit(&self, _: usize, _: f64) {}
}

/// A write job: runs inside the shared transaction, returns how to finish once the
/// transaction's fate is known.
struct Job {
    work: Work,
    /// `NotYet` for a job whose failure is undone by a savepoint; `Unneeded` for a prechecked
    /// job, which promised to fail only before its first change (a broken promise rolls back
    /// its whole batch).
    savepoint: Savepoint,
    /// Whether the job may wait for the next commit instead of causing one.
    deferred: bool,
}

type Work = Box<dyn FnOnce(&mut dyn Tx) -> Finish + Send>;

/// Whether to keep the job's changes, and whom to tell the final outcome.
struct Finish {
    keep: bool,
    notify: Notify,
}

enum Command {
    Write(Job),
    Close(oneshot::Sender<()>),
}

/// Handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Option<mpsc::Sender<Command>>>,
    readers: Arc<Readers>,
    durable: bool,
    _temp: Option<TempFiles>,
}

impl Store {
    /// Opens (creating if needed) the database and starts the writer.
    pub async fn open(config: StoreConfig) -> Result<Store, DbError> {
        Self::open_observed(config, Arc::new(NoObserver)).await
    }

    /// Opens the store and reports every commit to `observer`.
    pub async fn open_observed(
        config: StoreConfig,
        observer: Arc<dyn StoreObserver>,
    ) -> Result<Store, DbError> {
        let (path, temp, durable) = match config.path {
            Some(path) => (path, None, true),
            None => {
                let temp = TempFiles::new();
                (temp.path.clone(), Some(temp), false)
            }
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbError::Engine(format!("{}: {e}", dir.display())))?;
        }
        let mut writer_conn = open_connection(&path, durable, false)?;
        let readers = Arc::new(Readers::new(
            (0..READERS)
                .map(|_| open_connection(&path, durable, true))
                .collect::<Result<Vec<_>, _>>()?,
        ));
        crate::checkpointer::start(
            &mut writer_conn,
            open_connection(&path, durable, false)?,
            Arc::clone(&readers),
            config.checkpoint_pages,
        )?;
        let (sender, receiver) = mpsc::channel();
        let writer_readers = Arc::clone(&readers);
        std::thread::Builder::new()
            .name("nimbus-store-writer".into())
            .spawn(move || run_writer(writer_conn, &receiver, observer.as_ref(), &writer_readers))
            .map_err(|e| DbError::Engine(e.to_string()))?;
        Ok(Store {
            inner: Arc::new(Inner {
                writer: Mutex::new(Some(sender)),
                readers,
                durable,
                _temp: temp,
            }),
        })
    }

    /// Whether acknowledged writes are fsync'd to a file that outlives the process.
    pub fn is_durable(&self) -> bool {
        self.inner.durable
    }

    /// Runs `work` inside the next group commit. Returns after the commit: an `Ok` is on disk.
    /// An `Err(TxError::Abort)` rolls back only this job's changes.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, TxError<E>>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, TxError<E>> + Send + 'static,
    {
        self.write_with(Savepoint::NotYet, false, work).await
    }

    /// [`Store::write`] for a job that makes all its checks before its first change: it may
    /// abort (or fail) only while it has changed nothing, and then costs no savepoint. Should
    /// it fail after a change after all, its whole batch is rolled back and every job in the
    /// batch fails with [`DbError::BatchRolledBack`]; nothing partial is ever committed.
    /// Not for schema changes, which the store cannot see.
    pub async fn write_prechecked<T, E, F>(&self, work: F) -> Result<T, TxError<E>>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, TxError<E>> + Send + 'static,
    {
        self.write_with(Savepoint::Unneeded, false, work).await
    }

    /// [`Store::write`] for a write whose loss in a crash only repeats work (a finished
    /// delivery recorded, function output kept): it causes no commit of its own but rides
    /// along with the next one, waiting at most 20 ms for it, so a busy store pays no fsync
    /// for it. Returns after that commit.
    pub async fn write_deferred<T, E, F>(&self, work: F) -> Result<T, TxError<E>>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, TxError<E>> + Send + 'static,
    {
        self.write_with(Savepoint::NotYet, true, work).await
    }

    async fn write_with<T, E, F>(
        &self,
        savepoint: Savepoint,
        deferred: bool,
        work: F,
    ) -> Result<T, TxError<E>>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, TxError<E>> + Send + 'static,
    {
        let (reply, outcome) = oneshot::channel();
        let work: Work = Box::new(move |tx: &mut dyn Tx| {
            let result = match std::panic::catch_unwind(AssertUnwindSafe(|| work(tx))) {
                Ok(result) => result,
                Err(_) => Err(TxError::Db(DbError::Panicked)),
            };
            Finish {
                keep: result.is_ok(),
                notify: Box::new(move |commit_error| {
                    let final_result = match commit_error {
                        Some(err) => Err(TxError::Db(err)),
                        None => result,
                    };
                    let _ = reply.send(final_result);
                }),
            }
        });
        let job = Job {
            work,
            savepoint,
            deferred,
        };
        let sent = match &*self.inner.writer.lock() {
            Some(writer) => writer.send(Command::Write(job)).is_ok(),
            None => false,
        };
        if !sent {
            return Err(TxError::Db(DbError::Closed));
        }
        outcome.await.unwrap_or(Err(TxError::Db(DbError::Closed)))
    }

    /// Runs a read on one of the reader connections: a consistent snapshot of committed data
    /// that holds every write acknowledged before the call. Meant for short, indexed reads:
    /// it runs on the calling thread.
    pub fn read<T>(
        &self,
        work: impl FnOnce(&mut dyn Tx) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.inner.readers.read(work)
    }

    /// Applies the service's pending migrations in one transaction.
    pub async fn migrate(
        &self,
        service: &'static str,
        migrations: &'static [Migration],
    ) -> Result<(), DbError> {
        self.write(move |tx| -> Result<(), TxError<DbError>> {
            tx.execute(
                "CREATE TABLE IF NOT EXISTS nimbus_migrations (service TEXT PRIMARY KEY, version INTEGER NOT NULL)",
                &[],
            )?;
            let current = tx
                .query_one("SELECT version FROM nimbus_migrations WHERE service = ?1", &[service.into()])?
                .map(|row| row.i64(0))
                .transpose()?
                .unwrap_or(0);
            for migration in migrations.iter().filter(|m| m.version > current) {
                for statement in migration.sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                    tx.execute(statement, &[])?;
                }
                tx.execute(
                    "INSERT INTO nimbus_migrations (service, version) VALUES (?1, ?2)
                     ON CONFLICT (service) DO UPDATE SET version = excluded.version",
                    &[service.into(), migration.version.into()],
                )?;
            }
            Ok(())
        })
        .await
        .map_err(|e| match e {
            TxError::Abort(e) | TxError::Db(e) => e,
        })
    }

    /// Finishes queued writes, checkpoints the log and stops the writer.
    pub async fn close(&self) {
        // Open read transactions would keep the final checkpoint from emptying the log.
        self.inner.readers.release_all();
        let writer = self.inner.writer.lock().take();
        if let Some(writer) = writer {
            let (done, closed) = oneshot::channel();
            if writer.send(Command::Close(done)).is_ok() {
                let _ = closed.await;
            }
        }
    }
}

fn open_connection(path: &Path, durable: bool, read_only: bool) -> Result<Connection, DbError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    // FULL: the WAL is fsync'd at every commit, so an acknowledged write survives power loss.
    conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "OFF" })?;
    // Savepoint journals are scratch data: keep them in memory.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(256);
    // Plans that do not depend on bound values. Without this, a statement with `LIMIT ?` or
    // a filter `= ?` on a small integer is planned again on every use, because the statement
    // cache clears its bindings and that expires such a plan.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // Readers serve the hot reads (GetItem, Query, receives); SQLite's default 2 MB cache made
    // a 10 MB working set go back to the file for most pages, and made the writer read most
    // index pages it changed. Pages are cached only once read, so an idle server does not grow.
    let cache_kib = if read_only {
        READER_CACHE_KIB
    } else {
        WRITER_CACHE_KIB
    };
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    Ok(conn)
}

/// Outcomes of one commit: whom to tell, and the failure if any.
type Acks = Vec<(Notify, Option<DbError>)>;
type Notify = Box<dyn FnOnce(Option<DbError>) + Send>;

fn run_writer(
    mut conn: Connection,
    commands: &mpsc::Receiver<Command>,
    observer: &dyn StoreObserver,
    readers: &Readers,
) {
    let mut batch = Batch::default();
    let mut close_reply = None;
    while close_reply.is_none() {
        match commands.recv() {
            Ok(Command::Write(job)) => batch.push(job),
            Ok(Command::Close(reply)) => close_reply = Some(reply),
            Err(_) => break,
        }
        batch.take_waiting(commands, &mut close_reply);
        if batch.only_deferred() {
            batch.wait_for_urgent(commands, &mut close_reply);
        }
        if !batch.jobs.is_empty() {
            let outcomes = commit_batch(&mut conn, batch.drain(), observer);
            readers.committed();
            for (notify, outcome) in outcomes {
                notify(outcome);
            }
        }
    }
    if let Err(err) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
        tracing::warn!(%err, "checkpoint at close failed");
    }
    drop(conn);
    if let Some(reply) = close_reply {
        let _ = reply.send(());
    }
}

/// The jobs of the next commit.
#[derive(Default)]
struct Batch {
    jobs: Vec<Job>,
    /// Jobs that need a commit (not deferred).
    urgent: usize,
}

impl Batch {
    fn push(&mut self, job: Job) {
        self.urgent += usize::from(!job.deferred);
        self.jobs.push(job);
    }

    fn only_deferred(&self) -> bool {
        self.urgent == 0 && !self.jobs.is_empty()
    }

    /// Adds the jobs already queued, up to a full batch.
    fn take_waiting(
        &mut self,
        commands: &mpsc::Receiver<Command>,
        close_reply: &mut Option<oneshot::Sender<()>>,
    ) {
        while self.jobs.len() < MAX_BATCH && close_reply.is_none() {
            match commands.try_recv() {
                Ok(Command::Write(job)) => self.push(job),
                Ok(Command::Close(reply)) => *close_reply = Some(reply),
                Err(_) => break,
            }
        }
    }

    /// Deferred jobs alone wait for a job that needs a commit, or for their time.
    fn wait_for_urgent(
        &mut self,
        commands: &mpsc::Receiver<Command>,
        close_reply: &mut Option<oneshot::Sender<()>>,
    ) {
        let deadline = Instant::now() + DEFER_FOR;
        while self.only_deferred() && self.jobs.len() < MAX_BATCH && close_reply.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match commands.recv_timeout(left) {
                Ok(Command::Write(job)) => self.push(job),
                Ok(Command::Close(reply)) => *close_reply = Some(reply),
                Err(_) => return,
            }
            self.take_waiting(commands, close_reply);
        }
    }

    fn drain(&mut self) -> std::vec::Drain<'_, Job> {
        self.urgent = 0;
        self.jobs.drain(..)
    }
}

/// Runs the jobs in one transaction and commits it; returns each job's outcome.
fn commit_batch(
    conn: &mut Connection,
    jobs: impl Iterator<Item = Job>,
    observer: &dyn StoreObserver,
) -> Acks {
    let mut finishes: Acks = Vec::new();
    // Dropping a job drops its reply channel: the caller sees the store as unavailable.
    if !begin_write(conn) {
        return finishes;
    }
    // Jobs before this index were rolled back with their batch and already hold their error.
    let mut in_transaction = 0;
    let mut count = 0;
    for job in jobs {
        count += 1;
        let changes_before = conn.total_changes();
        let mut tx = SqliteTx {
            conn,
            savepoint: job.savepoint,
        };
        let finish = (job.work)(&mut tx);
        let savepoint = tx.savepoint;
        let failed = match (savepoint, finish.keep) {
            (Savepoint::Open, true) => run_cached(conn, "RELEASE job").err().map(DbError::from),
            (Savepoint::Open, false) => run_cached(conn, "ROLLBACK TO job")
                .and_then(|()| run_cached(conn, "RELEASE job"))
                .err()
                .map(DbError::from),
            (Savepoint::Failed, _) => Some(savepoint_failed()),
            (Savepoint::Unneeded | Savepoint::NotYet, _) => None,
        };
        let broke_promise = savepoint == Savepoint::Unneeded
            && !finish.keep
            && conn.total_changes() != changes_before;
        finishes.push((finish.notify, failed));
        if broke_promise {
            tracing::error!(
                "a prechecked write failed after changing data; its batch is rolled back"
            );
            let _ = conn.execute_batch("ROLLBACK");
            for (_, outcome) in &mut finishes[in_transaction..] {
                *outcome = Some(DbError::BatchRolledBack);
            }
            in_transaction = finishes.len();
            if !begin_write(conn) {
                return finishes;
            }
        }
    }
    let started = Instant::now();
    let commit_error = run_cached(conn, "COMMIT").err().map(DbError::from);
    if commit_error.is_some() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    observer.record_commit(count, started.elapsed().as_secs_f64());
    if let Some(err) = commit_error {
        for (_, outcome) in &mut finishes[in_transaction..] {
            *outcome = Some(err.clone());
        }
    }
    finishes
}

/// Starts the batch's transaction; false (logged) when it cannot.
fn begin_write(conn: &Connection) -> bool {
    match run_cached(conn, "BEGIN IMMEDIATE") {
        Ok(()) => true,
        Err(err) => {
            tracing::error!(err = %DbError::from(err), "cannot begin a write transaction");
            false
        }
    }
}

fn savepoint_failed() -> DbError {
    DbError::Engine("cannot open a savepoint".into())
}

/// Runs a parameterless statement through the statement cache (the per-job savepoint
/// statements run thousands of times a second; parsing them each time shows in profiles).
pub(crate) fn run_cached(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// A transaction on one SQLite connection.
pub(crate) struct SqliteTx<'c> {
    conn: &'c mut Connection,
    savepoint: Savepoint,
}

/// Where a job stands with its savepoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Savepoint {
    /// Reads and prechecked jobs go without.
    Unneeded,
    /// To be opened before the job's first change: reads and early aborts cost nothing.
    NotYet,
    Open,
    /// Opening it failed; the job saw the error on the statement it was about to run.
    Failed,
}

impl<'c> SqliteTx<'c> {
    pub(crate) fn reader(conn: &'c mut Connection) -> Self {
        SqliteTx {
            conn,
            savepoint: Savepoint::Unneeded,
        }
    }

    /// Prepares `sql`, first opening the job's savepoint if the statement may change data.
    fn prepare(&mut self, sql: &str) -> Result<rusqlite::CachedStatement<'_>, DbError> {
        let statement = self.conn.prepare_cached(sql)?;
        if statement.readonly() {
            return Ok(statement);
        }
        match self.savepoint {
            Savepoint::NotYet => {
                if let Err(err) = run_cached(self.conn, "SAVEPOINT job") {
                    self.savepoint = Savepoint::Failed;
                    return Err(err.into());
                }
                self.savepoint = Savepoint::Open;
            }
            // No change may run where it could not be undone.
            Savepoint::Failed => return Err(savepoint_failed()),
            Savepoint::Unneeded | Savepoint::Open => {}
        }
        Ok(statement)
    }
}

impl Tx for SqliteTx<'_> {
    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<usize, DbError> {
        let mut statement = self.prepare(sql)?;
        Ok(statement.execute(rusqlite::params_from_iter(params.iter().map(to_sqlite)))?)
    }

    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, DbError> {
        let mut statement = self.prepare(sql)?;
        let columns = statement.column_count();
        let mut rows = statement.query(rusqlite::params_from_iter(params.iter().map(to_sqlite)))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(from_sqlite(row.get_ref(i)?));
            }
            out.push(Row(values));
        }
        Ok(out)
    }
}

fn to_sqlite(value: &SqlValue) -> rusqlite::types::ToSqlOutput<'_> {
    use rusqlite::types::{ToSqlOutput, ValueRef};
    ToSqlOutput::Borrowed(match value {
        SqlValue::Null => ValueRef::Null,
        SqlValue::Integer(v) => ValueRef::Integer(*v),
        SqlValue::Real(v) => ValueRef::Real(*v),
        SqlValue::Text(v) => ValueRef::Text(v.as_bytes()),
        SqlValue::Blob(v) => ValueRef::Blob(v),
    })
}

fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> SqlValue {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(v) => SqlValue::Integer(v),
        ValueRef::Real(v) => SqlValue::Real(v),
        ValueRef::Text(v) => SqlValue::Text(String::from_utf8_lossy(v).into_owned()),
        ValueRef::Blob(v) => SqlValue::Blob(v.to_vec()),
    }
}

/// The files of a throw-away database, removed on drop.
pub(crate) struct TempFiles {
    pub(crate) path: PathBuf,
}

impl TempFiles {
    pub(crate) fn new() -> Self {
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        TempFiles {
            path: dir.join(format!("nimbus-{}.sqlite", uuid::Uuid::new_v4().simple())),
        }
    }
}

impl Drop for TempFiles {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = self.path.clone().into_os_string();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    }
}

/// Reads a PRAGMA on the writer's settings; used by the conformance suite to prove durability.
impl Store {
    pub async fn synchronous_mode(&self) -> Result<i64, DbError> {
        self.write(|tx| -> Result<i64, TxError<DbError>> {
            Ok(tx
                .query_one("PRAGMA synchronous", &[])?
                .map(|r| r.i64(0))
                .transpose()?
                .unwrap_or(-1))
        })
        .await
        .map_err(|e| match e {
            TxError::Abort(e) | TxError::Db(e) => e,
        })
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::open_connection;

    /// SQLite re-plans a statement whose bound values could change its plan (a `LIMIT ?`, an
    /// equality filter on a small integer) every time the statement cache clears its bindings;
    /// the store's connections ask for plans that do not depend on bound values.
    #[test]
    fn cached_statements_are_not_prepared_again() {
        let conn = open_connection(std::path::Path::new(":memory:"), false, false).unwrap();
        conn.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER, flag INTEGER)")
            .unwrap();
        let sql = "SELECT k FROM t WHERE k > ?1 AND flag = ?2 ORDER BY k LIMIT ?3";
        for _ in 0..3 {
            let mut statement = conn.prepare_cached(sql).unwrap();
            let rows: Vec<i64> = statement
                .query_map(rusqlite::params![0, 1, 10], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(rows.is_empty());
            assert_eq!(statement.get_status(StatementStatus::RePrepare), 0);
        }
    }
}
