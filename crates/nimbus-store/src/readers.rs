//! The pool of read connections. A reader keeps its read transaction open from one read to
//! the next for as long as nothing has been committed since the transaction began: such
//! reads skip BEGIN and COMMIT and, above all, the WAL read lock, whose shared-memory lock
//! costs two `fcntl` calls per transaction. A commit makes the next read start afresh, so a
//! read never misses an acknowledged write.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Mutex, MutexGuard};
use rusqlite::Connection;

use crate::sqlite::{SqliteTx, run_cached};
use crate::{DbError, Tx};

pub(crate) struct Readers {
    slots: Vec<Mutex<Reader>>,
    /// Commits so far; the writer counts each one before acknowledging its jobs.
    commits: AtomicU64,
    /// Cleared at close: from then on every read ends its transaction.
    keep_open: AtomicBool,
}

struct Reader {
    conn: Connection,
    /// The commit count when the open transaction began; `None` when none is open.
    snapshot: Option<u64>,
}

impl Reader {
    fn end_transaction(&mut self) -> Result<(), DbError> {
        match self.snapshot.take() {
            Some(_) => Ok(run_cached(&self.conn, "COMMIT")?),
            None => Ok(()),
        }
    }
}

impl Readers {
    pub fn new(connections: Vec<Connection>) -> Self {
        Readers {
            slots: connections
                .into_iter()
                .map(|conn| {
                    Mutex::new(Reader {
                        conn,
                        snapshot: None,
                    })
                })
                .collect(),
            commits: AtomicU64::new(0),
            keep_open: AtomicBool::new(true),
        }
    }

    /// Called by the writer after each commit, before it acknowledges the commit's jobs.
    pub fn committed(&self) {
        self.commits.fetch_add(1, Ordering::Release);
    }

    /// Runs `work` on a snapshot that holds every write acknowledged before the call.
    pub fn read<T>(
        &self,
        work: impl FnOnce(&mut dyn Tx) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut reader = self.pick();
        // Loaded before the transaction begins, so the snapshot holds at least these commits.
        let commits = self.commits.load(Ordering::Acquire);
        if reader.snapshot != Some(commits) {
            reader.end_transaction()?;
            run_cached(&reader.conn, "BEGIN DEFERRED")?;
            reader.snapshot = Some(commits);
        }
        let result = work(&mut SqliteTx::reader(&mut reader.conn));
        if result.is_err() || !self.keep_open.load(Ordering::Relaxed) {
            reader.end_transaction()?;
        }
        result
    }

    /// Ends the transactions of idle readers, so that the log can be checkpointed past
    /// their snapshots and start over.
    pub fn release_idle(&self) {
        for slot in &self.slots {
            if let Some(mut reader) = slot.try_lock() {
                warn_on_failure(reader.end_transaction());
            }
        }
    }

    /// Ends every reader's transaction and keeps none open from now on (before closing).
    pub fn release_all(&self) {
        self.keep_open.store(false, Ordering::Relaxed);
        for slot in &self.slots {
            warn_on_failure(slot.lock().end_transaction());
        }
    }

    fn pick(&self) -> MutexGuard<'_, Reader> {
        self.slots
            .iter()
            .find_map(|slot| slot.try_lock())
            .unwrap_or_else(|| self.slots[rand_index(self.slots.len())].lock())
    }
}

fn rand_index(len: usize) -> usize {
    (uuid::Uuid::new_v4().as_u128() % len as u128) as usize
}

fn warn_on_failure(outcome: Result<(), DbError>) {
    if let Err(err) = outcome {
        tracing::warn!(%err, "ending a read transaction failed");
    }
}
