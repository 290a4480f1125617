//! The SNS benchmark: Publish → SQS fan-out on one fresh nimbus, with SQS SendMessage on the
//! same server, in the same run, as the reference.
//!
//! Paced runs publish on a fixed schedule (message j is due at start + j/rate, and its
//! latency counts from when it was due, so a stalled server cannot hide its backlog) while one
//! receiver per queue drains deliveries and reads the publish time carried in each body.
//! Closed-loop runs publish as fast as 32 connections allow and count how fast deliveries
//! arrive.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};
use serde_json::Value;
use tokio::task::JoinSet;

use crate::http_client::{Connection, Endpoint};
use crate::report::{Row, Target, render_table};
use crate::server_process::ServerProcess;
use crate::sns::{create_topic_body, publish_body, sent_at_nanos, subscribe_body, xml_text};
use crate::sqs;
use crate::stats::{LatencySamples, millis};

const WORKERS: usize = 32;
const DRAIN_GRACE: Duration = Duration::from_secs(15);

/// A topic and the queues subscribed to it.
struct Fanout {
    topic_arn: String,
    queue_urls: Vec<String>,
}

/// What one run measured.
struct RunResult {
    publish: LatencySamples,
    end_to_end: LatencySamples,
    published: u64,
    delivered: u64,
    elapsed: Duration,
    delivery_elapsed: Duration,
}

#[derive(Clone)]
enum Operation {
    Publish(String),
    Send(String),
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

async fn setup(endpoint: &Endpoint, name: &str, subscriptions: usize, raw: bool) -> Result<Fanout> {
    let mut c = Connection::open(endpoint).await?;
    let reply = c
        .sns(create_topic_body(name))
        .await?
        .into_success("CreateTopic")?;
    let xml = String::from_utf8_lossy(&reply);
    let topic_arn = xml_text(&xml, "TopicArn")
        .ok_or_else(|| anyhow!("no TopicArn in {xml}"))?
        .to_string();
    let mut queue_urls = Vec::new();
    for i in 0..subscriptions {
        let queue = format!("{name}-q{i}");
        let reply = c
            .sqs("CreateQueue", sqs::create_queue_body(&queue))
            .await?
            .into_success("CreateQueue")?;
        queue_urls.push(sqs::parse_queue_url(&reply)?);
        let queue_arn = format!("arn:aws:sqs:us-east-1:000000000000:{queue}");
        c.sns(subscribe_body(&topic_arn, &queue_arn, raw))
            .await?
            .into_success("Subscribe")?;
    }
    Ok(Fanout {
        topic_arn,
        queue_urls,
    })
}

async fn issue(c: &mut Connection, operation: &Operation) -> Result<()> {
    let body = now_nanos().to_string();
    match operation {
        Operation::Publish(topic) => c
            .sns(publish_body(topic, &body))
            .await?
            .into_success("Publish")?,
        Operation::Send(url) => c
            .sqs("SendMessage", sqs::send_message_body(url, &body))
            .await?
            .into_success("SendMessage")?,
    };
    Ok(())
}

/// Publishes `rate` per second for `duration` on a fixed schedule; returns the latencies
/// (from each message's due time) and how many were accepted.
async fn paced(
    endpoint: &Endpoint,
    operation: &Operation,
    rate: f64,
    duration: Duration,
) -> Result<(Vec<Duration>, u64)> {
    let total = (rate * duration.as_secs_f64()) as u64;
    let start = Instant::now() + Duration::from_millis(50);
    let mut tasks = JoinSet::new();
    for worker in 0..WORKERS as u64 {
        let mut c = Connection::open(endpoint).await?;
        let operation = operation.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut j = worker;
            while j < total {
                let due = start + Duration::from_secs_f64(j as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
                if issue(&mut c, &operation).await.is_ok() {
                    latencies.push(due.elapsed());
                }
                j += WORKERS as u64;
            }
            latencies
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done?);
    }
    let accepted = all.len() as u64;
    Ok((all, accepted))
}

/// Publishes as fast as the workers can for `duration`; returns the count and elapsed time.
async fn closed_loop(
    endpoint: &Endpoint,
    operation: &Operation,
    duration: Duration,
) -> Result<(u64, Duration)> {
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..WORKERS {
        let mut c = Connection::open(endpoint).await?;
        let operation = operation.clone();
        tasks.spawn(async move {
            let mut count = 0u64;
            while start.elapsed() < duration {
                if issue(&mut c, &operation).await.is_ok() {
                    count += 1;
                }
            }
            count
        });
    }
    let mut total = 0;
    while let Some(done) = tasks.join_next().await {
        total += done?;
    }
    Ok((total, start.elapsed()))
}

/// Receives and deletes from every queue until `expected` (set once publishing ends) arrived
/// per queue or the deadline passed; returns the end-to-end latencies, the delivery count and
/// when the last delivery arrived (from `start`).
async fn drain(
    endpoint: &Endpoint,
    urls: &[String],
    expected: Arc<AtomicU64>,
    deadline: Arc<AtomicU64>,
    start: Instant,
) -> Result<(Vec<Duration>, u64, Duration)> {
    let mut tasks = JoinSet::new();
    for url in urls {
        let mut c = Connection::open(endpoint).await?;
        let (url, expected, deadline) = (url.clone(), expected.clone(), deadline.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut last = Duration::ZERO;
            loop {
                let got = latencies.len() as u64;
                let past_deadline =
                    start.elapsed().as_millis() as u64 > deadline.load(Ordering::Relaxed);
                if got >= expected.load(Ordering::Relaxed) || past_deadline {
                    break;
                }
                let Ok(reply) = c
                    .sqs("ReceiveMessage", sqs::receive_message_body(&url, 10, 1))
                    .await
                else {
                    break;
                };
                let body: Value = serde_json::from_slice(&reply.body).unwrap_or_default();
                let Some(messages) = body.get("Messages").and_then(Value::as_array) else {
                    continue;
                };
                let received_at = now_nanos();
                let mut handles = Vec::new();
                for m in messages {
                    if let Some(sent) = m["Body"].as_str().and_then(sent_at_nanos) {
                        let nanos = received_at.saturating_sub(sent);
                        latencies.push(Duration::from_nanos(
                            u64::try_from(nanos).unwrap_or(u64::MAX),
                        ));
                    }
                    handles.extend(m["ReceiptHandle"].as_str().map(str::to_string));
                }
                last = start.elapsed();
                if !handles.is_empty() {
                    let _ = c
                        .sqs(
                            "DeleteMessageBatch",
                            sqs::delete_message_batch_body(&url, &handles),
                        )
                        .await;
                }
            }
            (latencies, last)
        });
    }
    let (mut all, mut last) = (Vec::new(), Duration::ZERO);
    while let Some(done) = tasks.join_next().await {
        let (latencies, finished) = done?;
        all.extend(latencies);
        last = last.max(finished);
    }
    let delivered = all.len() as u64;
    Ok((all, delivered, last))
}

/// One fan-out run: paced at `rate` when given, else closed loop.
async fn fan_out(
    endpoint: &Endpoint,
    name: &str,
    subscriptions: usize,
    raw: bool,
    rate: Option<f64>,
    duration: Duration,
) -> Result<RunResult> {
    let fanout = setup(endpoint, name, subscriptions, raw).await?;
    let operation = Operation::Publish(fanout.topic_arn.clone());
    let expected = Arc::new(AtomicU64::new(u64::MAX));
    let deadline = Arc::new(AtomicU64::new(u64::MAX));
    let start = Instant::now();
    let receivers = {
        let (endpoint, urls) = (endpoint.clone(), fanout.queue_urls.clone());
        let (expected, deadline) = (expected.clone(), deadline.clone());
        tokio::spawn(async move { drain(&endpoint, &urls, expected, deadline, start).await })
    };
    let (latencies, published, elapsed) = match rate {
        Some(rate) => {
            let (latencies, accepted) = paced(endpoint, &operation, rate, duration).await?;
            (latencies, accepted, start.elapsed())
        }
        None => {
            let (count, elapsed) = closed_loop(endpoint, &operation, duration).await?;
            (Vec::new(), count, elapsed)
        }
    };
    expected.store(published, Ordering::Relaxed);
    deadline.store(
        (start.elapsed() + DRAIN_GRACE).as_millis() as u64,
        Ordering::Relaxed,
    );
    let (end_to_end, delivered, delivery_elapsed) = receivers.await??;
    Ok(RunResult {
        publish: LatencySamples::from_durations(&latencies),
        end_to_end: LatencySamples::from_durations(&end_to_end),
        published,
        delivered,
        elapsed,
        delivery_elapsed,
    })
}

/// Signatures per second of one core with a 2048-bit RSA key (the size nimbus generates) over
/// an SNS string to sign: the ceiling for signed envelopes.
fn signing_rate(duration: Duration) -> Result<f64> {
    use rsa::pkcs1v15::SigningKey;
    use rsa::signature::Signer;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)?;
    let signer = SigningKey::<sha1::Sha1>::new(key);
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < duration {
        let text = format!(
            "Message\n{count}\nMessageId\n{count}\nTimestamp\n2026-01-01T00:00:00.000Z\nTopicArn\narn:aws:sns:us-east-1:000000000000:t\nType\nNotification\n"
        );
        let _ = signer.sign(text.as_bytes());
        count += 1;
    }
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

fn ms(samples: &LatencySamples, p: f64) -> Option<f64> {
    samples.percentile(p).map(millis)
}

/// Runs every figure and returns the Markdown document.
pub async fn run(binary: PathBuf, quick: bool) -> Result<String> {
    let duration = Duration::from_secs(if quick { 2 } else { 10 });
    let data = std::env::temp_dir().join(format!("nimbus-bench-sns-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    let server = ServerProcess::start(&binary, &data, &data.join("server.log")).await?;
    let endpoint = server.endpoint.clone();

    let mut c = Connection::open(&endpoint).await?;
    let reply = c
        .sqs("CreateQueue", sqs::create_queue_body("reference"))
        .await?
        .into_success("CreateQueue")?;
    let reference_url = sqs::parse_queue_url(&reply)?;
    let (send_latencies, _) = paced(&endpoint, &Operation::Send(reference_url), 1000.0, duration)
        .await
        .context("SQS reference")?;
    let send = LatencySamples::from_durations(&send_latencies);

    let five = fan_out(&endpoint, "five", 5, true, Some(1000.0), duration)
        .await
        .context("5 subscriptions at 1,000/s")?;
    let one_slow = fan_out(&endpoint, "one", 1, true, Some(100.0), duration)
        .await
        .context("1 subscription at 100/s")?;
    let fifty = fan_out(&endpoint, "fifty", 50, true, Some(100.0), duration)
        .await
        .context("50 subscriptions at 100/s")?;
    let max_raw = fan_out(&endpoint, "max", 5, true, None, duration)
        .await
        .context("highest rate, raw")?;
    let max_signed = fan_out(&endpoint, "signed", 5, false, None, duration)
        .await
        .context("highest rate, signed")?;
    server.stop().await?;
    let _ = std::fs::remove_dir_all(&data);
    let signatures_per_second =
        tokio::task::spawn_blocking(move || signing_rate(duration)).await??;

    let sustained = |r: &RunResult, subs: f64| {
        let publish_rate = r.published as f64 / r.elapsed.as_secs_f64();
        let delivery_rate = r.delivered as f64 / r.delivery_elapsed.as_secs_f64().max(1e-9) / subs;
        publish_rate.min(delivery_rate)
    };
    let lost = |r: &RunResult, subs: u64| r.published * subs - r.delivered.min(r.published * subs);
    let rows = vec![
        Row::new(
            "Publish p50, 5 raw subscriptions at 1,000/s",
            ms(&five.publish, 50.0),
            "ms",
        )
        .compared_to("SQS SendMessage p50 at 1,000/s", ms(&send, 50.0)),
        Row::new(
            "Publish p99, 5 raw subscriptions at 1,000/s",
            ms(&five.publish, 99.0),
            "ms",
        )
        .compared_to("SQS SendMessage p99 at 1,000/s", ms(&send, 99.0))
        .target(Target::AtMost(5.0), "≤ 5 ms"),
        Row::new(
            "Publish → receive p50, 5 subscriptions at 1,000/s",
            ms(&five.end_to_end, 50.0),
            "ms",
        ),
        Row::new(
            "Publish → receive p99, 5 subscriptions at 1,000/s",
            ms(&five.end_to_end, 99.0),
            "ms",
        )
        .target(Target::AtMost(10.0), "≤ 10 ms")
        .note(format!(
            "{} of {} deliveries missing",
            lost(&five, 5),
            five.published * 5
        )),
        Row::new(
            "Publish p99, 1 subscription at 100/s",
            ms(&one_slow.publish, 99.0),
            "ms",
        ),
        Row::new(
            "Publish → receive p99, 1 subscription at 100/s",
            ms(&one_slow.end_to_end, 99.0),
            "ms",
        ),
        Row::new(
            "Publish p99, 50 subscriptions at 100/s",
            ms(&fifty.publish, 99.0),
            "ms",
        )
        .compared_to("1 subscription", ms(&one_slow.publish, 99.0)),
        Row::new(
            "Publish → receive p99, 50 subscriptions at 100/s",
            ms(&fifty.end_to_end, 99.0),
            "ms",
        )
        .note(format!(
            "{} of {} deliveries missing",
            lost(&fifty, 50),
            fifty.published * 50
        )),
        Row::new(
            "Highest sustained publish rate, 5 raw subscriptions",
            Some(sustained(&max_raw, 5.0)),
            "msg/s",
        )
        .target(Target::AtLeast(3000.0), "≥ 3,000/s"),
        Row::new(
            "Highest sustained publish rate, 5 signed envelopes",
            Some(sustained(&max_signed, 5.0)),
            "msg/s",
        )
        .compared_to(
            "RSA-2048 signatures/s on one core",
            Some(signatures_per_second),
        )
        .target(Target::RatioAtLeast(0.8), "≥ 0.8× the signing rate"),
    ];
    let header = format!(
        "Date: {} UTC; nimbus binary: {}; {} s per figure; paced runs publish on a fixed schedule from {WORKERS} connections\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        crate::suite::relative_to_workspace(&binary),
        duration.as_secs()
    );
    let ratio_50 = match (ms(&fifty.publish, 99.0), ms(&one_slow.publish, 99.0)) {
        (Some(a), Some(b)) if b > 0.0 => format!(
            "50-subscription publish p99 is {:.2}× the 1-subscription p99 (target ≤ 1.5×).\n",
            a / b
        ),
        _ => String::new(),
    };
    Ok(format!(
        "# SNS benchmark\n\n{header}\n{}\n{ratio_50}",
        render_table(&rows)
    ))
}
