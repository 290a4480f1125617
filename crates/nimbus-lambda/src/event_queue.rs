//! Asynchronous (`Event`) invocations: a durable queue in the store, drained by one worker.
//! An accepted event is on disk before Invoke answers 202, and an event whose run was cut
//! short by a restart runs again. Retries after function errors, maximum event age and
//! destinations come with the asynchronous invocation settings.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nimbus_core::{RequestContext, ServiceError};
use nimbus_store::params;
use tokio::sync::{Notify, Semaphore, watch};

use crate::Lambda;
use crate::invoke::InvokeOutput;
use crate::record::FunctionRef;

/// Events started at once; the rest wait in the queue.
const PARALLEL_EVENTS: usize = 64;
/// How long a throttled event waits before it is tried again.
const THROTTLE_RETRY_MS: i64 = 1000;
/// The worker looks at the queue at least this often (delayed events become due).
const POLL_EVERY: Duration = Duration::from_millis(500);

/// Wakes the worker when an event is queued.
#[derive(Default)]
pub(crate) struct EventQueue {
    pub notify: Notify,
}

struct QueuedEvent {
    id: i64,
    account: String,
    region: String,
    function: FunctionRef,
    payload: Vec<u8>,
}

impl Lambda {
    /// Stores an event for the worker; returns once it is durable.
    /// The qualifier is kept as given: an alias picks its version when the event runs.
    pub(crate) async fn enqueue_event(
        &self,
        ctx: &RequestContext,
        function: &FunctionRef,
        payload: Bytes,
    ) -> Result<(), ServiceError> {
        let (account, region) = (ctx.account_id.clone(), ctx.region.clone());
        let (name, qualifier) = (function.name.clone(), function.qualifier.clone());
        let now = self.clock.now_ms();
        self.db.write(move |tx| {
            tx.execute(
                "INSERT INTO lambda_event_queue (account, region, name, qualifier, payload, enqueued_at, due_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                &params![&account, &region, &name, qualifier, payload.to_vec(), now],
            )?;
            Ok(())
        })
        .await?;
        self.events.notify.notify_one();
        Ok(())
    }

    /// Claims up to `limit` due events.
    async fn claim_events(&self, limit: i64) -> Result<Vec<QueuedEvent>, ServiceError> {
        let now = self.clock.now_ms();
        self.db.write(move |tx| {
            let rows = tx.query(
                "SELECT id, account, region, name, payload, qualifier FROM lambda_event_queue WHERE claimed = 0 AND due_at <= ?1 ORDER BY due_at, id LIMIT ?2",
                &params![now, limit],
            )?;
            let mut events = Vec::with_capacity(rows.len());
            for row in &rows {
                let id = row.i64(0)?;
                tx.execute("UPDATE lambda_event_queue SET claimed = 1 WHERE id = ?1", &params![id])?;
                events.push(QueuedEvent {
                    id,
                    account: row.string(1)?,
                    region: row.string(2)?,
                    function: FunctionRef {
                        name: row.string(3)?,
                        qualifier: row.opt_string(5)?,
                    },
                    payload: row.blob(4)?.to_vec(),
                });
            }
            Ok(events)
        })
        .await
    }

    async fn finish_event(&self, id: i64, retry_at: Option<i64>) -> Result<(), ServiceError> {
        self.db
            .write(move |tx| {
                match retry_at {
                    Some(due) => tx.execute(
                        "UPDATE lambda_event_queue SET claimed = 0, due_at = ?2 WHERE id = ?1",
                        &params![id, due],
                    )?,
                    None => {
                        tx.execute("DELETE FROM lambda_event_queue WHERE id = ?1", &params![id])?
                    }
                };
                Ok(())
            })
            .await
    }

    async fn run_event(self: Arc<Self>, event: QueuedEvent) {
        let base = self.endpoint.get().cloned().unwrap_or_default();
        let ctx = RequestContext::internal(&event.account, &event.region, &base);
        let name = &event.function.name;
        let outcome = match self.target(&ctx, &event.function) {
            Ok(target) => {
                self.run(&ctx, name, &target, event.payload.into(), None, false)
                    .await
            }
            Err(err) => Err(err),
        };
        let retry_at = match &outcome {
            Err(err) if err.status == 429 => Some(self.clock.now_ms() + THROTTLE_RETRY_MS),
            Err(err) => {
                tracing::warn!(%err, function = name, "event invocation dropped");
                None
            }
            Ok(InvokeOutput {
                function_error: Some(_),
                ..
            }) => {
                tracing::info!(function = name, "event invocation failed in the function");
                None
            }
            Ok(_) => None,
        };
        if let Err(err) = self.finish_event(event.id, retry_at).await {
            tracing::warn!(%err, "recording an event invocation failed");
        }
    }

    /// Runs queued events until shutdown. Claims left by an earlier run are released first.
    pub(crate) fn spawn_event_worker(self: &Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let lambda = Arc::clone(self);
        tokio::spawn(async move {
            let released = lambda
                .db
                .write(|tx| {
                    tx.execute(
                        "UPDATE lambda_event_queue SET claimed = 0 WHERE claimed = 1",
                        &[],
                    )?;
                    Ok(())
                })
                .await;
            if let Err(err) = released {
                tracing::warn!(%err, "releasing interrupted events failed");
            }
            let slots = Arc::new(Semaphore::new(PARALLEL_EVENTS));
            loop {
                let free = i64::try_from(slots.available_permits()).unwrap_or(0);
                let events = if free > 0 {
                    lambda.claim_events(free).await.unwrap_or_default()
                } else {
                    Vec::new()
                };
                let idle = events.is_empty();
                for event in events {
                    let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
                        return;
                    };
                    let lambda = Arc::clone(&lambda);
                    tokio::spawn(async move {
                        lambda.run_event(event).await;
                        drop(permit);
                    });
                }
                if idle {
                    tokio::select! {
                        () = lambda.events.notify.notified() => {}
                        () = tokio::time::sleep(POLL_EVERY) => {}
                        _ = shutdown.changed() => {
                            if *shutdown.borrow() {
                                return;
                            }
                        }
                    }
                }
            }
        });
    }
}
