//! Function execution without containers.
//!
//! Each warm instance of a function is a child process with its own Runtime API endpoint
//! (`AWS_LAMBDA_RUNTIME_API`), the endpoint AWS's runtime clients speak: `provided` runtimes
//! run the zip's `bootstrap`, Python and Node run small runtime clients bundled in the binary.
//! [`Executor`] keeps instances warm per function revision, scales out up to the function's
//! reserved concurrency (shared by its versions) and the account's, keeps provisioned
//! instances initialized ahead of use, kills instances that time out, and writes the
//! function's output with AWS's START / END / REPORT lines to a [`LogSink`].

mod api_server;
mod clients;
mod executor;
mod instance;
mod interpreters;
mod managed_sdk;
mod native_modules;
mod platform_log;
mod provisioned;
mod report;

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;

pub use clients::{NODE_CLIENT, PYTHON_CLIENT};
pub use executor::{Executor, ExecutorConfig, Limits, Throttled};
pub use interpreters::{
    LaunchError, Launcher, RuntimeFamily, resolve_launcher, warm_interpreter_cache,
};
pub use managed_sdk::{BOTO3_PIN, JS_SDK_PACKAGES, ManagedSdks, SdkKind};
pub use native_modules::{ForeignModule, PythonAbi, find_foreign_module};
pub use platform_log::{LogFormat, SystemLogLevel};
pub use provisioned::ProvisionedState;

/// How to start one instance of a function revision.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    /// The program and its arguments (an interpreter with the bundled client, or `bootstrap`).
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The documented runtime environment and the function's own variables. The executor adds
    /// the per-instance ones (`AWS_LAMBDA_RUNTIME_API`, `TMPDIR`, the log stream name).
    pub env: Vec<(String, String)>,
    /// The unpacked code (`LAMBDA_TASK_ROOT`).
    pub task_root: PathBuf,
    /// Where per-instance scratch directories go.
    pub scratch_root: PathBuf,
    /// The function version the instances run (`$LATEST` or a number): it names log streams
    /// (`YYYY/MM/DD/[VERSION]id`) and appears in START lines.
    pub version: String,
    pub memory_mb: u32,
    pub timeout: Duration,
    /// A line written to the function's log when an instance starts (e.g. that a fallback
    /// interpreter is used).
    pub start_warning: Option<String>,
    /// How the platform's START / END / REPORT lines are written.
    pub log_format: LogFormat,
}

/// One event for one instance.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub payload: Bytes,
    pub function_arn: String,
    pub client_context: Option<String>,
    pub trace_id: String,
    /// Epoch milliseconds by which the function must answer (`Lambda-Runtime-Deadline-Ms`).
    pub deadline_ms: i64,
    /// The caller wants the invocation's log (`LogType=Tail`): wait briefly for output still
    /// in the pipes before closing it with END and REPORT.
    pub wait_for_output: bool,
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The runtime posted a response.
    Success(Bytes),
    /// The runtime posted an invocation error (the body is AWS's error JSON).
    FunctionError(Bytes),
    /// Initialization failed: the runtime posted an init error, or exited before asking for
    /// work. The body is AWS's error JSON.
    InitError(Bytes),
    /// The instance ran past the function's timeout and was killed.
    Timeout(Duration),
    /// The process exited during the invocation.
    Crashed(String),
    /// The instance's processes used more memory than the function has and were killed.
    OutOfMemory,
}

/// The result of one invocation with what the platform measured.
#[derive(Debug, Clone)]
pub struct InvokeResult {
    pub outcome: Outcome,
    /// The invocation's log lines (for `LogType=Tail`), START to REPORT.
    pub log: String,
    pub duration: Duration,
    pub init_duration: Option<Duration>,
    pub max_memory_mb: u64,
}

/// Where a function's log lines go (CloudWatch Logs, through the Lambda service).
pub trait LogSink: Send + Sync + 'static {
    /// One line of one instance's stream. `stream` is created on first use.
    fn write(&self, stream: &str, timestamp_ms: i64, message: String);
}

/// Drops every line; for callers that keep no logs.
pub struct NoLogs;

impl LogSink for NoLogs {
    fn write(&self, _stream: &str, _timestamp_ms: i64, _message: String) {}
}
