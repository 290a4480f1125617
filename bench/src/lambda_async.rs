//! `nimbus-bench lambda-async`: asynchronous invokes of the Rust echo function
//! (`tests/rust-function`, a `provided.al2023` bootstrap on AWS's own runtime client): events
//! accepted durably per second (Invoke `Event` → 202, the event fsync'd in the store) and
//! events processed per second by the function, each compared with the synchronous invoke
//! rate of the same function at the same concurrency, measured in the same run.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use bytes::Bytes;
use tokio::sync::Barrier;

use crate::function_code::{RUST_FUNCTION_MISSING, bootstrap_zip, rust_function};
use crate::http_client::{Connection, Endpoint};
use crate::lambda::{invoke_path, load};
use crate::report::{Row, Target, render_table};
use crate::server_process::ServerProcess;

const CONCURRENCY: usize = 16;
const FUNCTION: &str = "rust-echo";
/// The brief's target for both figures.
const TARGET_EVENTS_PER_SECOND: f64 = 2_000.0;
/// How long the queue may take to drain before the run counts as failed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(300);

async fn create_function(endpoint: &Endpoint, zip: Vec<u8>) -> Result<()> {
    let body = serde_json::json!({
        "FunctionName": FUNCTION,
        "Runtime": "provided.al2023",
        "Handler": "bootstrap",
        "Role": "arn:aws:iam::000000000000:role/bench",
        "Code": { "ZipFile": base64::engine::general_purpose::STANDARD.encode(zip) },
    });
    let mut connection = Connection::open(endpoint).await?;
    connection
        .post_json("/2015-03-31/functions", "lambda", body.to_string().into())
        .await?
        .into_success("CreateFunction")?;
    Ok(())
}

/// Events that finished successfully, from `/_nimbus/metrics`.
async fn succeeded(connection: &mut Connection) -> Result<u64> {
    let text = connection
        .get("/_nimbus/metrics")
        .await?
        .into_success("metrics")?;
    let text = String::from_utf8_lossy(&text);
    let line = text
        .lines()
        .find(|l| l.starts_with(r#"nimbus_lambda_async_events_total{outcome="succeeded"}"#))
        .context("no nimbus_lambda_async_events_total in /_nimbus/metrics")?;
    Ok(line.rsplit(' ').next().unwrap_or("0").parse()?)
}

/// Sends `events` asynchronous invokes over `CONCURRENCY` connections; returns how long it
/// took and how many were refused.
async fn accept(endpoint: &Endpoint, events: usize) -> Result<(Duration, u64)> {
    let barrier = Arc::new(Barrier::new(CONCURRENCY + 1));
    let mut workers = Vec::new();
    for worker in 0..CONCURRENCY {
        let mut connection = Connection::open(endpoint).await?;
        let barrier = Arc::clone(&barrier);
        let share = events / CONCURRENCY + usize::from(worker < events % CONCURRENCY);
        workers.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut refused = 0_u64;
            for n in 0..share {
                let body = Bytes::from(format!("{{\"worker\":{worker},\"n\":{n}}}"));
                let reply = connection
                    .post_json_with(
                        &invoke_path(FUNCTION),
                        "lambda",
                        &[("x-amz-invocation-type", "Event")],
                        body,
                    )
                    .await;
                if !matches!(reply, Ok(r) if r.status == 202) {
                    refused += 1;
                }
            }
            refused
        }));
    }
    barrier.wait().await;
    let started = Instant::now();
    let mut refused = 0;
    for worker in workers {
        refused += worker.await?;
    }
    Ok((started.elapsed(), refused))
}

/// Runs the suite; returns the Markdown report.
pub async fn run(binary: &Path, quick: bool) -> Result<String> {
    let (events, duration) = if quick {
        (5_000, Duration::from_secs(1))
    } else {
        (30_000, Duration::from_secs(5))
    };
    let function = rust_function().ok_or_else(|| anyhow!(RUST_FUNCTION_MISSING))?;
    let dir = std::env::temp_dir().join(format!("nimbus-bench-async-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let server = ServerProcess::start(binary, &dir.join("data"), &dir.join("server.log"))
        .await
        .context("starting nimbus")?;
    create_function(&server.endpoint, bootstrap_zip(&function)?).await?;
    // Unmeasured first: the instances this concurrency needs are started and warm.
    load(&server, Some(FUNCTION), CONCURRENCY, Duration::from_secs(1)).await?;
    eprintln!("reference: ping and synchronous invokes at concurrency {CONCURRENCY}…");
    let ping = load(&server, None, CONCURRENCY, duration).await?;
    let sync = load(&server, Some(FUNCTION), CONCURRENCY, duration).await?;

    eprintln!("{events} asynchronous invokes…");
    let mut metrics = Connection::open(&server.endpoint).await?;
    let before = succeeded(&mut metrics).await?;
    let started = Instant::now();
    let (accepting, refused) = accept(&server.endpoint, events).await?;
    let target = before + events as u64 - refused;
    loop {
        let done = succeeded(&mut metrics).await?;
        if done >= target {
            break;
        }
        if started.elapsed() > DRAIN_TIMEOUT {
            bail!(
                "only {} of {events} events processed after {DRAIN_TIMEOUT:?}",
                done - before
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let processing = started.elapsed();
    server.stop().await?;
    let _ = std::fs::remove_dir_all(&dir);

    let accepted_rate = (events as u64 - refused) as f64 / accepting.as_secs_f64();
    let processed_rate = (events as u64 - refused) as f64 / processing.as_secs_f64();
    let sync_label = format!("sync Invoke c={CONCURRENCY}");
    let target_text = format!("≥ {} events/s", TARGET_EVENTS_PER_SECOND as u64);
    let rows = vec![
        Row::new(
            format!("Reference GET /_nimbus/ping, c={CONCURRENCY}"),
            Some(ping.per_second),
            "req/s",
        ),
        Row::new(
            format!("Synchronous Invoke (Rust function), c={CONCURRENCY}"),
            Some(sync.per_second),
            "req/s",
        )
        .compared_to(format!("ping c={CONCURRENCY}"), Some(ping.per_second)),
        Row::new(
            format!("Invoke Event accepted durably (202), c={CONCURRENCY}, {events} events"),
            Some(accepted_rate),
            "events/s",
        )
        .compared_to_in(&sync_label, Some(sync.per_second), "req/s")
        .target(Target::AtLeast(TARGET_EVENTS_PER_SECOND), &target_text),
        Row::new(
            format!(
                "Events processed by the function (first accept to last success), {events} events"
            ),
            Some(processed_rate),
            "events/s",
        )
        .compared_to_in(&sync_label, Some(sync.per_second), "req/s")
        .target(Target::AtLeast(TARGET_EVENTS_PER_SECOND), &target_text),
    ];
    Ok(format!(
        "{}\nRefused asynchronous invokes: {refused}. Accepting and processing overlap: the worker runs events while they arrive, so both share the machine's cores.\n",
        render_table(&rows)
    ))
}
