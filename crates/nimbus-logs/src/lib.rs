//! Amazon CloudWatch Logs over the nimbus store: log groups, streams, events, retention,
//! tags, and the filter patterns FilterLogEvents takes. [`Logs`] is also the
//! [`LogWriter`](nimbus_core::effects::LogWriter) function output goes through.

mod api;
mod errors;
mod events;
mod groups;
mod pattern;
mod schema;

use std::sync::Arc;

use nimbus_core::effects::{LogEvent, LogWriter};
use nimbus_core::{BoxFuture, Clock, ServiceError};
use nimbus_store::{DbError, ServiceStore, Store};
use tokio::sync::watch;

pub use api::LogsService;
pub use events::{EventPage, FilterQuery, FilteredEvent, StoredEvent, StreamRead};
pub use groups::{GroupInfo, StreamInfo, StreamQuery};
pub use pattern::Pattern;

/// Who owns a log group: account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

/// The CloudWatch Logs service.
pub struct Logs {
    db: ServiceStore<ServiceError>,
    clock: Clock,
}

impl Logs {
    /// Prepares the tables and returns the service.
    pub async fn open(store: Store, clock: Clock) -> Result<Arc<Logs>, DbError> {
        store.migrate("logs", schema::MIGRATIONS).await?;
        Ok(Arc::new(Logs {
            db: ServiceStore::new(store, errors::internal),
            clock,
        }))
    }

    /// Deletes events older than their group's retention, once a minute, until shutdown.
    pub fn spawn_workers(self: &Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let logs = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(err) = logs.expire_events().await {
                            tracing::warn!(%err, "log retention sweep failed");
                        }
                    }
                    _ = shutdown.changed() => {
                        if *shutdown.borrow() {
                            break;
                        }
                    }
                }
            }
        });
    }

    /// Deletes every group, stream and event of every account and region.
    pub async fn reset(&self) -> Result<(), ServiceError> {
        self.db.clear_tables(schema::TABLES).await
    }
}

/// The writer other services use (Lambda function output).
#[derive(Clone)]
pub struct LogsWriter(pub Arc<Logs>);

impl LogWriter for LogsWriter {
    fn append_log_events<'a>(
        &'a self,
        account_id: &'a str,
        region: &'a str,
        group: &'a str,
        stream: &'a str,
        events: Vec<LogEvent>,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        Box::pin(async move {
            let scope = Scope {
                account: account_id.to_owned(),
                region: region.to_owned(),
            };
            self.0.append(&scope, group, stream, events).await
        })
    }
}
