//! The source-neutral poller of one mapping: workers that gather a batch (up to the batch
//! size, the batching window or 6 MB), drop records no filter admits, invoke the function
//! synchronously through the same path as Invoke, read partial batch responses and settle
//! what succeeded. Workers scale out while batches come back full, up to the mapping's
//! concurrency, and back off after failures and throttles.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use nimbus_core::{BoxFuture, RequestContext, ServiceError};
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use super::MappingRecord;
use super::batch_response::failed_items;
use super::filter::Filters;
use crate::Lambda;
use crate::invoke::{InvokeMode, InvokeRequest};

/// AWS's synchronous payload limit, which bounds a batch.
const MAX_BATCH_BYTES: usize = 6 * 1024 * 1024;
/// How long one fetch waits for a first record.
const LONG_POLL: Duration = Duration::from_secs(20);
/// Workers a mapping keeps even when idle (AWS's smallest `MaximumConcurrency`).
const MIN_WORKERS: usize = 2;
/// Workers a mapping grows to without `ScalingConfig`, on one machine.
const DEFAULT_WORKER_LIMIT: usize = 64;
/// First and longest pause after a failed batch, a throttle or an unreachable source.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One record as a source delivers it.
pub(crate) struct SourceRecord {
    /// The identifier a partial batch response names (`messageId` for SQS).
    pub id: String,
    /// Records of one group are processed in order (SQS FIFO message groups).
    pub group: Option<String>,
    /// The record exactly as the function receives it, serialized once.
    pub json: Vec<u8>,
    /// What settling the record needs (an SQS receipt handle).
    pub token: String,
}

/// Where records come from. SQS is the first source; a stream source fits the same shape.
pub(crate) trait EventSource: Send + Sync + 'static {
    /// Waits up to `wait` for records, at most `max`.
    fn fetch(
        &self,
        max: usize,
        wait: Duration,
    ) -> BoxFuture<'_, Result<Vec<SourceRecord>, ServiceError>>;
    /// The most records one fetch returns.
    fn max_fetch(&self) -> usize;
    /// How long fetched records stay reserved for this poller; a throttled batch is retried
    /// only within it.
    fn lease(&self) -> Duration;
    /// The record as filters see it.
    fn filter_view(&self, record: &SourceRecord) -> Value;
    /// Settles records that were processed or filtered out; the others are left to the
    /// source's own retry (for SQS: they reappear after the visibility timeout).
    fn complete(&self, done: Vec<SourceRecord>) -> BoxFuture<'_, Result<(), ServiceError>>;
}

/// How one batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Every record settled (possibly after a partial batch response).
    Settled,
    /// The function failed or answered malformed; nothing was settled.
    Failed,
    /// Throttled until the lease ran out.
    Throttled,
}

struct Shared {
    lambda: Arc<Lambda>,
    mapping: MappingRecord,
    source: Arc<dyn EventSource>,
    filters: Filters,
    limit: usize,
    workers: AtomicUsize,
    stop: watch::Receiver<bool>,
}

/// Starts the workers of one mapping; they end when `stop` turns true.
pub(crate) fn start(
    lambda: Arc<Lambda>,
    mapping: MappingRecord,
    source: Arc<dyn EventSource>,
    stop: watch::Receiver<bool>,
) {
    let filters = Filters::compile(&mapping.filters).unwrap_or_default();
    let limit = mapping.max_concurrency.map_or(DEFAULT_WORKER_LIMIT, |m| {
        usize::try_from(m).unwrap_or(DEFAULT_WORKER_LIMIT)
    });
    let shared = Arc::new(Shared {
        lambda,
        mapping,
        source,
        filters,
        limit,
        workers: AtomicUsize::new(0),
        stop,
    });
    for _ in 0..MIN_WORKERS.min(limit) {
        spawn_worker(&shared);
    }
}

fn spawn_worker(shared: &Arc<Shared>) {
    shared.workers.fetch_add(1, Ordering::SeqCst);
    tokio::spawn(worker(Arc::clone(shared)));
}

/// Gives up this worker if more than the minimum remain.
fn retire(shared: &Shared) -> bool {
    shared
        .workers
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n > MIN_WORKERS).then(|| n - 1)
        })
        .is_ok()
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// Sleeps unless stopped first; returns whether to go on.
async fn pause(shared: &Shared, time: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(time) => true,
        () = stopped(shared.stop.clone()) => false,
    }
}

async fn worker(shared: Arc<Shared>) {
    let mut carry: Vec<SourceRecord> = Vec::new();
    let mut backoff = FIRST_BACKOFF;
    loop {
        // Records gathered when a stop arrives are not settled: the source redelivers them.
        let gathered = tokio::select! {
            batch = gather(&shared, &mut carry) => batch,
            () = stopped(shared.stop.clone()) => break,
        };
        let batch = match gathered {
            Ok(batch) => batch,
            Err(err) => {
                tracing::warn!(%err, mapping = shared.mapping.uuid, "reading the event source failed");
                if !pause(&shared, backoff).await {
                    break;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        if batch.is_empty() {
            if retire(&shared) {
                return;
            }
            continue;
        }
        let full = batch.len() >= shared.mapping.batch_size as usize;
        match process(&shared, batch).await {
            Outcome::Settled => {
                backoff = FIRST_BACKOFF;
                if full && shared.workers.load(Ordering::SeqCst) < shared.limit {
                    spawn_worker(&shared);
                }
            }
            Outcome::Failed | Outcome::Throttled => {
                // AWS scales a failing mapping down, except that reported item failures
                // do not slow polling.
                if retire(&shared) {
                    return;
                }
                if !pause(&shared, backoff).await {
                    break;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    shared.workers.fetch_sub(1, Ordering::SeqCst);
}

/// Takes what filters admit into the batch (extra records wait in `carry`); the rest is
/// settled at once.
async fn admit(
    shared: &Shared,
    records: Vec<SourceRecord>,
    batch: &mut Vec<SourceRecord>,
    bytes: &mut usize,
    carry: &mut Vec<SourceRecord>,
) -> Result<(), ServiceError> {
    let mut discarded = Vec::new();
    for record in records {
        if !shared.filters.is_empty() && !shared.filters.admits(&shared.source.filter_view(&record))
        {
            discarded.push(record);
        } else if batch.len() < shared.mapping.batch_size as usize
            && (batch.is_empty() || *bytes + record.json.len() < MAX_BATCH_BYTES)
        {
            *bytes += record.json.len() + 1;
            batch.push(record);
        } else {
            carry.push(record);
        }
    }
    if !discarded.is_empty() {
        shared.source.complete(discarded).await?;
    }
    Ok(())
}

/// Gathers one batch: waits for a first record, then keeps fetching until the batch is full,
/// the batching window has passed or the payload limit is near.
async fn gather(
    shared: &Shared,
    carry: &mut Vec<SourceRecord>,
) -> Result<Vec<SourceRecord>, ServiceError> {
    let batch_size = shared.mapping.batch_size as usize;
    let mut batch = Vec::new();
    let mut bytes = 0;
    let carried = std::mem::take(carry);
    admit(shared, carried, &mut batch, &mut bytes, carry).await?;
    if batch.is_empty() {
        let first = shared
            .source
            .fetch(shared.source.max_fetch().min(batch_size), LONG_POLL)
            .await?;
        admit(shared, first, &mut batch, &mut bytes, carry).await?;
        if batch.is_empty() {
            return Ok(batch);
        }
    }
    let window = Duration::from_secs(u64::from(shared.mapping.batching_window_secs));
    let deadline = Instant::now() + window;
    while batch.len() < batch_size && carry.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let wanted = shared.source.max_fetch().min(batch_size - batch.len());
        let more = shared.source.fetch(wanted, left).await?;
        admit(shared, more, &mut batch, &mut bytes, carry).await?;
    }
    Ok(batch)
}

/// `{"Records":[…]}` from records serialized once.
fn event_payload(batch: &[SourceRecord]) -> Bytes {
    let size: usize = batch.iter().map(|r| r.json.len() + 1).sum();
    let mut payload = Vec::with_capacity(size + 16);
    payload.extend_from_slice(b"{\"Records\":[");
    for (i, record) in batch.iter().enumerate() {
        if i > 0 {
            payload.push(b',');
        }
        payload.extend_from_slice(&record.json);
    }
    payload.extend_from_slice(b"]}");
    payload.into()
}

/// Invokes the function with one batch and settles what succeeded.
async fn process(shared: &Shared, batch: Vec<SourceRecord>) -> Outcome {
    let lease_ends = Instant::now() + shared.source.lease();
    let payload = event_payload(&batch);
    let base = shared.lambda.endpoint.get().cloned().unwrap_or_default();
    let ctx = RequestContext::internal(&shared.mapping.account, &shared.mapping.region, &base);
    let mut backoff = FIRST_BACKOFF;
    let output = loop {
        let request = InvokeRequest {
            function: shared.mapping.function_arn.clone(),
            qualifier: None,
            payload: payload.clone(),
            mode: InvokeMode::RequestResponse,
            want_log: false,
            client_context: None,
            request_id: None,
        };
        match shared.lambda.invoke(&ctx, request).await {
            Ok(output) => break output,
            Err(err) if err.status == 429 => {
                // Throttled: retry while the records are still ours.
                if Instant::now() + backoff >= lease_ends || !pause(shared, backoff).await {
                    return Outcome::Throttled;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(err) => {
                tracing::info!(%err, mapping = shared.mapping.uuid, "invoking the function failed");
                return Outcome::Failed;
            }
        }
    };
    if output.function_error.is_some() {
        return Outcome::Failed;
    }
    let done = if shared.mapping.report_batch_item_failures {
        let ids: HashSet<&str> = batch.iter().map(|r| r.id.as_str()).collect();
        match failed_items(&output.payload, &ids) {
            Ok(failed) => succeeded(batch, &failed),
            Err(why) => {
                tracing::info!(
                    mapping = shared.mapping.uuid,
                    reason = why.0,
                    "malformed partial batch response"
                );
                return Outcome::Failed;
            }
        }
    } else {
        batch
    };
    if let Err(err) = shared.source.complete(done).await {
        tracing::warn!(%err, mapping = shared.mapping.uuid, "settling a batch failed");
    }
    Outcome::Settled
}

/// The records to settle after a partial failure. Within a group, nothing after a failed
/// record is settled either, so the group's order survives the retry.
fn succeeded(batch: Vec<SourceRecord>, failed: &HashSet<String>) -> Vec<SourceRecord> {
    let mut stopped_groups: HashSet<String> = HashSet::new();
    let mut done = Vec::with_capacity(batch.len());
    for record in batch {
        let is_failed = failed.contains(&record.id);
        match &record.group {
            Some(group) if is_failed || stopped_groups.contains(group) => {
                stopped_groups.insert(group.clone());
            }
            _ if is_failed => {}
            _ => done.push(record),
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, group: Option<&str>) -> SourceRecord {
        SourceRecord {
            id: id.to_owned(),
            group: group.map(str::to_owned),
            json: format!("{{\"id\":\"{id}\"}}").into_bytes(),
            token: String::new(),
        }
    }

    #[test]
    fn payload_wraps_records() {
        let payload = event_payload(&[record("a", None), record("b", None)]);
        assert_eq!(&payload[..], br#"{"Records":[{"id":"a"},{"id":"b"}]}"#);
    }

    #[test]
    fn a_failed_record_holds_back_the_rest_of_its_group() {
        let batch = vec![
            record("1", Some("g")),
            record("2", Some("h")),
            record("3", Some("g")),
            record("4", Some("h")),
            record("5", Some("g")),
        ];
        let failed: HashSet<String> = ["3".to_owned()].into();
        let done: Vec<String> = succeeded(batch, &failed)
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(done, ["1", "2", "4"]);
    }

    #[test]
    fn standard_records_fail_alone() {
        let batch = vec![record("1", None), record("2", None), record("3", None)];
        let failed: HashSet<String> = ["2".to_owned()].into();
        let done: Vec<String> = succeeded(batch, &failed)
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(done, ["1", "3"]);
    }
}
