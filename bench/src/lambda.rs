//! `nimbus-bench lambda`: warm synchronous invokes of an echo function per runtime at
//! concurrency 1, 8 and 32 against `GET /_nimbus/ping` on the same server, CPU per invoke
//! split into nimbus's own and the function's, and cold starts against the bare interpreter.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use bytes::Bytes;
use tokio::sync::Barrier;

use crate::function_code::{ZipEntry, rust_function_bootstrap, zip_of};
use crate::http_client::{Connection, Endpoint};
use crate::server_process::ServerProcess;
use crate::stats::LatencySamples;

const CONCURRENCIES: [usize; 3] = [1, 8, 32];

/// One runtime under test.
struct Echo {
    label: &'static str,
    runtime: &'static str,
    handler: Option<&'static str>,
    files: Vec<ZipEntry>,
    /// The bare start that the cold start is compared with: an interpreter doing nothing,
    /// or the `provided` bootstrap itself, which exits at once without a Runtime API.
    bare: Vec<std::ffi::OsString>,
    /// Whether the bare start is judged by its exit status.
    bare_must_succeed: bool,
}

fn script(name: &'static str, code: &str) -> Vec<ZipEntry> {
    vec![(name, code.as_bytes().to_vec(), 0o644)]
}

/// The runtimes whose interpreter or build is present.
fn echoes() -> Result<Vec<Echo>> {
    let mut list = Vec::new();
    for (label, runtime, handler, file, code, bare) in [
        (
            "Python",
            "python3.11",
            "app.handler",
            "app.py",
            "def handler(event, context):\n    return event\n",
            ["python3", "-c", "pass"],
        ),
        (
            "Node",
            "nodejs20.x",
            "index.handler",
            "index.js",
            "exports.handler = async (event) => event;\n",
            ["node", "-e", "0"],
        ),
    ] {
        let installed = std::process::Command::new(bare[0])
            .arg("--version")
            .output()
            .is_ok();
        if !installed {
            eprintln!("{} is not installed; skipping {label}", bare[0]);
            continue;
        }
        list.push(Echo {
            label,
            runtime,
            handler: Some(handler),
            files: script(file, code),
            bare: bare.iter().map(Into::into).collect(),
            bare_must_succeed: true,
        });
    }
    if let Some((path, bootstrap)) = rust_function_bootstrap()? {
        list.push(Echo {
            label: "Rust (provided.al2023)",
            runtime: "provided.al2023",
            handler: None,
            files: vec![bootstrap],
            bare: vec![path.into_os_string()],
            bare_must_succeed: false,
        });
    }
    Ok(list)
}

/// Figures of one load run.
pub(crate) struct Run {
    pub per_second: f64,
    p50: Duration,
    p99: Duration,
    errors: u64,
    /// CPU seconds of the server process and of its descendants (the functions).
    server_cpu: f64,
    function_cpu: f64,
    count: u64,
}

/// User+system CPU seconds of one process (`/proc/<pid>/stat` fields 14 and 15).
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let Some((_, rest)) = stat.rsplit_once(") ") else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}

fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut pending = vec![pid];
    while let Some(p) = pending.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            if let Ok(children) = std::fs::read_to_string(task.path().join("children")) {
                for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                    found.push(child);
                    pending.push(child);
                }
            }
        }
    }
    found
}

fn tree_cpu(pid: u32) -> f64 {
    descendants(pid).into_iter().map(cpu_seconds).sum()
}

async fn create(endpoint: &Endpoint, name: &str, echo: &Echo) -> Result<()> {
    let mut body = serde_json::json!({
        "FunctionName": name,
        "Runtime": echo.runtime,
        "Role": "arn:aws:iam::000000000000:role/bench",
        "Code": { "ZipFile": base64::engine::general_purpose::STANDARD.encode(zip_of(&echo.files)?) },
    });
    if let Some(handler) = echo.handler {
        body["Handler"] = handler.into();
    }
    let mut connection = Connection::open(endpoint).await?;
    connection
        .post_json("/2015-03-31/functions", "lambda", body.to_string().into())
        .await?
        .into_success("CreateFunction")?;
    Ok(())
}

pub(crate) fn invoke_path(name: &str) -> String {
    format!("/2015-03-31/functions/{name}/invocations")
}

/// The first invoke after create, and the bare interpreter start it is compared with.
async fn cold_start(endpoint: &Endpoint, name: &str, echo: &Echo) -> Result<(Duration, Duration)> {
    create(endpoint, name, echo).await?;
    let mut connection = Connection::open(endpoint).await?;
    let started = Instant::now();
    connection
        .post_json(&invoke_path(name), "lambda", Bytes::from_static(b"{}"))
        .await?
        .into_success("Invoke")?;
    let cold = started.elapsed();
    let started = Instant::now();
    let status = std::process::Command::new(&echo.bare[0])
        .args(&echo.bare[1..])
        .env("RUST_BACKTRACE", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()?;
    if echo.bare_must_succeed && !status.success() {
        bail!("{:?} failed", echo.bare);
    }
    Ok((cold, started.elapsed()))
}

/// A closed loop of `concurrency` connections for `duration`: invokes of `name`, or pings.
pub(crate) async fn load(
    server: &ServerProcess,
    name: Option<&str>,
    concurrency: usize,
    duration: Duration,
) -> Result<Run> {
    let path = name.map(invoke_path);
    let barrier = Arc::new(Barrier::new(concurrency + 1));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let mut connection = Connection::open(&server.endpoint).await?;
        let barrier = Arc::clone(&barrier);
        let path = path.clone();
        workers.push(tokio::spawn(async move {
            barrier.wait().await;
            let deadline = Instant::now() + duration;
            let (mut nanos, mut errors) = (Vec::new(), 0_u64);
            while Instant::now() < deadline {
                let started = Instant::now();
                let reply = match &path {
                    Some(p) => {
                        connection
                            .post_json(p, "lambda", Bytes::from_static(b"{\"k\":1}"))
                            .await
                    }
                    None => connection.get("/_nimbus/ping").await,
                };
                match reply {
                    Ok(r) if r.is_success() => {
                        nanos.push(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX))
                    }
                    _ => errors += 1,
                }
            }
            (nanos, errors)
        }));
    }
    let (server_before, functions_before) = (cpu_seconds(server.pid), tree_cpu(server.pid));
    barrier.wait().await;
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (nanos, errs) = worker.await?;
        all.extend(nanos);
        errors += errs;
    }
    let elapsed = started.elapsed();
    let server_cpu = cpu_seconds(server.pid) - server_before;
    let function_cpu = (tree_cpu(server.pid) - functions_before).max(0.0);
    let count = all.len() as u64;
    let samples = LatencySamples::from_nanos(all);
    Ok(Run {
        per_second: count as f64 / elapsed.as_secs_f64(),
        p50: samples.p50().unwrap_or_default(),
        p99: samples.p99().unwrap_or_default(),
        errors,
        server_cpu,
        function_cpu,
        count,
    })
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

fn per_invoke_us(cpu: f64, count: u64) -> String {
    if count == 0 {
        return "–".into();
    }
    format!("{:.0}", cpu / count as f64 * 1e6)
}

/// Runs the whole suite; returns the Markdown report.
pub async fn run(binary: &Path, quick: bool) -> Result<String> {
    let duration = if quick {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(5)
    };
    let dir = std::env::temp_dir().join(format!("nimbus-bench-lambda-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let server = ServerProcess::start(binary, &dir.join("data"), &dir.join("server.log"))
        .await
        .context("starting nimbus")?;
    // nimbus learns the host's interpreters in the background right after it starts; a cold
    // start is measured on a server that has finished that, as functions normally meet it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut lines = vec![
        "| Runtime | c | invokes/s | p50 ms | p99 ms | ping p50 ms | ping p99 ms | overhead p50 ms | nimbus CPU µs/invoke | ping nimbus CPU µs/request | function CPU µs/invoke | errors |".to_owned(),
        "|---|---|---|---|---|---|---|---|---|---|---|---|".to_owned(),
    ];
    let mut cold_lines = vec![
        "| Runtime | cold start ms | bare interpreter ms | difference ms |".to_owned(),
        "|---|---|---|---|".to_owned(),
    ];
    for echo in &echoes()? {
        let name = format!("echo-{}", echo.runtime.replace('.', "-"));
        // A runtime's first function installs its managed AWS SDK once for the data
        // directory; cold starts are measured on a later function, as users meet them.
        cold_start(&server.endpoint, &format!("{name}-sdk-warmup"), echo).await?;
        let (cold, bare) = cold_start(&server.endpoint, &name, echo).await?;
        cold_lines.push(format!(
            "| {} | {} | {} | {} |",
            echo.label,
            ms(cold),
            ms(bare),
            ms(cold.saturating_sub(bare))
        ));
        for concurrency in CONCURRENCIES {
            eprintln!("{} at concurrency {concurrency}…", echo.label);
            // Unmeasured first: every instance this concurrency needs is started and warm.
            load(&server, Some(&name), concurrency, Duration::from_secs(1)).await?;
            let ping = load(&server, None, concurrency, duration).await?;
            let invoke = load(&server, Some(&name), concurrency, duration).await?;
            lines.push(format!(
                "| {} | {concurrency} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                echo.label,
                invoke.per_second,
                ms(invoke.p50),
                ms(invoke.p99),
                ms(ping.p50),
                ms(ping.p99),
                ms(invoke.p50.saturating_sub(ping.p50)),
                per_invoke_us(invoke.server_cpu, invoke.count),
                per_invoke_us(ping.server_cpu, ping.count),
                per_invoke_us(invoke.function_cpu, invoke.count),
                invoke.errors,
            ));
        }
    }
    let instances = descendants(server.pid).len();
    server.stop().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!(
        "## Warm synchronous invoke\n\n{}\n\nProcesses under nimbus at the end (warm instances): {instances}\n\n## Cold start\n\n{}\n",
        lines.join("\n"),
        cold_lines.join("\n")
    ))
}
