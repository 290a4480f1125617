//! Background work owned by SQS: retention expiry, deduplication window cleanup, and resuming
//! message move tasks after a restart. Stopped by the server's one shutdown signal.

use std::sync::Arc;
use std::time::Duration;

use nimbus_store::params;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Sqs;

/// How often expired messages are swept when the clock runs on its own.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

impl Sqs {
    /// Starts the SQS workers; they stop when `shutdown` turns true.
    pub fn spawn_workers(self: &Arc<Self>, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let sqs = Arc::clone(self);
        let resume = Arc::clone(self);
        tokio::spawn(async move {
            match resume.db.read(|tx| {
                tx.query(
                    "SELECT handle FROM sqs_move_tasks WHERE status IN ('RUNNING', 'CANCELLING')",
                    &[],
                )?
                .iter()
                .map(|r| r.string(0))
                .collect::<Result<Vec<_>, _>>()
            }) {
                Ok(handles) => handles.into_iter().for_each(|h| resume.spawn_move_task(h)),
                Err(err) => tracing::warn!(%err, "cannot resume message move tasks"),
            }
        });
        let sweeper = tokio::spawn(async move {
            let clock = sqs.clock.clone();
            clock
                .repeat(SWEEP_INTERVAL, shutdown, || async {
                    if let Err(err) = sqs.sweep_expired().await {
                        tracing::warn!(%err, "sqs retention sweep failed");
                    }
                })
                .await;
            sqs.waiters.wake_all();
        });
        vec![sweeper]
    }

    /// Deletes messages past their queue's retention period and forgotten deduplication ids.
    /// Looks first: a sweep with nothing to delete writes nothing, so an idle server does not
    /// commit (and fsync) every second.
    pub async fn sweep_expired(&self) -> Result<(), nimbus_core::ServiceError> {
        let now = self.clock.now_ms();
        // CROSS JOIN keeps the queues as the outer loop, so each queue's oldest messages are
        // found through the (queue_id, sent_at) index instead of a scan of every message.
        let due = self.db.read(|tx| {
            Ok(tx
                .query_one(
                    "SELECT 1 WHERE EXISTS
                       (SELECT 1 FROM sqs_queues q CROSS JOIN sqs_messages m
                        WHERE m.queue_id = q.id AND m.sent_at <= ?1 - q.retention_ms)
                     OR EXISTS (SELECT 1 FROM sqs_dedup WHERE expires_at <= ?1)",
                    &params![now],
                )?
                .is_some())
        })?;
        if !due {
            return Ok(());
        }
        self.db
            .write(move |tx| {
                let queues = tx.query("SELECT id, retention_ms FROM sqs_queues", &[])?;
                for q in queues {
                    tx.execute(
                        "DELETE FROM sqs_messages WHERE queue_id = ?1 AND sent_at <= ?2",
                        &params![q.i64(0)?, now - q.i64(1)?],
                    )?;
                }
                tx.execute(
                    "DELETE FROM sqs_dedup WHERE expires_at <= ?1",
                    &params![now],
                )?;
                Ok(())
            })
            .await
    }
}
