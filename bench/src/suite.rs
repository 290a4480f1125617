//! The SQS benchmark run: starts nimbus on a temporary data directory and measures every
//! figure in order, keeping going (and saying why) when one phase fails.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;

use crate::commit_metrics::{CommitActivity, CommitCounters};
use crate::disk;
use crate::http_client::{Connection, Endpoint};
use crate::load::{self, LoadResult, Refill, Workload};
use crate::server_process::{ProcessMemory, ServerProcess};
use crate::sqs;
use crate::stats::LatencySamples;

pub const CONCURRENCIES: [usize; 3] = [1, 16, 64];
pub const RECEIVE_CONCURRENCY: usize = 16;
pub const QUEUE_DEPTHS: [u64; 2] = [1_000, 100_000];
pub const STARTUP_MIN_STORED: u64 = 100_000;
const FILL_CONCURRENCY: usize = 64;
pub const REFILL_FEEDERS: usize = 8;
const SQS_ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Settings {
    pub quick: bool,
    pub run_duration: Duration,
    pub long_poll_rounds: usize,
    pub startup_repeats: usize,
    pub loaded_rss_messages: u64,
    pub fdatasync_budget: Duration,
}

impl Settings {
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                quick,
                run_duration: Duration::from_secs(1),
                long_poll_rounds: 50,
                startup_repeats: 3,
                loaded_rss_messages: 100_000,
                fdatasync_budget: Duration::from_millis(500),
            }
        } else {
            Self {
                quick,
                run_duration: Duration::from_secs(5),
                long_poll_rounds: 200,
                startup_repeats: 5,
                loaded_rss_messages: 1_000_000,
                fdatasync_budget: Duration::from_secs(2),
            }
        }
    }
}

/// A closed-loop run and the store's commits during it.
#[derive(Debug, Clone)]
pub struct MeasuredRun {
    pub label: String,
    pub load: LoadResult,
    pub commits: Option<CommitActivity>,
}

#[derive(Debug, Clone)]
pub struct ReceiveDeleteRun {
    pub depth: u64,
    pub run: MeasuredRun,
    pub refilled: u64,
    pub depth_after: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct LongPollResult {
    pub wake_latencies: LatencySamples,
    /// Rounds in which the receive returned before the sender saw its 200 (counted as 0).
    pub returned_before_send_answer: usize,
}

/// Everything a run measured; `None` or empty means not measured (see `failures`).
#[derive(Debug, Default)]
pub struct Measurements {
    pub binary: PathBuf,
    pub filesystem: String,
    pub fdatasync: Option<LatencySamples>,
    pub startup_empty: Vec<Duration>,
    pub idle_memory: Option<ProcessMemory>,
    pub ping: Vec<MeasuredRun>,
    pub send: Vec<MeasuredRun>,
    pub send_batch: Vec<MeasuredRun>,
    pub long_poll: Option<LongPollResult>,
    pub receive_delete: Vec<ReceiveDeleteRun>,
    pub startup_loaded: Vec<Duration>,
    pub stored_at_startup: Option<u64>,
    pub loaded_memory: Option<(ProcessMemory, u64)>,
    pub failures: Vec<String>,
}

/// The temporary directory of one run: the data directory and the server log.
struct RunDirectory {
    root: PathBuf,
}

impl RunDirectory {
    fn create() -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let root =
            std::env::temp_dir().join(format!("nimbus-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(root.join("data"))
            .with_context(|| format!("creating {}", root.display()))?;
        Ok(Self { root })
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.root.join("server.log")
    }
}

impl Drop for RunDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The server under test plus what the run needs to restart it.
struct Harness {
    binary: PathBuf,
    run_dir: RunDirectory,
    server: Option<ServerProcess>,
    /// Queues created by the run, by name.
    queues: Vec<String>,
}

impl Harness {
    fn endpoint(&self) -> Result<&Endpoint> {
        self.server
            .as_ref()
            .map(|server| &server.endpoint)
            .ok_or_else(|| anyhow!("nimbus is not running"))
    }

    fn server(&self) -> Result<&ServerProcess> {
        self.server
            .as_ref()
            .ok_or_else(|| anyhow!("nimbus is not running"))
    }

    async fn stop(&mut self) -> Result<()> {
        match self.server.take() {
            Some(server) => server.stop().await,
            None => Ok(()),
        }
    }

    /// Starts the server and returns the time from spawn until `first_request` succeeds.
    async fn start_and_time(&mut self, first_request: (&str, Bytes)) -> Result<Duration> {
        self.stop().await?;
        let server = ServerProcess::start(
            &self.binary,
            &self.run_dir.data_dir(),
            &self.run_dir.log_path(),
        )
        .await?;
        let spawned_at = server.spawned_at;
        let endpoint = server.endpoint.clone();
        self.server = Some(server);
        wait_for_sqs_answer(&endpoint, first_request.0, first_request.1).await?;
        Ok(spawned_at.elapsed())
    }

    async fn create_queue(&mut self, name: &str) -> Result<String> {
        let mut connection = Connection::open(self.endpoint()?).await?;
        let url = sqs::create_queue(&mut connection, name).await?;
        if !self.queues.iter().any(|known| known == name) {
            self.queues.push(name.to_string());
        }
        Ok(url)
    }

    /// Messages stored across the run's queues (visible, in flight and delayed).
    async fn stored_messages(&self) -> Result<u64> {
        let mut connection = Connection::open(self.endpoint()?).await?;
        let mut total = 0;
        for name in &self.queues {
            let reply = connection
                .sqs("GetQueueUrl", sqs::get_queue_url_body(name))
                .await?;
            let url = sqs::parse_queue_url(&reply.into_success("GetQueueUrl")?)?;
            total += sqs::queue_depth(&mut connection, &url).await?;
        }
        Ok(total)
    }

    /// Tops the store up to at least `target` messages with a filler queue; returns the count.
    async fn ensure_stored(&mut self, target: u64) -> Result<u64> {
        let stored = self.stored_messages().await?;
        if stored >= target {
            return Ok(stored);
        }
        let url = self.create_queue("bench-filler").await?;
        load::fill_queue(self.endpoint()?, &url, target - stored, FILL_CONCURRENCY).await?;
        self.stored_messages().await
    }

    async fn commit_counters(&self) -> Option<CommitCounters> {
        CommitCounters::read(self.endpoint().ok()?).await
    }

    async fn measured_run(
        &self,
        label: String,
        workload: Workload,
        concurrency: usize,
        settings: &Settings,
        refill: Option<Arc<Refill>>,
    ) -> Result<MeasuredRun> {
        let before = self.commit_counters().await;
        let load = load::run_closed_loop(
            self.endpoint()?,
            workload,
            concurrency,
            settings.run_duration,
            refill,
        )
        .await?;
        let after = self.commit_counters().await;
        if load.iterations == 0 {
            bail!(
                "{label}: no request succeeded ({})",
                load.first_error.as_deref().unwrap_or("no error recorded")
            );
        }
        let commits = before.zip(after).map(|(b, a)| a.activity_since(&b));
        Ok(MeasuredRun {
            label,
            load,
            commits,
        })
    }
}

/// Polls until `operation` answers 2xx, reconnecting as needed.
async fn wait_for_sqs_answer(endpoint: &Endpoint, operation: &str, body: Bytes) -> Result<()> {
    let deadline = Instant::now() + SQS_ANSWER_TIMEOUT;
    let mut last_problem = String::new();
    let mut connection: Option<Connection> = None;
    while Instant::now() < deadline {
        if connection.is_none() {
            match Connection::open(endpoint).await {
                Ok(opened) => connection = Some(opened),
                Err(error) => last_problem = format!("{error:#}"),
            }
        }
        if let Some(open) = connection.as_mut() {
            match open.sqs(operation, body.clone()).await {
                Ok(reply) if reply.is_success() => return Ok(()),
                Ok(reply) => {
                    last_problem = format!(
                        "{operation} answered {}: {}",
                        reply.status,
                        String::from_utf8_lossy(&reply.body)
                    )
                }
                Err(error) => {
                    last_problem = format!("{error:#}");
                    connection = None;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    bail!("no successful {operation} within {SQS_ANSWER_TIMEOUT:?}: {last_problem}")
}

fn record<T>(failures: &mut Vec<String>, phase: &str, outcome: Result<T>) -> Option<T> {
    match outcome {
        Ok(value) => Some(value),
        Err(error) => {
            let message = format!("{phase}: {error:#}");
            eprintln!("  not measured — {message}");
            failures.push(message);
            None
        }
    }
}

pub async fn run(binary: PathBuf, settings: &Settings) -> Result<Measurements> {
    let run_dir = RunDirectory::create()?;
    let mut measured = Measurements {
        binary: binary.clone(),
        filesystem: disk::describe_filesystem(&run_dir.data_dir()),
        ..Measurements::default()
    };

    eprintln!("raw fdatasync on the data directory's filesystem…");
    measured.fdatasync = record(
        &mut measured.failures,
        "fdatasync",
        disk::fdatasync_latency(&run_dir.data_dir(), settings.fdatasync_budget, 100_000),
    );

    let mut harness = Harness {
        binary,
        run_dir,
        server: None,
        queues: Vec::new(),
    };
    let result = run_phases(&mut harness, settings, &mut measured).await;
    let stopped = harness.stop().await;
    result?;
    record(&mut measured.failures, "stopping nimbus", stopped);
    Ok(measured)
}

async fn run_phases(
    harness: &mut Harness,
    settings: &Settings,
    measured: &mut Measurements,
) -> Result<()> {
    eprintln!("startup on an empty store…");
    for _ in 0..settings.startup_repeats {
        let started = harness
            .start_and_time(("ListQueues", Bytes::from_static(b"{}")))
            .await;
        match record(&mut measured.failures, "startup (empty store)", started) {
            Some(elapsed) => measured.startup_empty.push(elapsed),
            None => break,
        }
    }
    if harness.server.is_none() {
        // Without a successful SQS answer, start anyway for the reference and RSS figures.
        harness.server = Some(
            ServerProcess::start(
                &harness.binary,
                &harness.run_dir.data_dir(),
                &harness.run_dir.log_path(),
            )
            .await?,
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    measured.idle_memory = record(
        &mut measured.failures,
        "idle RSS",
        harness.server().and_then(ServerProcess::memory),
    );

    for concurrency in CONCURRENCIES {
        eprintln!("reference GET /_nimbus/ping at concurrency {concurrency}…");
        let label = format!("reference ping c={concurrency}");
        let outcome = harness
            .measured_run(label.clone(), Workload::Ping, concurrency, settings, None)
            .await;
        if let Some(run) = record(&mut measured.failures, &label, outcome) {
            measured.ping.push(run);
        }
    }

    let message = sqs::message_body();
    match record(
        &mut measured.failures,
        "CreateQueue",
        harness.create_queue("bench-send").await,
    ) {
        Some(url) => {
            let body = sqs::send_message_body(&url, &message);
            for concurrency in CONCURRENCIES {
                eprintln!("SendMessage at concurrency {concurrency}…");
                let label = format!("SendMessage c={concurrency}");
                let workload = Workload::SendMessage { body: body.clone() };
                let outcome = harness
                    .measured_run(label.clone(), workload, concurrency, settings, None)
                    .await;
                if let Some(run) = record(&mut measured.failures, &label, outcome) {
                    measured.send.push(run);
                }
            }
            let body = sqs::send_message_batch_body(&url, &message, sqs::BATCH_SIZE);
            for concurrency in CONCURRENCIES {
                eprintln!("SendMessageBatch at concurrency {concurrency}…");
                let label = format!("SendMessageBatch(10) c={concurrency}");
                let workload = Workload::SendMessageBatch {
                    body: body.clone(),
                    messages: sqs::BATCH_SIZE as u64,
                };
                let outcome = harness
                    .measured_run(label.clone(), workload, concurrency, settings, None)
                    .await;
                if let Some(run) = record(&mut measured.failures, &label, outcome) {
                    measured.send_batch.push(run);
                }
            }
        }
        None => {
            measured
                .failures
                .push("SQS figures: the server did not create a queue".to_string());
            return Ok(());
        }
    }

    eprintln!(
        "long-poll wake-up over {} rounds…",
        settings.long_poll_rounds
    );
    let outcome = measure_long_poll(harness, settings.long_poll_rounds).await;
    measured.long_poll = record(&mut measured.failures, "long-poll wake-up", outcome);

    for depth in QUEUE_DEPTHS {
        eprintln!("Receive(10)+DeleteMessageBatch on a queue of {depth} messages…");
        let outcome = measure_receive_delete(harness, depth, settings).await;
        let phase = format!("Receive+Delete at depth {depth}");
        if let Some(run) = record(&mut measured.failures, &phase, outcome) {
            measured.receive_delete.push(run);
        }
    }

    eprintln!("startup with at least {STARTUP_MIN_STORED} stored messages…");
    let outcome = measure_loaded_startup(harness, settings, measured).await;
    record(&mut measured.failures, "startup (loaded store)", outcome);

    eprintln!("RSS with {} stored messages…", settings.loaded_rss_messages);
    let outcome = async {
        let stored = harness.ensure_stored(settings.loaded_rss_messages).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok((harness.server()?.memory()?, stored))
    }
    .await;
    measured.loaded_memory = record(&mut measured.failures, "loaded RSS", outcome);
    Ok(())
}

/// A receiver waits with WaitTimeSeconds=20 on an empty queue; a sender sends one message.
/// The wake-up latency runs from the sender receiving its 200 to the receive returning.
async fn measure_long_poll(harness: &mut Harness, rounds: usize) -> Result<LongPollResult> {
    const PARK_TIME: Duration = Duration::from_millis(10);
    let url = harness.create_queue("bench-long-poll").await?;
    let endpoint = harness.endpoint()?.clone();
    let mut receiver = Connection::open(&endpoint).await?;
    let mut sender = Connection::open(&endpoint).await?;
    let send_body = sqs::send_message_body(&url, &sqs::message_body());
    let receive_body = sqs::receive_message_body(&url, 1, 20);
    let mut latencies = Vec::with_capacity(rounds);
    let mut early = 0;
    for _ in 0..rounds {
        let body = receive_body.clone();
        let waiting = tokio::spawn(async move {
            let reply = receiver.sqs("ReceiveMessage", body).await;
            (Instant::now(), reply, receiver)
        });
        tokio::time::sleep(PARK_TIME).await;
        sender
            .sqs("SendMessage", send_body.clone())
            .await?
            .into_success("SendMessage")?;
        let send_answered = Instant::now();
        let (returned, reply, connection) = waiting.await?;
        receiver = connection;
        let handles = sqs::parse_receipt_handles(&reply?.into_success("ReceiveMessage")?)?;
        if handles.is_empty() {
            bail!("a waiting ReceiveMessage returned without the message");
        }
        if returned < send_answered {
            early += 1;
        }
        latencies.push(returned.saturating_duration_since(send_answered));
        sender
            .sqs(
                "DeleteMessageBatch",
                sqs::delete_message_batch_body(&url, &handles),
            )
            .await?
            .into_success("DeleteMessageBatch")?;
    }
    Ok(LongPollResult {
        wake_latencies: LatencySamples::from_durations(&latencies),
        returned_before_send_answer: early,
    })
}

/// Fills a queue to `depth`, then receives and deletes at concurrency 16 while feeders send
/// back every deleted message, so the depth holds for the whole run.
async fn measure_receive_delete(
    harness: &mut Harness,
    depth: u64,
    settings: &Settings,
) -> Result<ReceiveDeleteRun> {
    let url = harness
        .create_queue(&format!("bench-depth-{depth}"))
        .await?;
    let endpoint = harness.endpoint()?.clone();
    let fill_time = load::fill_queue(&endpoint, &url, depth, FILL_CONCURRENCY).await?;
    eprintln!(
        "  filled {depth} messages in {:.1} s",
        fill_time.as_secs_f64()
    );
    let refill = Arc::new(Refill::default());
    let stop = Arc::new(AtomicBool::new(false));
    let feeders: Vec<_> = (0..REFILL_FEEDERS)
        .map(|_| {
            tokio::spawn(load::run_refill_feeder(
                endpoint.clone(),
                url.clone(),
                Arc::clone(&refill),
                Arc::clone(&stop),
            ))
        })
        .collect();
    let workload = Workload::ReceiveAndDelete {
        queue_url: url.clone(),
    };
    let label = format!("Receive(10)+DeleteBatch c={RECEIVE_CONCURRENCY} depth {depth}");
    let outcome = harness
        .measured_run(label, workload, RECEIVE_CONCURRENCY, settings, Some(refill))
        .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut refilled = 0;
    for feeder in feeders {
        refilled += feeder.await??;
    }
    let run = outcome?;
    let mut connection = Connection::open(&endpoint).await?;
    let depth_after = sqs::queue_depth(&mut connection, &url).await.ok();
    Ok(ReceiveDeleteRun {
        depth,
        run,
        refilled,
        depth_after,
    })
}

async fn measure_loaded_startup(
    harness: &mut Harness,
    settings: &Settings,
    measured: &mut Measurements,
) -> Result<()> {
    let stored = harness.ensure_stored(STARTUP_MIN_STORED).await?;
    measured.stored_at_startup = Some(stored);
    let probe_queue = harness
        .queues
        .first()
        .cloned()
        .ok_or_else(|| anyhow!("no queue to ask for"))?;
    for _ in 0..settings.startup_repeats {
        let elapsed = harness
            .start_and_time(("GetQueueUrl", sqs::get_queue_url_body(&probe_queue)))
            .await?;
        measured.startup_loaded.push(elapsed);
    }
    let after_restart = harness.stored_messages().await?;
    if after_restart < stored {
        bail!("the store held {stored} messages before the restarts and {after_restart} after");
    }
    Ok(())
}

/// Cores visible to this process (generator and server share them).
pub fn core_count() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The binary's path without machine-specific prefixes, for the report.
pub fn relative_to_workspace(path: &Path) -> String {
    if let Some(target_dir) = std::env::var_os("CARGO_TARGET_DIR")
        && let Ok(relative) = path.strip_prefix(&target_dir)
    {
        return format!("$CARGO_TARGET_DIR/{}", relative.display());
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent();
    match workspace.and_then(|root| path.strip_prefix(root).ok()) {
        Some(relative) => relative.display().to_string(),
        None => path
            .file_name()
            .map(|name| format!("…/{}", name.to_string_lossy()))
            .unwrap_or_default(),
    }
}
