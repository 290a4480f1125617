//! A function made ready to run: code unpacked, launcher chosen, environment built. Cached
//! until the function changes, so warm invokes do no file or store work.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_runtime::{
    LaunchError, LaunchSpec, Launcher, LogFormat, LogSink, PythonAbi, RuntimeFamily, SdkKind,
    SystemLogLevel, find_foreign_module, resolve_launcher,
};

use crate::code;
use crate::logsink::LogTarget;
use crate::record::FunctionRecord;
use crate::versions::Version;
use crate::{Lambda, errors};

pub(crate) struct Deployed {
    pub record: FunctionRecord,
    pub version: Version,
    /// The executor's pool key: the version key and the version's revision.
    pub pool_key: String,
    pub launch: Result<LaunchSpec, LaunchError>,
    pub sink: Arc<dyn LogSink>,
}

/// What `launch_spec` builds on: the unpacked code and layers, the chosen program and the
/// managed SDK's search path (or why there is none).
struct Prepared<'a> {
    task_root: PathBuf,
    layers: &'a [PathBuf],
    launcher: Launcher,
    sdk: Option<Result<PathBuf, String>>,
}

/// Environment names a function's own variables may not replace.
const RESERVED: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Whether a function variable name is reserved by the runtime.
pub(crate) fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name)
}

/// The search paths AWS's runtimes give `/opt`, for each layer directory in order, then the
/// managed SDK's (after the code and layers, so that a bundled copy wins as on AWS).
fn layer_paths(runtime: &str, layers: &[PathBuf], sdk: Option<&Path>) -> Vec<(String, String)> {
    let join = |paths: Vec<PathBuf>, tail: Option<String>| {
        let mut parts: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        parts.extend(tail);
        parts.join(":")
    };
    let python_version = runtime.trim_start_matches("python");
    let node_major = runtime.trim_start_matches("nodejs").trim_end_matches(".x");
    let mut python = Vec::new();
    let mut node = Vec::new();
    let mut bins = Vec::new();
    let mut libs = Vec::new();
    for dir in layers {
        python.push(dir.join("python"));
        python.push(dir.join(format!("python/lib/python{python_version}/site-packages")));
        node.push(dir.join("nodejs/node_modules"));
        node.push(dir.join(format!("nodejs/node{node_major}/node_modules")));
        bins.push(dir.join("bin"));
        libs.push(dir.join("lib"));
    }
    let mut paths = Vec::new();
    if let Some(sdk) = sdk {
        let search = if runtime.starts_with("python") {
            &mut python
        } else {
            &mut node
        };
        search.push(sdk.to_path_buf());
    }
    if !python.is_empty() {
        paths.push(("PYTHONPATH".into(), join(python, None)));
    }
    if !node.is_empty() {
        paths.push(("NODE_PATH".into(), join(node, None)));
    }
    if !layers.is_empty() {
        paths.push(("PATH".into(), join(bins, std::env::var("PATH").ok())));
        paths.push(("LD_LIBRARY_PATH".into(), join(libs, None)));
    }
    paths
}

/// The managed SDK a function of this runtime gets, if any.
fn sdk_kind(runtime: &str, launcher: &Launcher) -> Option<SdkKind> {
    match RuntimeFamily::of(runtime)? {
        RuntimeFamily::Python => {
            let abi = PythonAbi::from_version(launcher.version.as_deref()?)?;
            Some(SdkKind::Python {
                minor_version: format!("{}.{}", abi.major, abi.minor),
                interpreter: launcher.program.clone(),
            })
        }
        RuntimeFamily::Node => Some(SdkKind::Node),
        RuntimeFamily::Provided => None,
    }
}

/// Refuses a Python package whose compiled modules the interpreter cannot load (another
/// CPython version, machine or C library), naming the file instead of a bare import error.
fn check_native_modules(
    runtime: &str,
    roots: &[PathBuf],
    handler_module: String,
    launcher: &Launcher,
) -> Result<(), LaunchError> {
    if RuntimeFamily::of(runtime) != Some(RuntimeFamily::Python) {
        return Ok(());
    }
    let Some(interpreter) = launcher.version.clone() else {
        return Ok(());
    };
    let Some(abi) = PythonAbi::from_version(&interpreter) else {
        return Ok(());
    };
    match find_foreign_module(roots, abi) {
        Some(module) => Err(LaunchError::ForeignModule {
            handler_module,
            module,
            interpreter,
        }),
        None => Ok(()),
    }
}

impl Lambda {
    /// Where a function's code with this `CodeSha256` is unpacked.
    pub(crate) fn code_dir(&self, ctx: &RequestContext, name: &str, code_sha256: &str) -> PathBuf {
        self.unpacked_dir("code", ctx, name, code_sha256)
    }

    /// Where content of one kind (`code`, `layers`) with this `CodeSha256` is unpacked: one
    /// directory per digest, so equal content is shared and changed content never stale.
    pub(crate) fn unpacked_dir(
        &self,
        kind: &str,
        ctx: &RequestContext,
        name: &str,
        code_sha256: &str,
    ) -> PathBuf {
        self.config
            .work_dir
            .join(kind)
            .join(&ctx.account_id)
            .join(&ctx.region)
            .join(name)
            .join(code::digest_dir_name(code_sha256))
    }

    /// A function version ready to invoke, from the cache or prepared now. Versions with the
    /// same code share its unpacked directory.
    pub(crate) async fn deployed(
        &self,
        ctx: &RequestContext,
        name: &str,
        version: Version,
    ) -> Result<Arc<Deployed>, ServiceError> {
        let key = Self::version_key(ctx, name, version);
        if let Some(deployed) = self.deployed.read().get(&key) {
            return Ok(Arc::clone(deployed));
        }
        let record = match version {
            Version::Latest => self.get_function(ctx, name)?.record,
            Version::Published(n) => {
                let mut record = self.get_version(ctx, name, n)?;
                // Reserved concurrency belongs to the function, not to a version.
                record.reserved_concurrency =
                    self.get_function(ctx, name)?.record.reserved_concurrency;
                record
            }
        };
        // Code is unpacked when it arrives; the zip is read again only when its directory
        // is gone (a new data directory's first start, or an unpack that failed).
        let dir = self.code_dir(ctx, name, &record.code_sha256);
        if !dir.is_dir() {
            let zip = self.version_code_zip(ctx, name, version)?;
            code::unpack_off_runtime(zip, dir.clone())
                .await
                .map_err(|_| errors::bad_zip())?;
        }
        let layers = self.unpack_layers(ctx, &record.layers).await?;
        let launcher = self.launcher(&record, &dir, &layers).await?;
        let sdk = match (&launcher, &self.sdks) {
            (Ok(launcher), Some(sdks)) => match sdk_kind(&record.runtime, launcher) {
                Some(kind) => Some(sdks.search_path(&kind).await),
                None => None,
            },
            _ => None,
        };
        let launch = launcher.map(|launcher| {
            let prepared = Prepared {
                task_root: dir,
                layers: &layers,
                launcher,
                sdk,
            };
            self.launch_spec(ctx, &record, version, prepared)
        });
        let sink: Arc<dyn LogSink> = Arc::new(self.logs.sink(LogTarget {
            account: ctx.account_id.clone(),
            region: ctx.region.clone(),
            group: record.log_group(),
        }));
        let deployed = Arc::new(Deployed {
            version,
            pool_key: format!("{key}{}", record.revision_id),
            record,
            launch,
            sink,
        });
        self.deployed.write().insert(key, Arc::clone(&deployed));
        Ok(deployed)
    }

    /// Chooses the program that starts instances. Off the async runtime: the first use of an
    /// interpreter runs it once to learn its version and location.
    async fn launcher(
        &self,
        record: &FunctionRecord,
        task_root: &Path,
        layers: &[PathBuf],
    ) -> Result<Result<Launcher, LaunchError>, ServiceError> {
        let client = RuntimeFamily::of(&record.runtime).and_then(|f| self.executor.client_path(f));
        // A `provided` function's bootstrap may come from a layer, as `/opt/bootstrap` does.
        let bootstrap_dir = if task_root.join("bootstrap").is_file() {
            task_root.to_path_buf()
        } else {
            layers
                .iter()
                .find(|dir| dir.join("bootstrap").is_file())
                .cloned()
                .unwrap_or_else(|| task_root.to_path_buf())
        };
        let runtime = record.runtime.clone();
        let handler_module = record
            .handler
            .as_deref()
            .and_then(|h| h.rsplit_once('.'))
            .map(|(module, _)| module.to_owned())
            .unwrap_or_default();
        let mut roots = vec![task_root.to_path_buf()];
        roots.extend(layers.iter().cloned());
        tokio::task::spawn_blocking(move || {
            let launcher = resolve_launcher(&runtime, &bootstrap_dir, client.as_deref())?;
            check_native_modules(&runtime, &roots, handler_module, &launcher)?;
            Ok(launcher)
        })
        .await
        .map_err(|_| nimbus_model::lambda::errors::service_exception("An internal error occurred."))
    }

    fn launch_spec(
        &self,
        ctx: &RequestContext,
        record: &FunctionRecord,
        version: Version,
        prepared: Prepared<'_>,
    ) -> LaunchSpec {
        let Prepared {
            task_root,
            layers,
            launcher,
            sdk,
        } = prepared;
        let (sdk_path, sdk_warning) = match sdk {
            Some(Ok(path)) => (Some(path), None),
            Some(Err(reason)) => (
                None,
                Some(format!(
                    "WARNING nimbus: the managed AWS SDK is not available to this function: {reason}"
                )),
            ),
            None => (None, None),
        };
        let start_warning = match (launcher.warning, sdk_warning) {
            (Some(a), Some(b)) => Some(format!("{a}\n{b}")),
            (a, b) => a.or(b),
        };
        let client = RuntimeFamily::of(&record.runtime).and_then(|f| self.executor.client_path(f));
        let root = task_root.display().to_string();
        let mut env: Vec<(String, String)> = record
            .environment
            .iter()
            .filter(|(k, _)| !is_reserved(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let endpoint = self
            .endpoint
            .get()
            .cloned()
            .unwrap_or_else(|| ctx.base_url.clone());
        let fixed = [
            ("_HANDLER", record.handler.clone().unwrap_or_default()),
            ("LAMBDA_TASK_ROOT", root.clone()),
            (
                "LAMBDA_RUNTIME_DIR",
                client
                    .and_then(|c| c.parent().map(|p| p.display().to_string()))
                    .unwrap_or_default(),
            ),
            ("AWS_REGION", ctx.region.clone()),
            ("AWS_DEFAULT_REGION", ctx.region.clone()),
            (
                "AWS_EXECUTION_ENV",
                format!("AWS_Lambda_{}", record.runtime),
            ),
            ("AWS_LAMBDA_FUNCTION_NAME", record.name.clone()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                record.memory_mb.to_string(),
            ),
            ("AWS_LAMBDA_FUNCTION_VERSION", version.label()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", record.log_group()),
            // A 12-digit key id is read as the account: calls back into nimbus land in the
            // function's own account.
            ("AWS_ACCESS_KEY_ID", ctx.account_id.clone()),
            ("AWS_ACCESS_KEY", ctx.account_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_SESSION_TOKEN", "test".to_owned()),
            ("AWS_ENDPOINT_URL", endpoint),
            ("TZ", ":UTC".to_owned()),
            ("LANG", "en_US.UTF-8".to_owned()),
            ("PYTHONUNBUFFERED", "1".to_owned()),
            ("PYTHONDONTWRITEBYTECODE", "1".to_owned()),
        ];
        for (k, v) in fixed {
            env.push((k.to_owned(), v));
        }
        env.extend(layer_paths(&record.runtime, layers, sdk_path.as_deref()));
        let log_format = if record.log_format == "JSON" {
            // The bundled clients read these; so do AWS's own runtime clients.
            env.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
            env.push((
                "AWS_LAMBDA_LOG_LEVEL".into(),
                record
                    .application_log_level
                    .clone()
                    .unwrap_or_else(|| "INFO".into()),
            ));
            LogFormat::Json(
                record
                    .system_log_level
                    .as_deref()
                    .and_then(SystemLogLevel::parse)
                    .unwrap_or(SystemLogLevel::Info),
            )
        } else {
            LogFormat::Text
        };
        LaunchSpec {
            program: launcher.program,
            args: launcher.args,
            env,
            task_root,
            scratch_root: self.executor.scratch_root(),
            version: version.label(),
            memory_mb: record.memory_mb,
            timeout: Duration::from_secs(u64::from(record.timeout_secs)),
            start_warning,
            log_format,
        }
    }
}
