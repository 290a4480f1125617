//! The composition root: opens the store, builds the services, starts their workers, and
//! closes everything in order on shutdown. The only place that knows every crate.

use std::sync::Arc;

use anyhow::Result;
use nimbus_core::{Clock, CredentialLookup, Service};
use nimbus_iam::{Iam, IamService, StsService};
use nimbus_model::ServiceModel;
use nimbus_model::iam::IamHandler;
use nimbus_model::sqs::SqsHandler;
use nimbus_model::sts::StsHandler;
use nimbus_server::{CommitObserver, ServerMetrics};
use nimbus_sqs::{Sqs, SqsService};
use nimbus_store::{Store, StoreConfig, StoreObserver};
use tokio::sync::watch;

use crate::settings::{Settings, Storage};

/// The running services and what must be closed after the server drains.
pub struct Composition {
    pub services: Vec<(Arc<dyn Service>, &'static ServiceModel)>,
    /// Temporary credentials STS issued, for the edge's signature check.
    pub issued_credentials: Arc<dyn CredentialLookup>,
    store: Store,
}

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
    let iam = Iam::open(store.clone(), clock.clone(), &settings.account).await?;
    let services: Vec<(Arc<dyn Service>, &'static ServiceModel)> = vec![
        (
            Arc::new(SqsHandler::new(SqsService(sqs))),
            &nimbus_model::sqs::SERVICE,
        ),
        (
            Arc::new(StsHandler::new(StsService(Arc::clone(&iam)))),
            &nimbus_model::sts::SERVICE,
        ),
        (
            Arc::new(IamHandler::new(IamService(Arc::clone(&iam)))),
            &nimbus_model::iam::SERVICE,
        ),
    ];

    Ok(Composition {
        services,
        issued_credentials: iam,
        store,
    })
}

impl Composition {
    /// Runs after the server has drained: workers have seen the shutdown signal, so the
    /// store can flush its last group commit and close.
    pub async fn close(self) {
        self.store.close().await;
        tracing::info!("store closed");
    }
}
