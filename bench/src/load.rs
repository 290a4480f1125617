//! Closed-loop load: N workers, each with its own keep-alive connection, send the next request
//! as soon as the previous one is answered, for a fixed duration.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use bytes::Bytes;
use tokio::sync::{Barrier, Notify};

use crate::http_client::{Connection, Endpoint};
use crate::sqs;
use crate::stats::{LatencySamples, duration_nanos, per_second};

/// What one worker iteration does.
#[derive(Debug, Clone)]
pub enum Workload {
    /// `GET /_nimbus/ping`, the reference.
    Ping,
    /// One SendMessage with a prepared body.
    SendMessage { body: Bytes },
    /// One SendMessageBatch of `messages` entries with a prepared body.
    SendMessageBatch { body: Bytes, messages: u64 },
    /// ReceiveMessage(10) without waiting, then DeleteMessageBatch of what came back.
    ReceiveAndDelete { queue_url: String },
}

/// Counts deleted messages so that a feeder can send the same number back.
#[derive(Default)]
pub struct Refill {
    consumed: AtomicU64,
    refilled: AtomicU64,
    wake: Notify,
}

impl Refill {
    /// Claims up to one batch of messages owed to the queue; zero when nothing is owed.
    fn claim_batch(&self) -> u64 {
        loop {
            let refilled = self.refilled.load(Ordering::Relaxed);
            let owed = self
                .consumed
                .load(Ordering::Relaxed)
                .saturating_sub(refilled);
            if owed == 0 {
                return 0;
            }
            let count = owed.min(sqs::BATCH_SIZE as u64);
            if self
                .refilled
                .compare_exchange(
                    refilled,
                    refilled + count,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                return count;
            }
        }
    }
}

/// The outcome of one closed-loop run.
#[derive(Debug, Clone)]
pub struct LoadResult {
    pub concurrency: usize,
    pub elapsed: Duration,
    /// Successful iterations (one iteration of ReceiveAndDelete is two requests).
    pub iterations: u64,
    /// Messages sent or deleted.
    pub messages: u64,
    pub errors: u64,
    /// Receives that came back empty.
    pub empty_receives: u64,
    pub latencies: LatencySamples,
    /// First error seen, to explain a failed run.
    pub first_error: Option<String>,
}

impl LoadResult {
    pub fn iterations_per_second(&self) -> f64 {
        per_second(self.iterations, self.elapsed)
    }

    pub fn messages_per_second(&self) -> f64 {
        per_second(self.messages, self.elapsed)
    }
}

#[derive(Default)]
struct WorkerTally {
    iterations: u64,
    messages: u64,
    errors: u64,
    empty_receives: u64,
    latencies_nanos: Vec<u64>,
    first_error: Option<String>,
}

/// Runs `workload` on `concurrency` connections for `duration` and gathers every latency.
pub async fn run_closed_loop(
    endpoint: &Endpoint,
    workload: Workload,
    concurrency: usize,
    duration: Duration,
    refill: Option<Arc<Refill>>,
) -> Result<LoadResult> {
    let mut connections = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        connections.push(Connection::open(endpoint).await?);
    }
    let workload = Arc::new(workload);
    let start_line = Arc::new(Barrier::new(concurrency + 1));
    let mut workers = Vec::with_capacity(concurrency);
    for connection in connections {
        let workload = Arc::clone(&workload);
        let start_line = Arc::clone(&start_line);
        let endpoint = endpoint.clone();
        let refill = refill.clone();
        workers.push(tokio::spawn(async move {
            start_line.wait().await;
            let deadline = Instant::now() + duration;
            run_worker(
                connection,
                &endpoint,
                &workload,
                deadline,
                refill.as_deref(),
            )
            .await
        }));
    }
    start_line.wait().await;
    let started = Instant::now();
    let mut tallies = Vec::with_capacity(concurrency);
    for worker in workers {
        tallies.push(worker.await?);
    }
    let elapsed = started.elapsed();
    let mut result = LoadResult {
        concurrency,
        elapsed,
        iterations: 0,
        messages: 0,
        errors: 0,
        empty_receives: 0,
        latencies: LatencySamples::default(),
        first_error: None,
    };
    let mut all_latencies = Vec::new();
    for tally in tallies {
        result.iterations += tally.iterations;
        result.messages += tally.messages;
        result.errors += tally.errors;
        result.empty_receives += tally.empty_receives;
        result.first_error = result.first_error.or(tally.first_error);
        all_latencies.extend(tally.latencies_nanos);
    }
    result.latencies = LatencySamples::from_nanos(all_latencies);
    Ok(result)
}

async fn run_worker(
    mut connection: Connection,
    endpoint: &Endpoint,
    workload: &Workload,
    deadline: Instant,
    refill: Option<&Refill>,
) -> WorkerTally {
    let mut tally = WorkerTally {
        latencies_nanos: Vec::with_capacity(4096),
        ..WorkerTally::default()
    };
    while Instant::now() < deadline {
        let began = Instant::now();
        match run_iteration(&mut connection, workload).await {
            Ok(messages) => {
                tally.latencies_nanos.push(duration_nanos(&began.elapsed()));
                tally.iterations += 1;
                tally.messages += messages;
                if messages == 0 && matches!(workload, Workload::ReceiveAndDelete { .. }) {
                    tally.empty_receives += 1;
                }
                if let Some(refill) = refill.filter(|_| messages > 0) {
                    refill.consumed.fetch_add(messages, Ordering::Relaxed);
                    refill.wake.notify_waiters();
                }
            }
            Err(error) => {
                tally.errors += 1;
                tally
                    .first_error
                    .get_or_insert_with(|| format!("{error:#}"));
                // The connection may be broken; a new one keeps the worker going.
                match Connection::open(endpoint).await {
                    Ok(fresh) => connection = fresh,
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        }
    }
    tally
}

/// One iteration; returns the number of messages it moved.
async fn run_iteration(connection: &mut Connection, workload: &Workload) -> Result<u64> {
    match workload {
        Workload::Ping => {
            connection
                .get("/_nimbus/ping")
                .await?
                .into_success("ping")?;
            Ok(0)
        }
        Workload::SendMessage { body } => {
            connection
                .sqs("SendMessage", body.clone())
                .await?
                .into_success("SendMessage")?;
            Ok(1)
        }
        Workload::SendMessageBatch { body, messages } => {
            let answer = connection
                .sqs("SendMessageBatch", body.clone())
                .await?
                .into_success("SendMessageBatch")?;
            let failed = sqs::count_failed_entries(&answer)?;
            if failed > 0 {
                bail!("SendMessageBatch reported {failed} failed entries");
            }
            Ok(*messages)
        }
        Workload::ReceiveAndDelete { queue_url } => {
            let answer = connection
                .sqs(
                    "ReceiveMessage",
                    sqs::receive_message_body(queue_url, sqs::BATCH_SIZE, 0),
                )
                .await?
                .into_success("ReceiveMessage")?;
            let handles = sqs::parse_receipt_handles(&answer)?;
            if handles.is_empty() {
                return Ok(0);
            }
            let answer = connection
                .sqs(
                    "DeleteMessageBatch",
                    sqs::delete_message_batch_body(queue_url, &handles),
                )
                .await?
                .into_success("DeleteMessageBatch")?;
            let failed = sqs::count_failed_entries(&answer)?;
            if failed > 0 {
                bail!("DeleteMessageBatch reported {failed} failed entries");
            }
            Ok(handles.len() as u64)
        }
    }
}

/// Sends `total` messages to `queue_url` with SendMessageBatch on `concurrency` connections.
pub async fn fill_queue(
    endpoint: &Endpoint,
    queue_url: &str,
    total: u64,
    concurrency: usize,
) -> Result<Duration> {
    let started = Instant::now();
    let claimed = Arc::new(AtomicU64::new(0));
    let message = sqs::message_body();
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let mut connection = Connection::open(endpoint).await?;
        let claimed = Arc::clone(&claimed);
        let queue_url = queue_url.to_string();
        let message = message.clone();
        workers.push(tokio::spawn(async move {
            let full_batch = sqs::send_message_batch_body(&queue_url, &message, sqs::BATCH_SIZE);
            loop {
                let first = claimed.fetch_add(sqs::BATCH_SIZE as u64, Ordering::Relaxed);
                if first >= total {
                    return Ok::<(), anyhow::Error>(());
                }
                let count = (total - first).min(sqs::BATCH_SIZE as u64) as usize;
                let body = if count == sqs::BATCH_SIZE {
                    full_batch.clone()
                } else {
                    sqs::send_message_batch_body(&queue_url, &message, count)
                };
                send_batch_with_retries(&mut connection, body).await?;
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(started.elapsed())
}

async fn send_batch_with_retries(connection: &mut Connection, body: Bytes) -> Result<()> {
    const ATTEMPTS: usize = 5;
    let mut last_error = None;
    for _ in 0..ATTEMPTS {
        match connection.sqs("SendMessageBatch", body.clone()).await {
            Ok(reply) if reply.is_success() && sqs::count_failed_entries(&reply.body)? == 0 => {
                return Ok(());
            }
            Ok(reply) => {
                last_error = Some(format!(
                    "status {}: {}",
                    reply.status,
                    String::from_utf8_lossy(&reply.body)
                ))
            }
            Err(error) => last_error = Some(format!("{error:#}")),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!(
        "SendMessageBatch failed {ATTEMPTS} times while filling: {}",
        last_error.unwrap_or_default()
    )
}

/// Sends back as many messages as the consumers deleted, so the queue keeps its depth.
/// Several feeders may share one [`Refill`]. Stops when `stop` is set; returns the number of
/// messages this feeder sent.
pub async fn run_refill_feeder(
    endpoint: Endpoint,
    queue_url: String,
    refill: Arc<Refill>,
    stop: Arc<AtomicBool>,
) -> Result<u64> {
    let mut connection = Connection::open(&endpoint).await?;
    let message = sqs::message_body();
    let full_batch = sqs::send_message_batch_body(&queue_url, &message, sqs::BATCH_SIZE);
    let mut sent = 0_u64;
    while !stop.load(Ordering::Relaxed) {
        let count = refill.claim_batch();
        if count == 0 {
            let woken = refill.wake.notified();
            let _ = tokio::time::timeout(Duration::from_millis(5), woken).await;
            continue;
        }
        let body = if count == sqs::BATCH_SIZE as u64 {
            full_batch.clone()
        } else {
            sqs::send_message_batch_body(&queue_url, &message, count as usize)
        };
        send_batch_with_retries(&mut connection, body).await?;
        sent += count;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refill_claims_what_was_consumed_in_batches() {
        let refill = Refill::default();
        assert_eq!(refill.claim_batch(), 0);
        refill.consumed.fetch_add(23, Ordering::Relaxed);
        assert_eq!(refill.claim_batch(), 10);
        assert_eq!(refill.claim_batch(), 10);
        assert_eq!(refill.claim_batch(), 3);
        assert_eq!(refill.claim_batch(), 0);
    }
}
