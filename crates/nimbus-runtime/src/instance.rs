//! One warm instance: a child process (its own process group, so the whole tree can be
//! killed) with its own Runtime API endpoint, scratch directory and log stream.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::api_server::{RuntimeApi, RuntimeEvent};
use crate::platform_log::Closing;
use crate::report::{self, Platform};
use crate::{Invocation, InvokeResult, LaunchSpec, LogSink, Outcome};

/// AWS gives initialization its own ten seconds, separate from the function's timeout.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an invocation whose log was asked for waits for output still in the pipes: a
/// runtime writes its last lines before it posts the answer, but they are read concurrently.
const OUTPUT_GRACE: Duration = Duration::from_millis(3);
/// How often REPORT's Max Memory Used is read again from `/proc` (peak memory only grows, so
/// a reading this old is at most slightly low; reading on every invocation costs more than
/// the rest of a warm invocation's bookkeeping).
const PEAK_MEMORY_EVERY: Duration = Duration::from_millis(100);
/// How often a busy instance's memory is checked.
const MEMORY_CHECK_EVERY: Duration = Duration::from_millis(50);

/// Log lines of the invocation in progress, kept for `LogType=Tail`.
type Capture = Arc<Mutex<Option<String>>>;

pub(crate) struct Instance {
    child: Child,
    pid: Option<i32>,
    api: RuntimeApi,
    stream: String,
    sink: Arc<dyn LogSink>,
    capture: Capture,
    started: Instant,
    ready: bool,
    scratch: PathBuf,
    readers: Vec<JoinHandle<()>>,
    /// When the instance last finished an invocation, for idle reaping.
    pub last_used: Instant,
    /// The last reading of the instance's peak memory, in MB, and when it was taken.
    peak_memory: Option<(u64, Instant)>,
    /// Kept for provisioned concurrency rather than on demand.
    pub provisioned: bool,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
        for reader in &self.readers {
            reader.abort();
        }
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

impl Instance {
    /// Starts the process; initialization runs while the first event is on its way.
    pub async fn start(spec: &LaunchSpec, sink: Arc<dyn LogSink>) -> std::io::Result<Instance> {
        let api = RuntimeApi::start().await?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let stream = format!(
            "{}/[{}]{id}",
            chrono::Utc::now().format("%Y/%m/%d"),
            spec.version
        );
        let scratch = spec.scratch_root.join(&id);
        std::fs::create_dir_all(&scratch)?;
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .current_dir(&spec.task_root)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &scratch)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{}", api.port))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", &stream)
            .env("TMPDIR", &scratch)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command.spawn()?;
        let capture: Capture = Arc::default();
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(forward(out, &stream, &sink, &capture));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(forward(err, &stream, &sink, &capture));
        }
        let instance = Instance {
            pid: child.id().and_then(|p| i32::try_from(p).ok()),
            child,
            api,
            stream,
            sink,
            capture,
            started,
            ready: false,
            scratch,
            readers,
            last_used: Instant::now(),
            peak_memory: None,
            provisioned: false,
        };
        if let Some(warning) = &spec.start_warning {
            instance.log(warning.clone());
        }
        Ok(instance)
    }

    fn log(&self, line: String) {
        if let Some(buffer) = self.capture.lock().as_mut() {
            buffer.push_str(&line);
            buffer.push('\n');
        }
        self.sink
            .write(&self.stream, chrono::Utc::now().timestamp_millis(), line);
    }

    fn kill(&mut self) {
        if let Some(pid) = self.pid.take() {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }

    fn peak_memory_mb(&mut self) -> u64 {
        match self.peak_memory {
            Some((mb, at)) if at.elapsed() < PEAK_MEMORY_EVERY => mb,
            _ => {
                let mb = self.pid.map_or(0, report::peak_memory_mb);
                self.peak_memory = Some((mb, Instant::now()));
                mb
            }
        }
    }

    /// Waits until the runtime asks for its first event (initialization is over), as
    /// provisioned concurrency does before any invocation. The error says why it failed.
    pub async fn initialize(&mut self) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + INIT_TIMEOUT;
        let failure = loop {
            tokio::select! {
                event = self.api.events.recv() => match event {
                    Some(RuntimeEvent::Ready) => {
                        self.ready = true;
                        self.last_used = Instant::now();
                        return Ok(());
                    }
                    Some(RuntimeEvent::InitError { body }) => {
                        break String::from_utf8_lossy(&body).into_owned();
                    }
                    Some(_) => {}
                    None => break "Runtime API stopped".to_owned(),
                },
                status = self.child.wait() => {
                    let reason = match status {
                        Ok(status) => report::exit_reason(status),
                        Err(err) => err.to_string(),
                    };
                    break format!("Runtime exited with error: {reason}");
                }
                () = tokio::time::sleep_until(deadline) => {
                    break format!(
                        "Runtime failed to initialize within {} seconds",
                        INIT_TIMEOUT.as_secs()
                    );
                }
            }
        };
        self.kill();
        Err(failure)
    }

    /// Runs one invocation. Returns the result and whether the instance can be reused.
    pub async fn invoke(&mut self, inv: Invocation, spec: &LaunchSpec) -> (InvokeResult, bool) {
        let request_id = inv.request_id.clone();
        *self.capture.lock() = Some(String::new());
        if let Some(line) = spec.log_format.start(&request_id, &spec.version) {
            self.log(line);
        }
        let cold = !self.ready;
        let wait_for_output = inv.wait_for_output;
        let mut began = Instant::now();
        let mut init_duration = None;
        let outcome = if self.api.invocations.send(inv).await.is_err() {
            Outcome::Crashed("Runtime API stopped".into())
        } else {
            self.await_outcome(&request_id, spec, &mut init_duration, &mut began)
                .await
        };
        let duration = began.elapsed();
        if let Outcome::Timeout(after) = &outcome
            && let Some(line) = spec.log_format.timed_out(&request_id, *after)
        {
            self.log(line);
        }
        let alive = matches!(outcome, Outcome::Success(_) | Outcome::FunctionError(_));
        if !alive {
            self.kill();
        }
        // Lines written just before the answer may still be in the pipe.
        if wait_for_output {
            tokio::time::sleep(OUTPUT_GRACE).await;
        } else {
            tokio::task::yield_now().await;
        }
        let max_memory_mb = self.peak_memory_mb();
        let platform = Platform {
            request_id: &request_id,
            duration,
            memory_mb: spec.memory_mb,
            max_memory_mb,
            init_duration: init_duration.filter(|_| cold),
        };
        let closing = Closing {
            platform,
            outcome: &outcome,
        };
        for line in spec.log_format.closing(&closing) {
            self.log(line);
        }
        let log = self.capture.lock().take().unwrap_or_default();
        self.last_used = Instant::now();
        let result = InvokeResult {
            outcome,
            log,
            duration,
            init_duration,
            max_memory_mb,
        };
        (result, alive)
    }

    async fn await_outcome(
        &mut self,
        request_id: &str,
        spec: &LaunchSpec,
        init_duration: &mut Option<Duration>,
        began: &mut Instant,
    ) -> Outcome {
        let start = tokio::time::Instant::now();
        let mut deadline = if self.ready {
            start + spec.timeout
        } else {
            start + INIT_TIMEOUT
        };
        let limit_kb = u64::from(spec.memory_mb) * 1024;
        let mut memory_check =
            tokio::time::interval_at(start + MEMORY_CHECK_EVERY, MEMORY_CHECK_EVERY);
        loop {
            tokio::select! {
                event = self.api.events.recv() => match event {
                    Some(RuntimeEvent::Ready) => {
                        if !self.ready {
                            self.ready = true;
                            *init_duration = Some(self.started.elapsed());
                            // The invocation's own duration starts when initialization ends.
                            *began = Instant::now();
                            deadline = tokio::time::Instant::now() + spec.timeout;
                        }
                    }
                    Some(RuntimeEvent::Response { request_id: id, body }) if id == request_id => {
                        return Outcome::Success(body);
                    }
                    Some(RuntimeEvent::Error { request_id: id, body }) if id == request_id => {
                        return Outcome::FunctionError(body);
                    }
                    Some(RuntimeEvent::InitError { body }) => return Outcome::InitError(body),
                    Some(_) => {}
                    None => return Outcome::Crashed("Runtime API stopped".into()),
                },
                status = self.child.wait() => {
                    let reason = match status {
                        Ok(status) => report::exit_reason(status),
                        Err(err) => err.to_string(),
                    };
                    if !self.ready {
                        return Outcome::InitError(report::error_json(
                            "Runtime.ExitError",
                            &format!("RequestId: {request_id} Error: Runtime exited with error: {reason}"),
                        ));
                    }
                    return Outcome::Crashed(reason);
                }
                () = tokio::time::sleep_until(deadline) => {
                    if !self.ready {
                        return Outcome::InitError(report::error_json(
                            "Runtime.InitTimeout",
                            &format!("RequestId: {request_id} Error: Runtime failed to initialize within {} seconds", INIT_TIMEOUT.as_secs()),
                        ));
                    }
                    return Outcome::Timeout(spec.timeout);
                }
                _ = memory_check.tick() => {
                    if self.pid.is_some_and(|pid| report::tree_rss_kb(pid) > limit_kb) {
                        return Outcome::OutOfMemory;
                    }
                }
            }
        }
    }
}

fn forward(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    stream: &str,
    sink: &Arc<dyn LogSink>,
    capture: &Capture,
) -> JoinHandle<()> {
    let stream = stream.to_owned();
    let sink = Arc::clone(sink);
    let capture = Arc::clone(capture);
    tokio::spawn(async move {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches(['\n', '\r']).to_owned();
                    if let Some(buffer) = capture.lock().as_mut() {
                        buffer.push_str(&text);
                        buffer.push('\n');
                    }
                    sink.write(&stream, chrono::Utc::now().timestamp_millis(), text);
                }
            }
        }
    })
}
