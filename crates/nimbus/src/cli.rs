//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use nimbus_core::ClockMode;
use nimbus_server::auth::AuthMode;

/// AWS serverless services on one machine.
#[derive(Debug, Parser)]
#[command(name = "nimbus", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the AWS endpoint until interrupted.
    Serve(ServeArgs),
    /// Print a function's logs from a running nimbus.
    Logs(LogsArgs),
}

/// Flags of `nimbus logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The function whose log group (`/aws/lambda/<function>`) to print
    pub function: String,
    /// Keep printing new lines as they arrive, until interrupted
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// How far back to start, e.g. 30s, 10m, 2h, 1d
    #[arg(long, default_value = "10m")]
    pub since: String,
    /// The nimbus endpoint
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        default_value = "http://localhost:4566"
    )]
    pub endpoint: String,
    /// The function's region
    #[arg(long, env = "AWS_DEFAULT_REGION", default_value = nimbus_core::DEFAULT_REGION)]
    pub region: String,
    /// Prefix each line with its log stream
    #[arg(long)]
    pub show_stream: bool,
}

/// Flags of `nimbus serve`. Each also reads the environment variable named in its help, then
/// the `--config` file; a flag wins over both.
#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// TOML configuration file [env: NIMBUS_CONFIG]
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on; `localhost` means 127.0.0.1 and ::1 [env: NIMBUS_HOST] [default: localhost]
    #[arg(long)]
    pub host: Option<String>,
    /// TCP port; 0 picks a free one [env: NIMBUS_PORT] [default: 4566]
    #[arg(long)]
    pub port: Option<u16>,
    /// State directory [env: NIMBUS_DATA_DIR] [default: $XDG_DATA_HOME/nimbus or ~/.local/share/nimbus]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Keep state in memory only [env: NIMBUS_IN_MEMORY]
    #[arg(long)]
    pub in_memory: bool,
    /// Host name for URLs handed to clients, instead of the request's Host header [env: NIMBUS_HOSTNAME]
    #[arg(long)]
    pub hostname: Option<String>,
    /// Region for unsigned requests [env: NIMBUS_REGION] [default: us-east-1]
    #[arg(long)]
    pub region: Option<String>,
    /// Account for access keys that are not 12-digit account ids [env: NIMBUS_ACCOUNT] [default: 000000000000]
    #[arg(long)]
    pub account: Option<String>,
    /// Signature checking [env: NIMBUS_AUTH] [default: off]
    #[arg(long, value_parser = parse_auth)]
    pub auth: Option<AuthMode>,
    /// KEY:SECRET accepted in strict mode; repeatable [env: NIMBUS_ACCESS_KEYS, comma-separated]
    #[arg(long)]
    pub access_key: Vec<String>,
    /// Log line format on stderr [env: NIMBUS_LOG_FORMAT] [default: text]
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// `test` stands still until moved through /_nimbus/clock [env: NIMBUS_CLOCK] [default: real]
    #[arg(long, value_enum)]
    pub clock: Option<ClockArg>,
    /// Tracing filter, e.g. `info` or `nimbus_server=debug` [env: NIMBUS_LOG_LEVEL] [default: info]
    #[arg(long)]
    pub log_level: Option<String>,
    /// Multiplies Lambda's asynchronous retry and backoff delays, e.g. 0.001 for tests [env: NIMBUS_ASYNC_RETRY_SCALE] [default: 1]
    #[arg(long)]
    pub async_retry_scale: Option<f64>,
    /// Where functions' managed AWS SDKs (boto3, JavaScript SDK v3) are kept and installed on first use, or `off` [env: NIMBUS_LAMBDA_SDK_DIR] [default: <data-dir>/lambda/sdk]
    #[arg(long)]
    pub lambda_sdk_dir: Option<String>,
}

fn parse_auth(text: &str) -> Result<AuthMode, String> {
    text.parse()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockArg {
    Real,
    Test,
}

impl From<ClockArg> for ClockMode {
    fn from(arg: ClockArg) -> Self {
        match arg {
            ClockArg::Real => ClockMode::Real,
            ClockArg::Test => ClockMode::Test,
        }
    }
}
