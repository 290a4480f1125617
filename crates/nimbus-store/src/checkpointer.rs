//! Checkpoints the write-ahead log on a thread of its own. SQLite's automatic checkpoint runs
//! inside the committing connection, so every thousandth commit would make the single writer
//! copy the log into the database file and fsync it while the callers of the next batch wait.

use std::sync::{Arc, mpsc};

use rusqlite::Connection;
use rusqlite::wal::CheckpointMode;

use crate::DbError;
use crate::readers::Readers;

/// Log size, in pages (40 MiB), past which a commit asks for a checkpoint. Ten times SQLite's
/// default: writes with random keys (DynamoDB's key index) dirty a different page each, and a
/// longer log lets a page changed by many commits be copied into the database once.
pub const CHECKPOINT_PAGES: u32 = 10_000;
/// Log size past which the writer checkpoints itself, in checkpoint sizes. Under steady
/// writes the log is never fully copied between two commits, so it would never restart from
/// its beginning and would grow without end; the writer's own checkpoint copies what the
/// thread has not (little, as the thread copies most) and lets the next commit restart the log.
const WRITER_CHECKPOINT_FACTOR: u32 = 2;

/// Hands the writer's commits to a checkpointing thread: after a commit that leaves the log at
/// `checkpoint_pages` or more, the thread runs a passive checkpoint, which never blocks the
/// writer or the readers; past `WRITER_CHECKPOINT_FACTOR` times that, the writer checkpoints
/// itself. Before each of its checkpoints the thread ends idle readers' transactions, which
/// would otherwise hold the log at their snapshots. The thread stops when the writer
/// connection is dropped.
pub fn start(
    writer: &mut Connection,
    checkpoint_conn: Connection,
    readers: Arc<Readers>,
    checkpoint_pages: u32,
) -> Result<(), DbError> {
    let checkpoint_pages = i32::try_from(checkpoint_pages).unwrap_or(i32::MAX);
    let writer_checkpoint_pages = checkpoint_pages.saturating_mul(WRITER_CHECKPOINT_FACTOR as i32);
    // One pending request is enough: a checkpoint copies every frame committed before it.
    let (wake, requests) = mpsc::sync_channel::<()>(1);
    writer.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: i32| {
        if pages >= writer_checkpoint_pages {
            warn_on_failure(wal.checkpoint_v2(CheckpointMode::PASSIVE));
        } else if pages >= checkpoint_pages {
            let _ = wake.try_send(());
        }
        Ok(())
    }))?;
    std::thread::Builder::new()
        .name("nimbus-store-checkpoint".into())
        .spawn(move || {
            while requests.recv().is_ok() {
                readers.release_idle();
                warn_on_failure(
                    checkpoint_conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE),
                );
            }
        })
        .map_err(|e| DbError::Engine(e.to_string()))?;
    Ok(())
}

/// A failed checkpoint leaves the log longer, not the data wrong: the next one retries. Busy
/// is no failure: the other checkpointer (writer or thread) is copying the log right now.
fn warn_on_failure<T>(outcome: rusqlite::Result<T>) {
    match outcome {
        Ok(_) => {}
        Err(err) if is_busy(&err) => {
            tracing::debug!("checkpoint skipped: another one is running");
        }
        Err(err) => tracing::warn!(err = %DbError::from(err), "checkpoint failed"),
    }
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(failure, _)
        if failure.code == rusqlite::ErrorCode::DatabaseBusy)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkpoint that cannot get what it needs right now answers busy, which is told apart
    /// from a real failure.
    #[test]
    fn a_blocked_checkpoint_is_busy_not_failed() {
        let files = crate::sqlite::TempFiles::new();
        let writer = Connection::open(&files.path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer
            .execute_batch("CREATE TABLE t (v); INSERT INTO t VALUES (1)")
            .unwrap();
        let reader = Connection::open(&files.path).unwrap();
        reader.execute_batch("BEGIN; SELECT * FROM t;").unwrap();
        writer.execute_batch("INSERT INTO t VALUES (2)").unwrap();
        // The open read transaction keeps the log from being emptied; no waiting for it.
        writer.busy_timeout(std::time::Duration::ZERO).unwrap();
        let err = writer
            .wal_checkpoint_v2(None::<&str>, CheckpointMode::TRUNCATE)
            .unwrap_err();
        assert!(is_busy(&err), "{err}");
        assert!(!is_busy(&rusqlite::Error::InvalidQuery));
    }
}
