//! The composition root: opens the store, builds the services, starts their workers, and
//! closes everything in order on shutdown. The only place that knows every crate.

use std::sync::Arc;

use anyhow::Result;
use nimbus_core::{Clock, Service};
use nimbus_model::ServiceModel;
use nimbus_server::ServerMetrics;
use tokio::sync::watch;

use crate::settings::{Settings, Storage};

/// The running services and what must be closed after the server drains.
pub struct Composition {
    pub services: Vec<(Arc<dyn Service>, &'static ServiceModel)>,
}

/// Builds every service. `shutdown` is the same signal the server stops on, for workers
/// (long polls, sweeps) to stop with.
pub async fn compose(
    settings: &Settings,
    clock: &Clock,
    metrics: &ServerMetrics,
    shutdown: watch::Receiver<bool>,
) -> Result<Composition> {
    let services: Vec<(Arc<dyn Service>, &'static ServiceModel)> = Vec::new();
    let database = match &settings.storage {
        Storage::InMemory => None,
        Storage::Directory(dir) => Some(dir.join("nimbus.db")),
    };
    tracing::info!(?database, clock = ?clock.mode(), "composing services");

    // ---- STORE AND SERVICE WIRING (lands with nimbus-store and nimbus-sqs) ----
    // let store = nimbus_store::Store::open(nimbus_store::StoreConfig {
    //     path: database,
    //     commit_observer: Some(metrics.commit_observer()),
    //     ..Default::default()
    // })
    // .await?;
    // let sqs = Arc::new(nimbus_sqs::Sqs::open(store.clone(), clock.clone()).await?);
    // sqs.spawn_workers(shutdown.clone());
    // services.push((sqs, &nimbus_model::SQS));
    // ...and keep `store` in the Composition so `close` can call `store.close().await`.
    // ---------------------------------------------------------------------------
    let _ = (metrics, shutdown);

    Ok(Composition { services })
}

impl Composition {
    /// Runs after the server has drained: workers have seen the shutdown signal, so the
    /// store can flush its last group commit and close.
    pub async fn close(self) {
        // self.store.close().await;
        tracing::info!("services closed");
    }
}
