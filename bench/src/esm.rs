//! `nimbus-bench esm`: SQS → function through an event source mapping with batch size 10 and
//! a no-op handler (Python, and the Rust `provided` function of tests/rust-function):
//! messages processed per second while draining a filled queue, and send → handler-start
//! latency at a steady send rate. The reference is plain SQS ReceiveMessage + DeleteMessageBatch
//! throughput of clients on the same server, measured in the same run.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use base64::Engine as _;

use crate::function_code::{ZipEntry, rust_function_bootstrap, zip_of};
use crate::http_client::{Connection, Endpoint};
use crate::server_process::ServerProcess;
use crate::sqs;
use crate::stats::LatencySamples;

/// Client connections that fill queues and drain the reference queue.
const CLIENTS: usize = 8;
/// Latency senders, each sending one message per `SEND_EVERY`.
const SENDERS: usize = 2;
const SEND_EVERY: Duration = Duration::from_millis(4);

const PYTHON_NOOP: &str = r#"import os, time
_starts = os.open(os.environ["RECORD_STARTS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

def handler(event, context):
    now = time.time_ns() // 1000
    os.write(_starts, "".join(f"{now} {r['body']}\n" for r in event["Records"]).encode())
"#;

/// A handler under test: its runtime and zip entries (name, content, unix mode).
struct Handler {
    label: &'static str,
    runtime: &'static str,
    handler: Option<&'static str>,
    files: Vec<ZipEntry>,
}

struct Measured {
    label: &'static str,
    per_second: f64,
    drained: u64,
    latency: LatencySamples,
}

fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

fn handlers() -> Result<Vec<Handler>> {
    let mut list = vec![Handler {
        label: "Python",
        runtime: "python3.11",
        handler: Some("app.handler"),
        files: vec![("app.py", PYTHON_NOOP.as_bytes().to_vec(), 0o644)],
    }];
    if let Some((_, bootstrap)) = rust_function_bootstrap()? {
        list.push(Handler {
            label: "Rust (provided.al2023)",
            runtime: "provided.al2023",
            handler: None,
            files: vec![bootstrap],
        });
    }
    Ok(list)
}

async fn lambda_call(
    endpoint: &Endpoint,
    path: &str,
    body: serde_json::Value,
    what: &str,
) -> Result<()> {
    let mut connection = Connection::open(endpoint).await?;
    connection
        .post_json(path, "lambda", body.to_string().into())
        .await?
        .into_success(what)?;
    Ok(())
}

/// Sends `count` messages (a multiple of ten) with `CLIENTS` connections.
async fn fill(endpoint: &Endpoint, queue_url: &str, count: usize) -> Result<()> {
    let batches = count / sqs::BATCH_SIZE;
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let mine = batches / CLIENTS + usize::from(client < batches % CLIENTS);
        let mut connection = Connection::open(endpoint).await?;
        let body = sqs::send_message_batch_body(queue_url, &sqs::message_body(), sqs::BATCH_SIZE);
        tasks.push(tokio::spawn(async move {
            for _ in 0..mine {
                connection
                    .sqs("SendMessageBatch", body.clone())
                    .await?
                    .into_success("SendMessageBatch")?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// Messages per second that `CLIENTS` plain consumers receive and delete from a filled queue.
async fn reference(endpoint: &Endpoint, count: usize) -> Result<f64> {
    let mut connection = Connection::open(endpoint).await?;
    let queue_url = sqs::create_queue(&mut connection, "esm-reference").await?;
    fill(endpoint, &queue_url, count).await?;
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let mut connection = Connection::open(endpoint).await?;
        let (done, queue_url) = (Arc::clone(&done), queue_url.clone());
        tasks.push(tokio::spawn(async move {
            while done.load(Ordering::SeqCst) < count as u64 {
                let body = sqs::receive_message_body(&queue_url, sqs::BATCH_SIZE, 0);
                let reply = connection.sqs("ReceiveMessage", body).await?;
                let handles = sqs::parse_receipt_handles(&reply.into_success("ReceiveMessage")?)?;
                if handles.is_empty() {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
                let body = sqs::delete_message_batch_body(&queue_url, &handles);
                connection
                    .sqs("DeleteMessageBatch", body)
                    .await?
                    .into_success("DeleteMessageBatch")?;
                done.fetch_add(handles.len() as u64, Ordering::SeqCst);
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// Lines of the starts file: (start µs, body).
fn starts(path: &Path) -> Vec<(u128, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let (at, body) = line.split_once(' ')?;
            Some((at.parse().ok()?, body.to_owned()))
        })
        .collect()
}

async fn wait_for_starts(
    path: &Path,
    wanted: impl Fn(&[(u128, String)]) -> bool,
    limit: Duration,
) -> Result<()> {
    let deadline = Instant::now() + limit;
    while !wanted(&starts(path)) {
        if Instant::now() > deadline {
            bail!("the handler did not see every message within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

async fn measure(
    server: &ServerProcess,
    dir: &Path,
    handler: &Handler,
    count: usize,
    latency_for: Duration,
) -> Result<Measured> {
    let endpoint = &server.endpoint;
    let slug: String = handler
        .label
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase();
    let record_file = dir.join(format!("starts-{slug}.log"));
    let name = format!("noop-{slug}");
    let mut function = serde_json::json!({
        "FunctionName": name,
        "Runtime": handler.runtime,
        "Role": "arn:aws:iam::000000000000:role/bench",
        "Timeout": 30,
        "Environment": { "Variables": { "RECORD_STARTS": record_file.display().to_string() } },
        "Code": { "ZipFile": base64::engine::general_purpose::STANDARD.encode(zip_of(&handler.files)?) },
    });
    if let Some(entry) = handler.handler {
        function["Handler"] = entry.into();
    }
    lambda_call(
        endpoint,
        "/2015-03-31/functions",
        function,
        "CreateFunction",
    )
    .await?;
    let queue_name = format!("esm-{slug}");
    let mut connection = Connection::open(endpoint).await?;
    let queue_url = sqs::create_queue(&mut connection, &queue_name).await?;
    fill(endpoint, &queue_url, count).await?;

    let started = Instant::now();
    let mapping = serde_json::json!({
        "EventSourceArn": format!("arn:aws:sqs:us-east-1:000000000000:{queue_name}"),
        "FunctionName": name,
        "BatchSize": 10,
    });
    lambda_call(
        endpoint,
        "/2015-03-31/event-source-mappings",
        mapping,
        "CreateEventSourceMapping",
    )
    .await?;
    wait_for_starts(
        &record_file,
        |lines| lines.len() >= count,
        Duration::from_secs(300),
    )
    .await?;
    let per_second = count as f64 / started.elapsed().as_secs_f64();

    // Steady sends, each body carrying its send time.
    let mut senders = Vec::new();
    for _ in 0..SENDERS {
        let mut connection = Connection::open(endpoint).await?;
        let queue_url = queue_url.clone();
        senders.push(tokio::spawn(async move {
            let mut sent = 0_u64;
            let mut tick = tokio::time::interval(SEND_EVERY);
            let end = Instant::now() + latency_for;
            while Instant::now() < end {
                tick.tick().await;
                let body = sqs::send_message_body(&queue_url, &format!("t{}", now_us()));
                connection
                    .sqs("SendMessage", body)
                    .await?
                    .into_success("SendMessage")?;
                sent += 1;
            }
            anyhow::Ok(sent)
        }));
    }
    let mut sent = 0;
    for sender in senders {
        sent += sender.await??;
    }
    let timed =
        |lines: &[(u128, String)]| lines.iter().filter(|(_, b)| b.starts_with('t')).count() as u64;
    wait_for_starts(
        &record_file,
        |lines| timed(lines) >= sent,
        Duration::from_secs(60),
    )
    .await?;
    let nanos = starts(&record_file)
        .into_iter()
        .filter_map(|(at, body)| {
            let sent_at: u128 = body.strip_prefix('t')?.parse().ok()?;
            Some(u64::try_from(at.saturating_sub(sent_at) * 1000).unwrap_or(u64::MAX))
        })
        .collect();
    Ok(Measured {
        label: handler.label,
        per_second,
        drained: count as u64,
        latency: LatencySamples::from_nanos(nanos),
    })
}

fn ms(d: Option<Duration>) -> String {
    d.map_or_else(
        || "–".into(),
        |d| format!("{:.2}", d.as_secs_f64() * 1000.0),
    )
}

/// Runs the suite; returns the Markdown report.
pub async fn run(binary: &Path, quick: bool) -> Result<String> {
    let count = if quick { 5_000 } else { 30_000 };
    let latency_for = Duration::from_secs(if quick { 2 } else { 5 });
    let dir = std::env::temp_dir().join(format!("nimbus-bench-esm-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let server = ServerProcess::start(binary, &dir.join("data"), &dir.join("server.log"))
        .await
        .context("starting nimbus")?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    eprintln!("reference: SQS receive + delete of {count} messages…");
    let reference = reference(&server.endpoint, count).await?;
    let mut rows = vec![
        "| Handler | messages/s through the mapping | SQS receive+delete messages/s (reference) | ratio | send → handler start p50 ms | p99 ms | latency samples |".to_owned(),
        "|---|---|---|---|---|---|---|".to_owned(),
    ];
    for handler in handlers()? {
        eprintln!(
            "{}: draining {count} messages, then {latency_for:?} of steady sends…",
            handler.label
        );
        let measured = measure(&server, &dir, &handler, count, latency_for).await?;
        rows.push(format!(
            "| {} | {:.0} | {:.0} | {:.2} | {} | {} | {} |",
            measured.label,
            measured.per_second,
            reference,
            measured.per_second / reference,
            ms(measured.latency.p50()),
            ms(measured.latency.p99()),
            measured.latency.len(),
        ));
        debug_assert!(measured.drained > 0);
    }
    server.stop().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!(
        "## SQS → function through an event source mapping\n\nBatch size 10, no-op handlers; {count} messages of {} bytes drained from a filled queue; latency from {SENDERS} senders each sending one message every {} ms for {} s.\n\n{}\n",
        sqs::MESSAGE_BODY_BYTES,
        SEND_EVERY.as_millis(),
        latency_for.as_secs(),
        rows.join("\n")
    ))
}
