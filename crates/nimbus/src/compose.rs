//! The composition root: opens the store, builds the services, starts their workers, and
//! closes everything in order on shutdown. The only place that knows every crate.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use nimbus_core::effects::{FunctionInvoker, FunctionUrlHandler};
use nimbus_core::{Clock, Service};
use nimbus_lambda::{Lambda, LambdaConfig, LambdaInvoker, LambdaService, LambdaUrls};
use nimbus_logs::{Logs, LogsService, LogsWriter};
use nimbus_model::ServiceModel;
use nimbus_model::lambda::LambdaHandler;
use nimbus_model::logs::LogsHandler;
use nimbus_model::sqs::SqsHandler;
use nimbus_server::{CommitObserver, ServerMetrics};
use nimbus_sqs::{Sqs, SqsService};
use nimbus_store::{Store, StoreConfig, StoreObserver};
use tokio::sync::watch;

use crate::settings::{Settings, Storage};

/// The running services and what must be closed after the server drains.
pub struct Composition {
    pub services: Vec<(Arc<dyn Service>, &'static ServiceModel)>,
    /// Invokes functions for other services (SNS, EventBridge, …) without loopback HTTP.
    #[expect(
        dead_code,
        reason = "SNS and EventBridge deliveries are wired to it as they land"
    )]
    pub function_invoker: Arc<dyn FunctionInvoker>,
    /// Serves function URL traffic at the edge.
    pub function_urls: Arc<dyn FunctionUrlHandler>,
    lambda: Arc<Lambda>,
    store: Store,
    /// A directory made for this run only (`--in-memory`), removed on close.
    scratch: Option<PathBuf>,
}

/// How long an unused function instance stays warm.
const FUNCTION_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// AWS's default account concurrency.
const ACCOUNT_CONCURRENCY: usize = 1000;

/// Feeds the store's group commits into the server's metrics.
struct CommitMetrics(Arc<dyn CommitObserver>);

impl StoreObserver for CommitMetrics {
    fn record_commit(&self, batch_size: usize, seconds: f64) {
        self.0.record_commit(batch_size, seconds);
    }
}

/// Builds every service. `shutdown` is the same signal the server stops on, for workers
/// (long polls, sweeps) to stop with.
pub async fn compose(
    settings: &Settings,
    clock: &Clock,
    metrics: &ServerMetrics,
    shutdown: watch::Receiver<bool>,
) -> Result<Composition> {
    let database = match &settings.storage {
        Storage::InMemory => None,
        Storage::Directory(dir) => Some(dir.join("nimbus.sqlite")),
    };
    tracing::info!(?database, clock = ?clock.mode(), "opening the store");
    let observer = Arc::new(CommitMetrics(metrics.commit_observer()));
    let store = Store::open_observed(StoreConfig { path: database }, observer).await?;

    let sqs = Sqs::open(store.clone(), clock.clone()).await?;
    sqs.spawn_workers(shutdown.clone());

    // Function code and instance scratch space live beside the database, or in a directory
    // of this run's own when nothing is kept.
    let (lambda_dir, scratch) = match &settings.storage {
        Storage::Directory(dir) => (dir.join("lambda"), None),
        Storage::InMemory => {
            let dir = std::env::temp_dir().join(format!(
                "nimbus-{}-{}",
                std::process::id(),
                nimbus_core::ids::uuid()
            ));
            (dir.clone(), Some(dir))
        }
    };
    let lambda_config = LambdaConfig {
        work_dir: lambda_dir,
        account_concurrency: ACCOUNT_CONCURRENCY,
        idle_timeout: FUNCTION_IDLE_TIMEOUT,
    };
    let logs = Logs::open(store.clone(), clock.clone()).await?;
    logs.spawn_workers(shutdown.clone());
    let log_writer = Arc::new(LogsWriter(Arc::clone(&logs)));
    let lambda = Lambda::open(
        store.clone(),
        clock.clone(),
        lambda_config,
        Some(log_writer),
    )
    .await?;
    lambda.spawn_workers(shutdown.clone());
    let function_invoker: Arc<dyn FunctionInvoker> = Arc::new(LambdaInvoker(Arc::clone(&lambda)));

    let services: Vec<(Arc<dyn Service>, &'static ServiceModel)> = vec![
        (
            Arc::new(SqsHandler::new(SqsService(sqs))),
            &nimbus_model::sqs::SERVICE,
        ),
        (
            Arc::new(LambdaHandler::new(LambdaService(Arc::clone(&lambda)))),
            &nimbus_model::lambda::SERVICE,
        ),
        (
            Arc::new(LogsHandler::new(LogsService(logs))),
            &nimbus_model::logs::SERVICE,
        ),
    ];

    let function_urls: Arc<dyn FunctionUrlHandler> = Arc::new(LambdaUrls(Arc::clone(&lambda)));
    Ok(Composition {
        services,
        function_invoker,
        function_urls,
        lambda,
        store,
        scratch,
    })
}

impl Composition {
    /// Tells the services that hand out nimbus's own address (functions' `AWS_ENDPOINT_URL`)
    /// where the server listens.
    pub fn set_endpoint(&self, url: &str) {
        self.lambda.set_endpoint(url);
    }

    /// Runs after the server has drained: workers have seen the shutdown signal, so the
    /// store can flush its last group commit and close.
    pub async fn close(self) {
        self.store.close().await;
        tracing::info!("store closed");
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
