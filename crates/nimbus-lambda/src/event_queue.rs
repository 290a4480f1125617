//! Asynchronous (`Event`) invocations: a durable queue in the store, drained by one worker.
//! An accepted event is on disk before Invoke answers 202, and an event whose run was cut
//! short by a restart runs again. Function errors are retried after one and two minutes up
//! to the function's `MaximumRetryAttempts`; throttles and service errors go back on the
//! queue with exponential backoff until `MaximumEventAgeInSeconds`. What cannot be processed
//! goes to the OnFailure destination, else the dead-letter queue; successes to OnSuccess.
//! Attempt counts and the last outcome are stored with the event, so all of this survives
//! restarts.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use nimbus_core::{RequestContext, ServiceError};
use nimbus_store::params;
use tokio::sync::{Notify, Semaphore, watch};

use crate::Lambda;
use crate::async_config::EventInvokeConfig;
use crate::destinations::{
    AttemptOutcome, Condition, Finished, dead_letter_attributes, invocation_record,
};
use crate::event_admission::{FunctionKey, RunningEvents};
use crate::invoke::{Call, InvokeOutput, Target};
use crate::record::FunctionRef;
use crate::versions::qualified_arn;

/// Events started at once; the rest wait in the queue.
const PARALLEL_EVENTS: usize = 64;
/// Due events looked at per free slot, so that the events of functions at their reserved
/// concurrency do not hide the others.
const CANDIDATES_PER_SLOT: i64 = 4;
/// The worker looks at the queue at least this often (delayed events become due).
const POLL_EVERY: Duration = Duration::from_millis(500);
/// AWS waits about a minute before the first retry of a failed event, two before the second.
const FUNCTION_ERROR_RETRY_MS: [i64; 2] = [60_000, 120_000];
/// Throttled events come back after 1 s, doubling up to 5 minutes.
const BACKOFF_FIRST_MS: i64 = 1_000;
const BACKOFF_MAX_MS: i64 = 300_000;

/// Wakes the worker when an event is queued, and counts what became of attempts.
#[derive(Default)]
pub(crate) struct EventQueue {
    pub notify: Notify,
    outcomes: [AtomicU64; 4],
    running: RunningEvents,
}

/// What became of one attempt, for the metrics.
#[derive(Debug, Clone, Copy)]
enum Tally {
    Succeeded,
    Retried,
    Failed,
    Dropped,
}

const TALLIES: [(Tally, &str); 4] = [
    (Tally::Succeeded, "succeeded"),
    (Tally::Retried, "retried"),
    (Tally::Failed, "failed"),
    (Tally::Dropped, "dropped"),
];

impl EventQueue {
    fn count(&self, tally: Tally) {
        self.outcomes[tally as usize].fetch_add(1, Ordering::Relaxed);
    }
}

struct QueuedEvent {
    id: i64,
    account: String,
    region: String,
    function: FunctionRef,
    payload: Vec<u8>,
    enqueued_at: i64,
    request_id: String,
    /// Attempts made before this one.
    attempts: i64,
    function_errors: i64,
    last_outcome: Option<AttemptOutcome>,
}

/// One attempt at an event: where it runs and under which settings.
#[derive(Clone, Copy)]
struct Attempt<'a> {
    ctx: &'a RequestContext,
    config: &'a EventInvokeConfig,
    target: &'a Target,
    event: &'a QueuedEvent,
}

/// What to do with an event after an attempt.
enum Next {
    Done,
    Retry {
        due_at: i64,
        function_errors: i64,
        outcome: AttemptOutcome,
    },
}

/// Delay before the next try after `function_errors` function errors.
fn function_error_delay(function_errors: i64) -> i64 {
    let index = usize::try_from(function_errors.max(1) - 1).unwrap_or(0);
    FUNCTION_ERROR_RETRY_MS[index.min(FUNCTION_ERROR_RETRY_MS.len() - 1)]
}

/// Delay before the next try after `refusals` throttles or service errors in a row.
fn backoff_delay(refusals: i64) -> i64 {
    let doublings = u32::try_from((refusals - 1).clamp(0, 20)).unwrap_or(0);
    (BACKOFF_FIRST_MS << doublings).min(BACKOFF_MAX_MS)
}

fn decode_outcome(text: Option<String>) -> Option<AttemptOutcome> {
    serde_json::from_str(&text?).ok()
}

/// A queued event from its row (`id, account, region, name, payload, qualifier, request_id,
/// attempts, function_errors, last_outcome, enqueued_at`).
fn queued_event(row: &nimbus_store::Row) -> Result<QueuedEvent, nimbus_store::DbError> {
    Ok(QueuedEvent {
        id: row.i64(0)?,
        account: row.string(1)?,
        region: row.string(2)?,
        function: FunctionRef {
            name: row.string(3)?,
            qualifier: row.opt_string(5)?,
        },
        payload: row.blob(4)?.to_vec(),
        // Events queued before request ids were kept get one now (stored with the event's
        // outcome).
        request_id: row.opt_string(6)?.unwrap_or_else(nimbus_core::ids::uuid),
        attempts: row.i64(7)?,
        function_errors: row.i64(8)?,
        last_outcome: decode_outcome(row.opt_string(9)?),
        enqueued_at: row.i64(10)?,
    })
}

impl QueuedEvent {
    fn function_key(&self) -> FunctionKey {
        (
            self.account.clone(),
            self.region.clone(),
            self.function.name.clone(),
        )
    }

    /// The qualifier its settings are kept under (and its records name).
    fn qualifier(&self) -> &str {
        self.function.qualifier.as_deref().unwrap_or("$LATEST")
    }
}

impl Lambda {
    /// Attempts of asynchronous events since start, by what became of them: `succeeded`,
    /// `retried` (back on the queue), `failed` (sent to OnFailure or the dead-letter queue, or
    /// dropped after its last try) and `dropped` (the function was gone).
    pub fn async_event_counts(&self) -> Vec<(&'static str, u64)> {
        TALLIES
            .iter()
            .map(|(tally, label)| {
                (
                    *label,
                    self.events.outcomes[*tally as usize].load(Ordering::Relaxed),
                )
            })
            .collect()
    }

    /// Stores an event for the worker; returns once it is durable.
    /// The qualifier is kept as given: an alias picks its version when the event runs.
    pub(crate) async fn enqueue_event(
        &self,
        ctx: &RequestContext,
        function: &FunctionRef,
        payload: Bytes,
        request_id: Option<String>,
    ) -> Result<(), ServiceError> {
        let (account, region) = (ctx.account_id.clone(), ctx.region.clone());
        let (name, qualifier) = (function.name.clone(), function.qualifier.clone());
        let request_id = request_id.unwrap_or_else(nimbus_core::ids::uuid);
        let now = self.clock.now_ms();
        // Prechecked here and below: these jobs never abort.
        self.db.write_prechecked(move |tx| {
            tx.execute(
                "INSERT INTO lambda_event_queue (account, region, name, qualifier, payload, enqueued_at, due_at, request_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
                &params![&account, &region, &name, qualifier, payload.to_vec(), now, &request_id],
            )?;
            Ok(())
        })
        .await?;
        self.events.notify.notify_one();
        Ok(())
    }

    /// Claims up to `limit` due events whose function has reserved concurrency left. Each
    /// claimed event is counted as running until [`Self::record_next`].
    async fn claim_events(&self, limit: i64) -> Result<Vec<QueuedEvent>, ServiceError> {
        let now = self.clock.now_ms();
        let saturated = self.events.running.saturated();
        // Running events are still in the queue (and come first): look past them.
        let running = i64::try_from(self.events.running.count()).unwrap_or(i64::MAX);
        // The candidates come whole, so the admitted ones need no second look, unless an
        // event settled while they were read (see `still_current`).
        let releases = self.events.running.releases();
        let candidates = self.db.read(|tx| {
            let (exclude, mut args) = excluding(&saturated, 3);
            args.splice(0..0, params![now, limit * CANDIDATES_PER_SLOT + running]);
            let sql = format!(
                "SELECT id, account, region, name, payload, qualifier, request_id, attempts, function_errors, last_outcome, enqueued_at FROM lambda_event_queue WHERE claimed = 0 AND due_at <= ?1{exclude} ORDER BY due_at, id LIMIT ?2"
            );
            tx.query(&sql, &args)?
                .iter()
                .map(queued_event)
                .collect::<Result<Vec<QueuedEvent>, _>>()
        })?;
        let mut limits: HashMap<FunctionKey, Option<usize>> = HashMap::new();
        let mut admitted = Vec::new();
        for event in candidates {
            if admitted.len() >= usize::try_from(limit).unwrap_or(0) {
                break;
            }
            let function = event.function_key();
            let reserved = *limits
                .entry(function.clone())
                .or_insert_with(|| self.reserved_concurrency(&function));
            if self.events.running.admit(&function, event.id, reserved) {
                admitted.push(event);
            }
        }
        if self.events.running.releases() != releases {
            admitted = self.still_current(admitted, now);
        }
        Ok(admitted)
    }

    /// Keeps the admitted events whose rows are as they were read and still due. An event
    /// that settled between the read and its admission was read before its outcome was
    /// stored: it is gone (and its row id may already name a newer event, as SQLite reuses
    /// the highest id), or waits for a later attempt. Starting it again would run it twice
    /// and settle the wrong row. The others lose their claim and are read afresh next time.
    fn still_current(&self, admitted: Vec<QueuedEvent>, now: i64) -> Vec<QueuedEvent> {
        let current = self.db.read(|tx| {
            let mut current = Vec::with_capacity(admitted.len());
            for event in &admitted {
                let row = tx.query_one(
                    "SELECT 1 FROM lambda_event_queue WHERE id = ?1 AND attempts = ?2 AND (request_id = ?3 OR request_id IS NULL) AND due_at <= ?4",
                    &params![event.id, event.attempts, &event.request_id, now],
                )?;
                current.push(row.is_some());
            }
            Ok(current)
        });
        let (kept, dropped): (Vec<_>, Vec<_>) = admitted
            .into_iter()
            .enumerate()
            .partition(|(index, _)| current.as_ref().is_ok_and(|current| current[*index]));
        for (_, event) in &dropped {
            self.events.running.unclaim(&event.function_key(), event.id);
        }
        if !dropped.is_empty() {
            self.events.notify.notify_one();
        }
        kept.into_iter().map(|(_, event)| event).collect()
    }

    /// The function's reserved concurrency, which its asynchronous events wait for. A
    /// reserved concurrency of 0 is not waited for: such events are throttled, and retried
    /// until their maximum age, as on AWS.
    fn reserved_concurrency(&self, (account, region, name): &FunctionKey) -> Option<usize> {
        let base = self.endpoint.get().cloned().unwrap_or_default();
        let ctx = RequestContext::internal(account, region, &base);
        let reserved = self
            .cached_function(&ctx, name)
            .ok()?
            .record
            .reserved_concurrency?;
        usize::try_from(reserved).ok().filter(|&limit| limit > 0)
    }

    /// Stores what became of an attempt: the event is gone, or waits for its next attempt
    /// (which counts this one). Deferred to the next commit: lost in a crash, the attempt is
    /// only made again.
    async fn finish_event(&self, event: &QueuedEvent, next: Next) -> Result<(), ServiceError> {
        let (id, request_id) = (event.id, event.request_id.clone());
        self.db
            .write_deferred(move |tx| {
                match next {
                    Next::Retry {
                        due_at,
                        function_errors,
                        outcome,
                    } => tx.execute(
                        "UPDATE lambda_event_queue SET attempts = attempts + 1, due_at = ?2, function_errors = ?3, last_outcome = ?4, request_id = ?5 WHERE id = ?1",
                        &params![id, due_at, function_errors, crate::functions::encode(&outcome), &request_id],
                    )?,
                    Next::Done => {
                        tx.execute("DELETE FROM lambda_event_queue WHERE id = ?1", &params![id])?
                    }
                };
                Ok(())
            })
            .await
    }

    /// A retry delay shortened by the `async_retry_scale` setting.
    fn scaled(&self, delay_ms: i64) -> i64 {
        let scaled = (delay_ms as f64 * self.config.async_retry_scale).round();
        (scaled as i64).max(1)
    }

    async fn run_event(self: Arc<Self>, event: QueuedEvent) {
        let base = self.endpoint.get().cloned().unwrap_or_default();
        let ctx = RequestContext::internal(&event.account, &event.region, &base);
        let name = &event.function.name;
        // An alias picks its version for each attempt.
        let target = match self.target(&ctx, &event.function) {
            Ok(target) => target,
            Err(err) => {
                self.events.count(Tally::Dropped);
                tracing::warn!(%err, function = name, request_id = event.request_id, "asynchronous event dropped");
                return self.record_next(&event, Next::Done).await;
            }
        };
        let config = self
            .load_event_invoke_config(&event.account, &event.region, name, event.qualifier())
            .ok()
            .flatten()
            .map_or_else(EventInvokeConfig::default, |c| (*c).clone());
        let attempt = Attempt {
            ctx: &ctx,
            config: &config,
            target: &target,
            event: &event,
        };
        let now = self.clock.now_ms();
        if now - event.enqueued_at > config.max_event_age_ms() {
            let outcome = event.last_outcome.clone();
            self.give_up(
                &attempt,
                Condition::EventAgeExceeded,
                event.attempts,
                outcome.as_ref(),
            )
            .await;
            return self.record_next(&event, Next::Done).await;
        }
        let invoke_count = event.attempts + 1;
        let call = Call {
            client_context: None,
            want_log: false,
            request_id: event.request_id.clone(),
        };
        let result = self
            .run_with_id(
                &ctx,
                name,
                &target,
                Bytes::from(event.payload.clone()),
                call,
            )
            .await;
        let next = match result {
            Ok(output) if output.function_error.is_none() => {
                let outcome = outcome_of(output);
                if let Some(destination) = &config.on_success {
                    let finished = self.finished(
                        &ctx,
                        &event,
                        invoke_count,
                        Condition::Success,
                        Some(&outcome),
                    );
                    self.send_record(&ctx, destination, &finished).await;
                }
                self.events.count(Tally::Succeeded);
                Next::Done
            }
            Ok(output) => {
                let outcome = outcome_of(output);
                let function_errors = event.function_errors + 1;
                if function_errors > i64::from(config.retry_attempts()) {
                    self.give_up(
                        &attempt,
                        Condition::RetriesExhausted,
                        invoke_count,
                        Some(&outcome),
                    )
                    .await;
                    Next::Done
                } else {
                    self.events.count(Tally::Retried);
                    Next::Retry {
                        due_at: now + self.scaled(function_error_delay(function_errors)),
                        function_errors,
                        outcome,
                    }
                }
            }
            Err(err) if err.status == 429 || err.status >= 500 => {
                self.events.count(Tally::Retried);
                Next::Retry {
                    due_at: now + self.scaled(backoff_delay(invoke_count - event.function_errors)),
                    function_errors: event.function_errors,
                    outcome: AttemptOutcome::refused(&err),
                }
            }
            Err(err) => {
                self.events.count(Tally::Dropped);
                tracing::warn!(%err, function = name, request_id = event.request_id, "asynchronous event dropped");
                Next::Done
            }
        };
        self.record_next(&event, next).await;
    }

    async fn record_next(&self, event: &QueuedEvent, next: Next) {
        self.events.running.end_run(&event.function_key());
        if let Err(err) = self.finish_event(event, next).await {
            tracing::warn!(%err, "recording an event invocation failed");
        }
        self.events.running.release(event.id);
        // A slot is free again.
        self.events.notify.notify_one();
    }

    fn finished<'a>(
        &self,
        ctx: &RequestContext,
        event: &'a QueuedEvent,
        invoke_count: i64,
        condition: Condition,
        outcome: Option<&'a AttemptOutcome>,
    ) -> Finished<'a> {
        Finished {
            function_arn: qualified_arn(ctx, &event.function.name, event.qualifier()),
            request_id: &event.request_id,
            payload: &event.payload,
            invoke_count,
            condition,
            outcome,
            now_ms: self.clock.now_ms(),
        }
    }

    async fn send_record(&self, ctx: &RequestContext, destination: &str, finished: &Finished<'_>) {
        let record = invocation_record(finished);
        let sent = self
            .deliver(ctx, destination, record, Default::default())
            .await;
        if let Err(err) = sent {
            tracing::warn!(%err, destination, request_id = finished.request_id, "delivering an invocation record failed");
        }
    }

    /// An event that will not be tried again: OnFailure, else the dead-letter queue, else
    /// a log line.
    async fn give_up(
        &self,
        attempt: &Attempt<'_>,
        condition: Condition,
        invoke_count: i64,
        outcome: Option<&AttemptOutcome>,
    ) {
        let Attempt {
            ctx,
            config,
            target,
            event,
        } = *attempt;
        self.events.count(Tally::Failed);
        let finished = self.finished(ctx, event, invoke_count, condition, outcome);
        if let Some(destination) = &config.on_failure {
            return self.send_record(ctx, destination, &finished).await;
        }
        let dead_letter = self
            .deployed(ctx, &event.function.name, target.version)
            .await
            .ok()
            .and_then(|d| d.record.dead_letter_target.clone());
        let Some(target) = dead_letter else {
            tracing::warn!(
                function = event.function.name,
                request_id = event.request_id,
                condition = ?condition,
                "asynchronous event dropped after {invoke_count} attempts"
            );
            return;
        };
        let body = String::from_utf8_lossy(&event.payload).into_owned();
        let sent = self
            .deliver(ctx, &target, body, dead_letter_attributes(&finished))
            .await;
        if let Err(err) = sent {
            tracing::warn!(%err, target, request_id = event.request_id, "sending to the dead-letter queue failed");
        }
    }

    /// When the earliest waiting event that may start is due, if any (the events of a
    /// saturated function wait for one of its running events to finish instead; running
    /// events are not waiting).
    fn next_due(&self) -> Option<i64> {
        let saturated = self.events.running.saturated();
        let running = i64::try_from(self.events.running.count()).unwrap_or(i64::MAX);
        self.db
            .read(|tx| {
                let (exclude, mut args) = excluding(&saturated, 2);
                args.insert(0, (running + 1).into());
                let sql = format!(
                    "SELECT id, due_at FROM lambda_event_queue WHERE claimed = 0{exclude} ORDER BY due_at, id LIMIT ?1"
                );
                for row in tx.query(&sql, &args)? {
                    if !self.events.running.is_running(row.i64(0)?) {
                        return Ok(Some(row.i64(1)?));
                    }
                }
                Ok(None)
            })
            .ok()
            .flatten()
    }

    /// Runs queued events until shutdown. Claims left by an earlier run are released first.
    pub(crate) fn spawn_event_worker(self: &Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let lambda = Arc::clone(self);
        let mut clock_moved = self.clock.moved();
        tokio::spawn(async move {
            // Stores of earlier versions kept claims on disk.
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
                    let wait = match lambda.next_due() {
                        Some(due) if free > 0 => {
                            let ms = u64::try_from(due - lambda.clock.now_ms()).unwrap_or(0);
                            POLL_EVERY.min(Duration::from_millis(ms.max(1)))
                        }
                        _ => POLL_EVERY,
                    };
                    tokio::select! {
                        () = lambda.events.notify.notified() => {}
                        () = tokio::time::sleep(wait) => {}
                        _ = clock_moved.changed() => {}
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

/// ` AND NOT (…)` leaving out the events of `functions`, with its parameters numbered from
/// `first`.
fn excluding(functions: &[FunctionKey], first: usize) -> (String, Vec<nimbus_store::SqlValue>) {
    if functions.is_empty() {
        return (String::new(), Vec::new());
    }
    let mut args = Vec::with_capacity(functions.len() * 3);
    let clauses: Vec<String> = functions
        .iter()
        .enumerate()
        .map(|(i, (account, region, name))| {
            args.extend(params![account.as_str(), region.as_str(), name.as_str()]);
            let n = first + i * 3;
            format!(
                "(account = ?{n} AND region = ?{} AND name = ?{})",
                n + 1,
                n + 2
            )
        })
        .collect();
    (format!(" AND NOT ({})", clauses.join(" OR ")), args)
}

fn outcome_of(output: InvokeOutput) -> AttemptOutcome {
    AttemptOutcome {
        status: output.status,
        function_error: output.function_error,
        executed_version: output.executed_version,
        payload: Some(String::from_utf8_lossy(&output.payload).into_owned()),
        error_code: None,
        error_message: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_schedules_follow_aws() {
        assert_eq!(function_error_delay(1), 60_000);
        assert_eq!(function_error_delay(2), 120_000);
        assert_eq!(backoff_delay(1), 1_000);
        assert_eq!(backoff_delay(2), 2_000);
        assert_eq!(backoff_delay(9), 256_000);
        assert_eq!(backoff_delay(10), 300_000);
        assert_eq!(backoff_delay(500), 300_000);
    }
}
