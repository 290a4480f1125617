//! The poller of a table stream mapping: reads the shard in order after the durable
//! checkpoint, invokes the function with each batch and retries a failed batch, blocking the
//! shard so order holds, until it succeeds, is bisected down to the failing records, runs
//! out of retries or grows older than the record age limit. Records given up on are
//! described in an on-failure record sent to the mapping's destination; then the checkpoint
//! moves past them.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nimbus_core::effects::{StreamChange, StreamReader};
use nimbus_core::{RequestContext, ServiceError};
use serde_json::json;
use tokio::sync::watch;

use super::batch_response::failed_items;
use super::filter::Filters;
use super::store;
use super::{MappingRecord, StreamSettings};
use crate::Lambda;
use crate::destinations::iso_ms;
use crate::invoke::{InvokeMode, InvokeRequest};

/// How often an idle shard is read again.
const IDLE_POLL: Duration = Duration::from_millis(250);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A run of records retried together, with the failed attempts it has had.
struct Pending {
    records: Vec<StreamChange>,
    attempts: i32,
}

/// How one invocation ended.
enum Attempt {
    /// Everything succeeded.
    Done,
    /// The function reported these records as failed (a partial batch response): the
    /// records before the lowest of them succeeded.
    Partial(usize),
    /// The whole batch failed, with the function's error if it ran.
    Failed(Option<String>),
}

struct Poller {
    lambda: Arc<Lambda>,
    reader: Arc<dyn StreamReader>,
    mapping: MappingRecord,
    settings: StreamSettings,
    filters: Filters,
    shard_id: String,
    stop: watch::Receiver<bool>,
}

/// Starts the poller of a stream mapping; it ends when `stop` turns true.
pub(crate) fn start(
    lambda: Arc<Lambda>,
    reader: Arc<dyn StreamReader>,
    mapping: MappingRecord,
    shard_id: String,
    stop: watch::Receiver<bool>,
) {
    let Some(settings) = mapping.stream.clone() else {
        return;
    };
    let filters = Filters::compile(&mapping.filters).unwrap_or_default();
    let poller = Poller {
        lambda,
        reader,
        mapping,
        settings,
        filters,
        shard_id,
        stop,
    };
    tokio::spawn(poller.run());
}

impl Poller {
    /// Sleeps unless stopped first; returns whether to go on.
    async fn pause(&self, time: Duration) -> bool {
        let mut stop = self.stop.clone();
        tokio::select! {
            () = tokio::time::sleep(time) => !*self.stop.borrow(),
            _ = stop.wait_for(|s| *s) => false,
        }
    }

    async fn run(mut self) {
        // The checkpoint stored with the mapping is the truth: a restart resumes after it.
        if let Ok(Some(stored)) = self
            .lambda
            .db
            .read(|tx| store::load(tx, &self.mapping.uuid))
            && let Some(stream) = stored.stream
        {
            self.settings.checkpoint = stream.checkpoint;
        }
        let mut backoff = FIRST_BACKOFF;
        loop {
            if *self.stop.borrow() {
                return;
            }
            let batch = match self.gather().await {
                Ok(batch) => batch,
                Err(err) => {
                    tracing::warn!(%err, mapping = self.mapping.uuid, "reading the stream failed");
                    if !self.pause(backoff).await {
                        return;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            backoff = FIRST_BACKOFF;
            let Some(last) = batch.last().map(|r| r.sequence_number.clone()) else {
                if !self.pause(IDLE_POLL).await {
                    return;
                }
                continue;
            };
            let admitted: Vec<StreamChange> = batch
                .into_iter()
                .filter(|r| self.filters.is_empty() || self.filters.admits(&r.record))
                .collect();
            if !admitted.is_empty() && !self.deliver_lanes(admitted).await {
                return;
            }
            self.checkpoint(last).await;
        }
    }

    /// Reads up to a batch after the checkpoint, waiting out the batching window for more.
    async fn gather(&self) -> Result<Vec<StreamChange>, ServiceError> {
        let size = self.mapping.batch_size as usize;
        let read = || {
            self.reader.read_after(
                &self.mapping.account,
                &self.mapping.region,
                &self.mapping.source_arn,
                self.settings.checkpoint.as_deref(),
                size,
            )
        };
        let first = read().await?;
        let window = Duration::from_secs(u64::from(self.mapping.batching_window_secs));
        if first.is_empty() || first.len() >= size || window.is_zero() {
            return Ok(first);
        }
        if !self.pause(window).await {
            return Ok(Vec::new());
        }
        read().await
    }

    async fn checkpoint(&mut self, sequence_number: String) {
        let uuid = self.mapping.uuid.clone();
        let at = sequence_number.clone();
        if let Err(err) = self
            .lambda
            .db
            .write(move |tx| {
                store::save_checkpoint(tx, &uuid, &at).map_err(nimbus_store::TxError::Db)
            })
            .await
        {
            tracing::warn!(%err, mapping = self.mapping.uuid, "saving the stream checkpoint failed");
        }
        self.settings.checkpoint = Some(sequence_number);
    }

    /// Splits a batch into `ParallelizationFactor` lanes by item key, so records of one key
    /// stay in order within their lane, and processes the lanes concurrently. The checkpoint
    /// moves only once every lane is done.
    async fn deliver_lanes(&self, batch: Vec<StreamChange>) -> bool {
        let count = self.settings.parallelization_factor.max(1) as usize;
        if count == 1 {
            return self.deliver(batch).await;
        }
        let mut lanes: Vec<Vec<StreamChange>> = (0..count).map(|_| Vec::new()).collect();
        for record in batch {
            lanes[lane_of(&record, count)].push(record);
        }
        let runs = lanes
            .into_iter()
            .filter(|lane| !lane.is_empty())
            .map(|lane| self.deliver(lane));
        futures_util::future::join_all(runs)
            .await
            .into_iter()
            .all(|done| done)
    }

    /// Processes one batch to its end: every record succeeds or is given up on. Returns
    /// false when stopped first (the checkpoint stays, so the batch is read again).
    async fn deliver(&self, batch: Vec<StreamChange>) -> bool {
        let mut queue = VecDeque::from([Pending {
            records: batch,
            attempts: 0,
        }]);
        let mut backoff = FIRST_BACKOFF;
        while let Some(mut pending) = queue.pop_front() {
            // A stopped poller (mapping changed or deleted) must not invoke again.
            if *self.stop.borrow() {
                return false;
            }
            if let Some(expired) = self.expired(&pending.records) {
                let rest = pending.records.split_off(expired);
                let old = std::mem::replace(&mut pending.records, rest);
                self.give_up(&old, "RecordAgeExceeded", pending.attempts, None)
                    .await;
                if pending.records.is_empty() {
                    continue;
                }
            }
            let outcome = self.invoke(&pending.records).await;
            let error = match outcome {
                Ok(Attempt::Done) => {
                    backoff = FIRST_BACKOFF;
                    continue;
                }
                Ok(Attempt::Partial(first_failed)) => {
                    // Checkpoint at the lowest failed record: it and all after it retry.
                    pending.records.drain(..first_failed);
                    None
                }
                Ok(Attempt::Failed(error)) => error,
                Err(err) => {
                    // Not invoked (throttled, function gone): retry without counting.
                    tracing::info!(%err, mapping = self.mapping.uuid, "invoking the function failed");
                    queue.push_front(pending);
                    if !self.pause(backoff).await {
                        return false;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            if self.settings.bisect_on_error && pending.records.len() > 1 {
                // Splitting does not count as a retry.
                let second = pending.records.split_off(pending.records.len() / 2);
                queue.push_front(Pending {
                    records: second,
                    attempts: pending.attempts,
                });
                queue.push_front(pending);
                continue;
            }
            pending.attempts += 1;
            let limit = self.settings.max_retry_attempts;
            if limit >= 0 && pending.attempts > limit {
                self.give_up(
                    &pending.records,
                    "RetryAttemptsExhausted",
                    pending.attempts,
                    Some(error),
                )
                .await;
                continue;
            }
            queue.push_front(pending);
            if !self.pause(backoff).await {
                return false;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        true
    }

    /// How many leading records are older than `MaximumRecordAgeInSeconds`, if any are.
    fn expired(&self, records: &[StreamChange]) -> Option<usize> {
        let age = self.settings.max_record_age_secs;
        if age < 0 {
            return None;
        }
        let oldest_kept = self.lambda.clock.now_ms() - i64::from(age) * 1000;
        let count = records
            .iter()
            .take_while(|r| r.created_ms < oldest_kept)
            .count();
        (count > 0).then_some(count)
    }

    async fn invoke(&self, records: &[StreamChange]) -> Result<Attempt, ServiceError> {
        let payload = json!({ "Records": records.iter().map(|r| &r.record).collect::<Vec<_>>() });
        let base = self.lambda.endpoint.get().cloned().unwrap_or_default();
        let ctx = RequestContext::internal(&self.mapping.account, &self.mapping.region, &base);
        let request = InvokeRequest {
            function: self.mapping.function_arn.clone(),
            qualifier: None,
            payload: Bytes::from(payload.to_string()),
            mode: InvokeMode::RequestResponse,
            want_log: false,
            client_context: None,
            request_id: None,
        };
        let output = self.lambda.invoke(&ctx, request).await?;
        if output.function_error.is_some() {
            return Ok(Attempt::Failed(output.function_error));
        }
        if !self.mapping.report_batch_item_failures {
            return Ok(Attempt::Done);
        }
        let ids: HashSet<&str> = records.iter().map(|r| r.sequence_number.as_str()).collect();
        Ok(match failed_items(&output.payload, &ids) {
            Ok(failed) if failed.is_empty() => Attempt::Done,
            Ok(failed) => Attempt::Partial(
                records
                    .iter()
                    .position(|r| failed.contains(&r.sequence_number))
                    .unwrap_or(0),
            ),
            Err(why) => {
                tracing::info!(
                    mapping = self.mapping.uuid,
                    reason = why.0,
                    "malformed partial batch response"
                );
                Attempt::Failed(None)
            }
        })
    }

    /// Sends the on-failure record for records given up on, when there is a destination.
    async fn give_up(
        &self,
        records: &[StreamChange],
        condition: &str,
        invoke_count: i32,
        error: Option<Option<String>>,
    ) {
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return;
        };
        tracing::info!(
            mapping = self.mapping.uuid,
            condition,
            records = records.len(),
            "giving up on stream records"
        );
        let Some(destination) = self.settings.on_failure.clone() else {
            return;
        };
        let now = self.lambda.clock.now_ms();
        let mut record = json!({
            "requestContext": {
                "requestId": nimbus_core::ids::uuid(),
                "functionArn": self.mapping.function_arn,
                "condition": condition,
                "approximateInvokeCount": invoke_count,
            },
            "version": "1.0",
            "timestamp": iso_ms(now),
            "DDBStreamBatchInfo": {
                "shardId": self.shard_id,
                "startSequenceNumber": first.sequence_number,
                "endSequenceNumber": last.sequence_number,
                "approximateArrivalOfFirstRecord": iso_ms(first.created_ms),
                "approximateArrivalOfLastRecord": iso_ms(last.created_ms),
                "batchSize": records.len(),
                "streamArn": self.mapping.source_arn,
            },
        });
        if let Some(function_error) = error {
            let mut context = json!({ "statusCode": 200, "executedVersion": "$LATEST" });
            if let Some(function_error) = function_error {
                context["functionError"] = json!(function_error);
            }
            record["responseContext"] = context;
        }
        let base = self.lambda.endpoint.get().cloned().unwrap_or_default();
        let ctx = RequestContext::internal(&self.mapping.account, &self.mapping.region, &base);
        if let Err(err) = self
            .lambda
            .deliver(&ctx, &destination, record.to_string(), BTreeMap::new())
            .await
        {
            tracing::warn!(%err, mapping = self.mapping.uuid, "sending the on-failure record failed");
        }
    }
}

/// The lane of a record: a hash of its item key, the same for every change of one item.
fn lane_of(record: &StreamChange, count: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    record.record["dynamodb"]["Keys"]
        .to_string()
        .hash(&mut hasher);
    usize::try_from(hasher.finish() % count as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(key: &str, seq: u32) -> StreamChange {
        StreamChange {
            sequence_number: seq.to_string(),
            created_ms: 0,
            record: json!({"dynamodb": {"Keys": {"pk": {"S": key}}}}),
        }
    }

    #[test]
    fn every_change_of_an_item_takes_the_same_lane() {
        for key in ["a", "b", "c", "d"] {
            let first = lane_of(&change(key, 1), 4);
            assert!(first < 4);
            assert_eq!(lane_of(&change(key, 2), 4), first);
        }
    }
}
