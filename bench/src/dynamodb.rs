//! `nimbus-bench dynamodb`: PutItem and GetItem of 1 KB items at concurrency 1, 16 and 64,
//! Query of 100 items out of a 1,000,000-item table, and UpdateItem ADD on one hot counter
//! (checked for lost increments), each next to `GET /_nimbus/ping` measured in the same run at
//! the same concurrency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use tokio::sync::Barrier;

use crate::commit_metrics::CommitCounters;
use crate::http_client::{Connection, Endpoint};
use crate::report::{Row, Target, render_table};
use crate::server_process::ServerProcess;
use crate::stats::{LatencySamples, millis};

const CONCURRENCIES: [usize; 3] = [1, 16, 64];
/// Items each GetItem worker picks from.
const READ_ITEMS: u64 = 10_000;
/// Items per partition in the query table: one Query returns this many.
const QUERY_PAGE: u64 = 100;
const LOAD_CONNECTIONS: usize = 32;

/// What one request of a closed loop sends: operation and body for the i-th request of a
/// worker, or the ping.
#[derive(Clone, Copy)]
enum Op {
    Ping,
    Put,
    Get,
    Query { partitions: u64 },
    Add,
}

struct Run {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    ok: u64,
    errors: u64,
    first_error: Option<String>,
}

/// A ~1 KB payload attribute.
fn payload() -> String {
    "x".repeat(1000)
}

/// Spreads request numbers over keys without a shared counter.
fn mix(worker: u64, i: u64) -> u64 {
    let mut x = worker.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 31;
    x.wrapping_mul(0x94d0_49bb_1331_11eb)
}

fn request(op: Op, worker: u64, i: u64, pad: &str) -> (&'static str, String) {
    match op {
        Op::Ping => ("", String::new()),
        Op::Put => (
            "PutItem",
            format!(
                r#"{{"TableName":"items","Item":{{"pk":{{"S":"w{worker}-{i}"}},"n":{{"N":"{i}"}},"pad":{{"S":"{pad}"}}}}}}"#
            ),
        ),
        Op::Get => (
            "GetItem",
            format!(
                r#"{{"TableName":"items","Key":{{"pk":{{"S":"r{}"}}}}}}"#,
                mix(worker, i) % READ_ITEMS
            ),
        ),
        Op::Query { partitions } => (
            "Query",
            format!(
                r#"{{"TableName":"big","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{{":p":{{"S":"p{}"}}}}}}"#,
                mix(worker, i) % partitions
            ),
        ),
        Op::Add => (
            "UpdateItem",
            r#"{"TableName":"items","Key":{"pk":{"S":"counter"}},"UpdateExpression":"ADD hits :one","ExpressionAttributeValues":{":one":{"N":"1"}}}"#.to_owned(),
        ),
    }
}

async fn call(connection: &mut Connection, operation: &str, body: String) -> Result<Bytes> {
    connection
        .dynamodb(operation, Bytes::from(body))
        .await?
        .into_success(operation)
}

/// A closed loop of `concurrency` connections for `duration`.
async fn load(endpoint: &Endpoint, op: Op, concurrency: usize, duration: Duration) -> Result<Run> {
    let barrier = Arc::new(Barrier::new(concurrency + 1));
    let mut workers = Vec::new();
    for worker in 0..concurrency as u64 {
        let mut connection = Connection::open(endpoint).await?;
        let barrier = Arc::clone(&barrier);
        workers.push(tokio::spawn(async move {
            let pad = payload();
            barrier.wait().await;
            let deadline = Instant::now() + duration;
            let (mut nanos, mut errors, mut first_error) = (Vec::new(), 0_u64, None);
            let mut i = 0;
            while Instant::now() < deadline {
                let (operation, body) = request(op, worker, i, &pad);
                i += 1;
                let started = Instant::now();
                let reply = match op {
                    Op::Ping => connection
                        .get("/_nimbus/ping")
                        .await
                        .and_then(|r| r.into_success("ping")),
                    _ => call(&mut connection, operation, body).await,
                };
                match reply {
                    Ok(_) => {
                        nanos.push(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX))
                    }
                    Err(err) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| err.to_string());
                    }
                }
            }
            (nanos, errors, first_error)
        }));
    }
    barrier.wait().await;
    let started = Instant::now();
    let (mut all, mut errors, mut first_error) = (Vec::new(), 0, None);
    for worker in workers {
        let (nanos, errs, first) = worker.await?;
        all.extend(nanos);
        errors += errs;
        first_error = first_error.or(first);
    }
    let elapsed = started.elapsed();
    let ok = all.len() as u64;
    let samples = LatencySamples::from_nanos(all);
    Ok(Run {
        per_second: ok as f64 / elapsed.as_secs_f64(),
        p50: samples.p50().unwrap_or_default(),
        p99: samples.p99().unwrap_or_default(),
        ok,
        errors,
        first_error,
    })
}

async fn create_table(endpoint: &Endpoint, name: &str, sort: bool) -> Result<()> {
    let (defs, keys) = if sort {
        (
            r#"[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}]"#,
            r#"[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]"#,
        )
    } else {
        (
            r#"[{"AttributeName":"pk","AttributeType":"S"}]"#,
            r#"[{"AttributeName":"pk","KeyType":"HASH"}]"#,
        )
    };
    let body = format!(
        r#"{{"TableName":"{name}","AttributeDefinitions":{defs},"KeySchema":{keys},"BillingMode":"PAY_PER_REQUEST"}}"#
    );
    call(&mut Connection::open(endpoint).await?, "CreateTable", body).await?;
    Ok(())
}

/// "writes per commit / ms per commit" between two snapshots, or "–".
fn commit_figures(before: Option<CommitCounters>, after: Option<CommitCounters>) -> String {
    let activity = before.zip(after).map(|(b, a)| a.activity_since(&b));
    match activity.and_then(|a| Some((a.average_batch_size()?, a.average_commit_millis()?))) {
        Some((batch, ms)) => format!("{batch:.1} / {ms:.2}"),
        None => "–".to_owned(),
    }
}

/// Writes `count` items with BatchWriteItem over parallel connections; `item(n)` is the
/// JSON of item n.
async fn fill(endpoint: &Endpoint, table: &str, count: u64, item: fn(u64) -> String) -> Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..LOAD_CONNECTIONS {
        let mut connection = Connection::open(endpoint).await?;
        let next = Arc::clone(&next);
        let table = table.to_owned();
        workers.push(tokio::spawn(async move {
            loop {
                let start = next.fetch_add(25, Ordering::Relaxed);
                if start >= count {
                    return Ok::<(), anyhow::Error>(());
                }
                let entries: Vec<String> = (start..(start + 25).min(count))
                    .map(|n| format!(r#"{{"PutRequest":{{"Item":{}}}}}"#, item(n)))
                    .collect();
                let body = format!(
                    r#"{{"RequestItems":{{"{table}":[{}]}}}}"#,
                    entries.join(",")
                );
                let reply = call(&mut connection, "BatchWriteItem", body).await?;
                if !reply.starts_with(b"{\"UnprocessedItems\":{}") {
                    bail!("BatchWriteItem left items unprocessed");
                }
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(())
}

fn read_item(n: u64) -> String {
    format!(r#"{{"pk":{{"S":"r{n}"}},"pad":{{"S":"{}"}}}}"#, payload())
}

fn query_item(n: u64) -> String {
    format!(
        r#"{{"pk":{{"S":"p{}"}},"sk":{{"N":"{}"}},"v":{{"S":"value-{n}"}}}}"#,
        n / QUERY_PAGE,
        n % QUERY_PAGE
    )
}

fn check(run: &Run, what: &str) -> Result<()> {
    if run.ok == 0 {
        bail!(
            "{what}: no request succeeded; first error: {:?}",
            run.first_error
        );
    }
    Ok(())
}

/// Runs the whole suite; returns the Markdown report.
pub async fn run(binary: &std::path::Path, quick: bool) -> Result<String> {
    let duration = Duration::from_secs(if quick { 1 } else { 5 });
    let big_items: u64 = if quick { 100_000 } else { 1_000_000 };
    let dir = std::env::temp_dir().join(format!("nimbus-bench-dynamodb-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let server = ServerProcess::start(binary, &dir.join("data"), &dir.join("server.log"))
        .await
        .context("starting nimbus")?;
    let endpoint = server.endpoint.clone();
    create_table(&endpoint, "items", false).await?;
    create_table(&endpoint, "big", true).await?;
    eprintln!("loading {READ_ITEMS} 1 KB items…");
    fill(&endpoint, "items", READ_ITEMS, read_item).await?;
    let started = Instant::now();
    eprintln!("loading {big_items} items for Query…");
    fill(&endpoint, "big", big_items, query_item).await?;
    let load_seconds = started.elapsed().as_secs_f64();

    let mut rows = Vec::new();
    let mut detail = vec![
        "| Operation | c | ops/s | p50 ms | p99 ms | ping ops/s | ping p50 ms | ping p99 ms | errors | writes / ms per commit |".to_owned(),
        "|---|---|---|---|---|---|---|---|---|---|".to_owned(),
    ];
    for (label, op) in [("PutItem 1 KB", Op::Put), ("GetItem 1 KB", Op::Get)] {
        for concurrency in CONCURRENCIES {
            eprintln!("{label} at concurrency {concurrency}…");
            let ping = load(&endpoint, Op::Ping, concurrency, duration).await?;
            let before = CommitCounters::read(&endpoint).await;
            let measured = load(&endpoint, op, concurrency, duration).await?;
            let commits = commit_figures(before, CommitCounters::read(&endpoint).await);
            check(&measured, label)?;
            detail.push(format!(
                "| {label} | {concurrency} | {:.0} | {:.3} | {:.3} | {:.0} | {:.3} | {:.3} | {} | {commits} |",
                measured.per_second,
                millis(measured.p50),
                millis(measured.p99),
                ping.per_second,
                millis(ping.p50),
                millis(ping.p99),
                measured.errors
            ));
            let mut row = Row::new(
                format!("{label}, c={concurrency}"),
                Some(measured.per_second),
                "ops/s",
            )
            .compared_to("ping", Some(ping.per_second));
            if concurrency == 64 {
                row = match op {
                    Op::Get => row.target(Target::AtLeast(30_000.0), "≥ 30,000/s and ≥ 0.45× ping"),
                    _ => row.target(Target::AtLeast(20_000.0), "≥ 20,000/s and ≥ 0.3× ping"),
                };
                rows.push(row);
                let ratio_target = if matches!(op, Op::Get) { 0.45 } else { 0.3 };
                rows.push(
                    Row::new(
                        format!("{label}, c=64, ratio to ping"),
                        Some(measured.per_second),
                        "ops/s",
                    )
                    .compared_to("ping", Some(ping.per_second))
                    .target(
                        Target::RatioAtLeast(ratio_target),
                        format!("≥ {ratio_target}× ping"),
                    ),
                );
            } else {
                rows.push(row);
            }
            if concurrency == 16 {
                rows.push(
                    Row::new(
                        format!("{label}, c=16, p99"),
                        Some(millis(measured.p99)),
                        "ms",
                    )
                    .compared_to("ping p99", Some(millis(ping.p99)))
                    .target(Target::AtMost(5.0), "≤ 5 ms"),
                );
            }
        }
    }
    eprintln!("Query of {QUERY_PAGE} items…");
    let partitions = big_items / QUERY_PAGE;
    let ping = load(&endpoint, Op::Ping, 1, duration).await?;
    let query = load(&endpoint, Op::Query { partitions }, 1, duration).await?;
    check(&query, "Query")?;
    detail.push(format!(
        "| Query 100 of {big_items} | 1 | {:.0} | {:.3} | {:.3} | {:.0} | {:.3} | {:.3} | {} | – |",
        query.per_second,
        millis(query.p50),
        millis(query.p99),
        ping.per_second,
        millis(ping.p50),
        millis(ping.p99),
        query.errors
    ));
    rows.push(
        Row::new(
            format!("Query 100 items of {big_items}, c=1, p50"),
            Some(millis(query.p50)),
            "ms",
        )
        .compared_to("ping p50", Some(millis(ping.p50)))
        .target(Target::AtMost(2.0), "≤ 2 ms"),
    );

    eprintln!("hot counter…");
    let ping = load(&endpoint, Op::Ping, 64, duration).await?;
    let before = CommitCounters::read(&endpoint).await;
    let add = load(&endpoint, Op::Add, 64, duration).await?;
    let commits = commit_figures(before, CommitCounters::read(&endpoint).await);
    check(&add, "UpdateItem ADD")?;
    let reply = call(
        &mut Connection::open(&endpoint).await?,
        "GetItem",
        r#"{"TableName":"items","Key":{"pk":{"S":"counter"}},"ConsistentRead":true}"#.to_owned(),
    )
    .await?;
    let stored: serde_json::Value = serde_json::from_slice(&reply)?;
    let hits: u64 = stored["Item"]["hits"]["N"]
        .as_str()
        .unwrap_or("0")
        .parse()?;
    if hits != add.ok {
        bail!(
            "hot counter lost increments: {hits} stored, {} acknowledged",
            add.ok
        );
    }
    detail.push(format!(
        "| UpdateItem ADD (one item) | 64 | {:.0} | {:.3} | {:.3} | {:.0} | {:.3} | {:.3} | {} | {commits} |",
        add.per_second,
        millis(add.p50),
        millis(add.p99),
        ping.per_second,
        millis(ping.p50),
        millis(ping.p99),
        add.errors
    ));
    rows.push(
        Row::new(
            "Hot counter UpdateItem ADD, c=64",
            Some(add.per_second),
            "ops/s",
        )
        .compared_to("ping", Some(ping.per_second))
        .target(Target::AtLeast(10_000.0), "≥ 10,000/s, none lost")
        .note(format!("{hits} stored = {} acknowledged", add.ok)),
    );
    server.stop().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!(
        "## Summary\n\n{}\n## Runs\n\n{}\n\nLoading the {big_items}-item Query table with BatchWriteItem over {LOAD_CONNECTIONS} connections took {load_seconds:.1} s ({:.0} items/s).\n",
        render_table(&rows),
        detail.join("\n"),
        big_items as f64 / load_seconds
    ))
}
