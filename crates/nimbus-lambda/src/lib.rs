//! AWS Lambda over the nimbus store.
//!
//! Functions are stored with their zip (so they survive restarts); code is unpacked per
//! digest under the code directory and run by `nimbus-runtime`. [`Lambda`] holds the domain
//! operations, `api` adapts them to the generated wire shapes, and [`LambdaInvoker`] is the
//! cross-service [`FunctionInvoker`](nimbus_core::effects::FunctionInvoker).

mod aliases;
mod api;
mod async_api;
mod async_config;
mod code;
mod code_download;
mod concurrency;
mod deploy;
mod destinations;
mod errors;
mod esm;
mod event_admission;
mod event_queue;
mod functions;
mod invoke;
mod layers;
mod layers_api;
mod logging_config;
mod logsink;
mod policy;
mod provisioned;
mod provisioned_api;
mod read_cache;
mod record;
mod schema;
mod settings;
mod url_api;
mod url_configs;
mod urls;
mod versions;
mod versions_api;
mod wire_shapes;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use nimbus_core::effects::{LogWriter, QueueConsumer, StreamReader};
use nimbus_core::{Clock, RequestContext, ServiceError};
use nimbus_runtime::{Executor, ExecutorConfig};
use nimbus_store::{DbError, ServiceStore, Store};
use parking_lot::RwLock;
use tokio::sync::watch;

pub use aliases::{AliasChange, AliasRecord};
pub use api::LambdaService;
pub use code_download::CODE_PATH;
pub use functions::StoredFunction;
pub use invoke::{InvokeMode, InvokeOutput, InvokeRequest, LambdaInvoker};
pub use record::{FunctionRecord, UrlConfig};
pub use urls::LambdaUrls;
pub use versions::{PublishRequest, PublishedVersion, Version};

/// Where Lambda keeps code and how it runs it.
#[derive(Debug, Clone)]
pub struct LambdaConfig {
    /// Unpacked code and instance scratch directories.
    pub work_dir: PathBuf,
    /// Concurrent executions across all functions (AWS's default account limit is 1000).
    pub account_concurrency: usize,
    /// How long an unused instance stays warm.
    pub idle_timeout: Duration,
    /// Multiplies the asynchronous retry and backoff delays (1.0 is AWS's schedule; tests
    /// shorten it).
    pub async_retry_scale: f64,
    /// Where the managed AWS SDKs (boto3, the JavaScript SDK v3) are kept and installed on
    /// first use; `None` leaves functions without them.
    pub sdk_dir: Option<PathBuf>,
}

/// Throttled invocations of one function since start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleCount {
    pub account: String,
    pub region: String,
    pub function: String,
    pub count: u64,
}

/// The Lambda service.
pub struct Lambda {
    db: ServiceStore<ServiceError>,
    clock: Clock,
    config: LambdaConfig,
    executor: Arc<Executor>,
    /// Function versions ready to invoke, by `account/region/name/version/`; dropped whenever
    /// the version changes, so an invoke never reads the store.
    deployed: RwLock<HashMap<String, Arc<deploy::Deployed>>>,
    /// Aliases that invocations went through, by `account/region/name/alias`.
    aliases: read_cache::ReadCache<aliases::AliasRecord>,
    /// Functions' stored settings, by `account/region/name/`, for the reads every invocation
    /// makes (reserved concurrency, URL configuration).
    functions: read_cache::ReadCache<functions::StoredFunction>,
    /// Whose function URL an id is, by id.
    url_owners: read_cache::ReadCache<url_configs::UrlOwner>,
    logs: logsink::LogForwarder,
    /// `http://host:port` of nimbus itself, for `AWS_ENDPOINT_URL` inside functions; known
    /// once the server has bound its port.
    endpoint: OnceLock<String>,
    events: event_queue::EventQueue,
    event_sources: esm::EventSources,
    /// Asynchronous invocation settings by `account/region/name/qualifier`; `None` caches
    /// "not configured". Cleared whenever one changes.
    async_configs: RwLock<HashMap<String, Option<Arc<async_config::EventInvokeConfig>>>>,
    destinations: destinations::Destinations,
    throttles: parking_lot::Mutex<HashMap<(String, String, String), u64>>,
    /// The unreserved concurrency of each `account/region/`, cleared when a reservation
    /// changes.
    unreserved_pools: RwLock<HashMap<String, usize>>,
    /// Makes changes to provisioned instances one at a time.
    provisioning: tokio::sync::Mutex<()>,
    sdks: Option<nimbus_runtime::ManagedSdks>,
}

impl Lambda {
    /// Prepares the tables and the executor. `log_writer` receives function output.
    pub async fn open(
        store: Store,
        clock: Clock,
        config: LambdaConfig,
        log_writer: Option<Arc<dyn LogWriter>>,
    ) -> Result<Arc<Lambda>, OpenError> {
        store
            .migrate("lambda", schema::MIGRATIONS)
            .await
            .map_err(OpenError::Store)?;
        let executor = Executor::new(ExecutorConfig {
            account_concurrency: config.account_concurrency,
            idle_timeout: config.idle_timeout,
            work_dir: config.work_dir.clone(),
        })
        .map_err(|e| OpenError::WorkDir(config.work_dir.clone(), e))?;
        // Learn the host's interpreters before the first function needs them.
        tokio::task::spawn_blocking(nimbus_runtime::warm_interpreter_cache);
        let sdks = config.sdk_dir.clone().map(nimbus_runtime::ManagedSdks::new);
        Ok(Arc::new(Lambda {
            db: ServiceStore::new(store, errors::internal),
            clock,
            config,
            executor,
            deployed: RwLock::default(),
            aliases: read_cache::ReadCache::default(),
            functions: read_cache::ReadCache::default(),
            url_owners: read_cache::ReadCache::default(),
            logs: logsink::LogForwarder::start(log_writer),
            endpoint: OnceLock::new(),
            events: event_queue::EventQueue::default(),
            event_sources: esm::EventSources::default(),
            async_configs: RwLock::default(),
            destinations: destinations::Destinations::default(),
            throttles: parking_lot::Mutex::default(),
            unreserved_pools: RwLock::default(),
            provisioning: tokio::sync::Mutex::default(),
            sdks,
        }))
    }

    /// Tells functions where nimbus listens (`AWS_ENDPOINT_URL`), then starts the instances
    /// of stored provisioned concurrency configurations (they need that address).
    pub fn set_endpoint(self: &Arc<Self>, url: &str) {
        let _ = self.endpoint.set(url.to_owned());
        let lambda = Arc::clone(self);
        let url = url.to_owned();
        tokio::spawn(async move { lambda.restore_provisioned(&url).await });
    }

    /// Gives event source mappings the queues they read. Call before `spawn_workers`.
    pub fn connect_queues(&self, queues: Arc<dyn QueueConsumer>) {
        let _ = self.event_sources.queues.set(queues);
    }

    /// Gives event source mappings the table streams they read. Call before `spawn_workers`.
    pub fn connect_streams(&self, streams: Arc<dyn StreamReader>) {
        let _ = self.event_sources.streams.set(streams);
    }

    /// Starts the event queue worker, the event source mapping pollers, and the reaper of
    /// idle instances (which stops all instances on shutdown).
    pub fn spawn_workers(self: &Arc<Self>, shutdown: watch::Receiver<bool>) {
        self.spawn_event_worker(shutdown.clone());
        self.spawn_mapping_supervisor(shutdown.clone());
        self.executor.spawn_reaper(shutdown);
    }

    fn count_throttle(&self, ctx: &RequestContext, name: &str) {
        let key = (ctx.account_id.clone(), ctx.region.clone(), name.to_owned());
        *self.throttles.lock().entry(key).or_default() += 1;
    }

    /// Throttled invocations per function since the server started.
    pub fn throttle_counts(&self) -> Vec<ThrottleCount> {
        let mut counts: Vec<ThrottleCount> = self
            .throttles
            .lock()
            .iter()
            .map(|((account, region, function), count)| ThrottleCount {
                account: account.clone(),
                region: region.clone(),
                function: function.clone(),
                count: *count,
            })
            .collect();
        counts.sort_by(|a, b| {
            (&a.account, &a.region, &a.function).cmp(&(&b.account, &b.region, &b.function))
        });
        counts
    }

    fn function_key(ctx: &RequestContext, name: &str) -> String {
        format!("{}/{}/{name}/", ctx.account_id, ctx.region)
    }

    fn version_key(ctx: &RequestContext, name: &str, version: Version) -> String {
        format!("{}{}/", Self::function_key(ctx, name), version.label())
    }

    /// Drops what is cached about `$LATEST` and its warm instances (published versions
    /// never change).
    fn forget(&self, ctx: &RequestContext, name: &str) {
        self.functions.forget(&Self::function_key(ctx, name));
        self.forget_version(ctx, name, Version::Latest);
    }

    fn forget_version(&self, ctx: &RequestContext, name: &str, version: Version) {
        let key = Self::version_key(ctx, name, version);
        self.deployed.write().remove(&key);
        self.executor.retire(&key);
    }

    /// Drops what is cached about every version and alias of a function.
    fn forget_function(&self, ctx: &RequestContext, name: &str) {
        let prefix = Self::function_key(ctx, name);
        self.functions.forget(&prefix);
        self.deployed.write().retain(|k, _| !k.starts_with(&prefix));
        self.unreserved_pools.write().remove(&Self::scope_key(ctx));
        self.drop_cached_alias(&prefix);
        self.executor.retire(&prefix);
    }

    /// Deletes every function of every account and region and stops all instances.
    pub async fn reset(&self) -> Result<(), ServiceError> {
        self.db.clear_tables(schema::TABLES).await?;
        self.deployed.write().clear();
        self.async_configs.write().clear();
        self.unreserved_pools.write().clear();
        self.functions.forget("");
        self.url_owners.forget("");
        self.drop_cached_alias("");
        self.event_sources.changed.notify_one();
        self.executor.stop_all();
        Ok(())
    }
}

/// Why the service could not start.
#[derive(Debug)]
pub enum OpenError {
    Store(DbError),
    WorkDir(PathBuf, std::io::Error),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Store(err) => write!(f, "preparing the lambda tables: {err}"),
            OpenError::WorkDir(dir, err) => write!(f, "preparing {}: {err}", dir.display()),
        }
    }
}

impl std::error::Error for OpenError {}
