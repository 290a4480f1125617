//! `nimbus serve` settings: command-line flags over `NIMBUS_*` environment variables over the
//! TOML file over the defaults, validated into [`Settings`]. The environment is passed in as
//! a map so resolution is a pure function.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use nimbus_core::ClockMode;
use nimbus_server::auth::{AuthMode, SecretKey};
use serde::Deserialize;

use crate::cli::{LogFormat, ServeArgs};

/// Every default, in one place.
mod defaults {
    pub const HOST: &str = "localhost";
    pub const PORT: u16 = 4566;
    pub const REGION: &str = nimbus_core::DEFAULT_REGION;
    pub const ACCOUNT: &str = nimbus_core::DEFAULT_ACCOUNT;
    pub const LOG_LEVEL: &str = "info";
    pub const ASYNC_RETRY_SCALE: f64 = 1.0;
}

/// The `--config` file. Every field is optional; flags and environment variables win.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address to listen on; `localhost` means both 127.0.0.1 and ::1.
    pub host: Option<String>,
    /// TCP port; 0 picks a free one.
    pub port: Option<u16>,
    /// Directory holding the state database.
    pub data_dir: Option<PathBuf>,
    /// Keep all state in memory and lose it on exit.
    pub in_memory: Option<bool>,
    /// Host name used in URLs returned to clients (queue URLs), instead of the `Host` header.
    pub hostname: Option<String>,
    /// Region for requests that carry no credential scope.
    pub region: Option<String>,
    /// 12-digit account for access keys that do not name one.
    pub account: Option<String>,
    /// `off` (any credentials) or `strict` (SigV4 verified against `access_keys`).
    pub auth: Option<String>,
    /// Access key id → secret access key, for `auth = "strict"`.
    pub access_keys: Option<BTreeMap<String, String>>,
    /// `text` or `json` logs on stderr.
    pub log_format: Option<String>,
    /// `real`, or `test` (stands still until moved through `/_nimbus/clock`).
    pub clock: Option<String>,
    /// A tracing filter such as `info` or `nimbus_server=debug`.
    pub log_level: Option<String>,
    /// Multiplies Lambda's asynchronous retry and backoff delays (0 < scale <= 1).
    pub async_retry_scale: Option<f64>,
    /// Where functions' managed AWS SDKs live (installed on first use), or `off`.
    pub lambda_sdk_dir: Option<String>,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
    }
}

/// Where state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    InMemory,
    Directory(PathBuf),
}

/// Validated settings for one `nimbus serve`.
#[derive(Debug)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub storage: Storage,
    pub hostname: Option<String>,
    pub region: String,
    pub account: String,
    pub auth: AuthMode,
    pub access_keys: Vec<(String, SecretKey)>,
    pub log_format: LogFormat,
    pub clock: ClockMode,
    pub log_level: String,
    pub async_retry_scale: f64,
    pub lambda_sdk: LambdaSdk,
}

/// Where functions find the managed AWS SDKs (boto3, the JavaScript SDK v3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LambdaSdk {
    /// `lambda/sdk` under the data directory (the run's own directory with `--in-memory`).
    Default,
    /// A directory of the user's: SDKs already there are used, missing ones installed.
    Dir(PathBuf),
    /// Functions get no managed SDK.
    Off,
}

impl LambdaSdk {
    fn parse(text: &str) -> LambdaSdk {
        if text == "off" {
            LambdaSdk::Off
        } else {
            LambdaSdk::Dir(PathBuf::from(text))
        }
    }
}

impl Settings {
    /// Layers flags, environment (`env`), the config file and the defaults.
    pub fn resolve(args: ServeArgs, env: &HashMap<String, String>) -> Result<Self> {
        let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
        let config_path = args
            .config
            .clone()
            .or_else(|| var("NIMBUS_CONFIG").map(PathBuf::from));
        let file = match &config_path {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };

        let host = args
            .host
            .or(var("NIMBUS_HOST"))
            .or(file.host)
            .unwrap_or(defaults::HOST.into());
        let port = match args.port {
            Some(port) => port,
            None => match parse_env::<u16>(env, "NIMBUS_PORT")? {
                Some(port) => port,
                None => file.port.unwrap_or(defaults::PORT),
            },
        };
        let in_memory = args.in_memory
            || parse_env::<bool>(env, "NIMBUS_IN_MEMORY")?
                .or(file.in_memory)
                .unwrap_or(false);
        let storage = if in_memory {
            Storage::InMemory
        } else {
            let dir = args
                .data_dir
                .or(var("NIMBUS_DATA_DIR").map(PathBuf::from))
                .or(file.data_dir)
                .or_else(|| default_data_dir(env));
            Storage::Directory(dir.context(
                "no data directory: set --data-dir (or HOME/XDG_DATA_HOME), or use --in-memory",
            )?)
        };
        let hostname = args.hostname.or(var("NIMBUS_HOSTNAME")).or(file.hostname);
        let region = args
            .region
            .or(var("NIMBUS_REGION"))
            .or(file.region)
            .unwrap_or(defaults::REGION.into());
        let account = args
            .account
            .or(var("NIMBUS_ACCOUNT"))
            .or(file.account)
            .unwrap_or(defaults::ACCOUNT.into());
        let auth = match args.auth {
            Some(mode) => mode,
            None => match var("NIMBUS_AUTH").or(file.auth) {
                Some(text) => text.parse().map_err(anyhow::Error::msg)?,
                None => AuthMode::default(),
            },
        };
        let access_keys = if !args.access_key.is_empty() {
            args.access_key
                .iter()
                .map(|pair| parse_access_key(pair))
                .collect::<Result<_>>()?
        } else if let Some(list) = var("NIMBUS_ACCESS_KEYS") {
            list.split(',')
                .map(parse_access_key)
                .collect::<Result<_>>()?
        } else {
            file.access_keys
                .unwrap_or_default()
                .into_iter()
                .map(|(id, secret)| (id, SecretKey::new(secret)))
                .collect()
        };
        let log_format = match args.log_format {
            Some(format) => format,
            None => match var("NIMBUS_LOG_FORMAT").or(file.log_format) {
                Some(text) => parse_named(&text, "log format")?,
                None => LogFormat::Text,
            },
        };
        let clock = match args.clock.map(ClockMode::from) {
            Some(mode) => mode,
            None => match var("NIMBUS_CLOCK").or(file.clock).as_deref() {
                None | Some("real") => ClockMode::Real,
                Some("test") => ClockMode::Test,
                Some(other) => bail!("unknown clock '{other}' (expected real or test)"),
            },
        };
        let log_level = args
            .log_level
            .or(var("NIMBUS_LOG_LEVEL"))
            .or(file.log_level)
            .unwrap_or(defaults::LOG_LEVEL.into());

        let async_retry_scale = match args.async_retry_scale {
            Some(scale) => scale,
            None => match parse_env::<f64>(env, "NIMBUS_ASYNC_RETRY_SCALE")? {
                Some(scale) => scale,
                None => file
                    .async_retry_scale
                    .unwrap_or(defaults::ASYNC_RETRY_SCALE),
            },
        };

        let lambda_sdk = args
            .lambda_sdk_dir
            .or(var("NIMBUS_LAMBDA_SDK_DIR"))
            .or(file.lambda_sdk_dir)
            .map_or(LambdaSdk::Default, |text| LambdaSdk::parse(&text));

        let settings = Settings {
            host,
            port,
            storage,
            hostname,
            region,
            account,
            auth,
            access_keys,
            log_format,
            clock,
            log_level,
            async_retry_scale,
            lambda_sdk,
        };
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<()> {
        if self.account.len() != 12 || !self.account.bytes().all(|b| b.is_ascii_digit()) {
            bail!("account must be 12 digits, not '{}'", self.account);
        }
        if self.region.is_empty()
            || !self
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            bail!("region must look like us-east-1, not '{}'", self.region);
        }
        if !(self.async_retry_scale > 0.0 && self.async_retry_scale <= 1.0) {
            bail!(
                "async retry scale must be above 0 and at most 1, not {}",
                self.async_retry_scale
            );
        }
        if self.auth == AuthMode::Strict && self.access_keys.is_empty() {
            bail!("auth strict needs at least one --access-key KEY:SECRET");
        }
        Ok(())
    }
}

fn parse_env<T: FromStr>(env: &HashMap<String, String>, name: &str) -> Result<Option<T>>
where
    T::Err: Display,
{
    match env.get(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{name}={text}: {e}")),
    }
}

fn parse_named<T: clap::ValueEnum>(text: &str, what: &str) -> Result<T> {
    T::from_str(text, true).map_err(|_| anyhow::anyhow!("unknown {what} '{text}'"))
}

fn parse_access_key(pair: &str) -> Result<(String, SecretKey)> {
    match pair.split_once(':') {
        Some((id, secret)) if !id.is_empty() && !secret.is_empty() => {
            Ok((id.to_owned(), SecretKey::new(secret)))
        }
        // The secret is not echoed back.
        _ => bail!("access keys are given as KEY:SECRET"),
    }
}

/// `$XDG_DATA_HOME/nimbus`, else `~/.local/share/nimbus`.
fn default_data_dir(env: &HashMap<String, String>) -> Option<PathBuf> {
    let xdg = env
        .get("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    xdg.or_else(|| {
        env.get("HOME")
            .map(|home| Path::new(home).join(".local/share"))
    })
    .map(|base| base.join("nimbus"))
}

#[cfg(test)]
mod tests;
