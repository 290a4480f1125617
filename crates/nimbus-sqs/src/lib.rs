//! Amazon SQS over the nimbus store.
//!
//! Operations are methods on [`Sqs`] that take and return domain values; `api` adapts them to
//! the generated wire shapes. Every write runs in the store's group commit, so an
//! acknowledged `SendMessage` is on disk before the caller hears back.

mod api;
mod attributes;
mod consume;
mod deliver;
mod errors;
mod md5;
mod message;
mod messages;
mod move_tasks;
mod queue;
mod queues;
mod receipt;
mod receive;
mod schema;
mod waiters;
mod workers;

use std::collections::HashMap;
use std::sync::Arc;

use nimbus_core::{Clock, RequestContext, ServiceError};
use nimbus_store::{DbError, ServiceStore, Store, TxError};
use parking_lot::RwLock;
use queue::{Queue, QueueKey};

pub use api::SqsService;
pub use consume::SqsQueueConsumer;
pub use deliver::SqsQueueSender;
pub use message::{AttributeValue, Attributes};
pub use messages::{NewMessage, SentMessage};
pub use move_tasks::MoveTaskSummary;
pub use receive::{ReceiveOptions, ReceivedMessage};

/// The SQS service.
pub struct Sqs {
    db: ServiceStore<ServiceError>,
    clock: Clock,
    waiters: waiters::Waiters,
    /// Queue metadata by key, so message operations skip a lookup. Every change to a queue
    /// forgets its entry after committing; like SQS itself, a concurrent send may still see
    /// the attributes of a moment ago.
    queues: RwLock<HashMap<QueueKey, Arc<Queue>>>,
    /// The server's shutdown signal, once workers are started; move tasks stop on it.
    shutdown: std::sync::OnceLock<tokio::sync::watch::Receiver<bool>>,
}

impl Sqs {
    /// Prepares the SQS tables and returns the service.
    pub async fn open(store: Store, clock: Clock) -> Result<Arc<Sqs>, DbError> {
        store.migrate("sqs", schema::MIGRATIONS).await?;
        Ok(Arc::new(Sqs {
            db: ServiceStore::new(store, errors::internal),
            clock,
            waiters: waiters::Waiters::default(),
            queues: RwLock::default(),
            shutdown: std::sync::OnceLock::new(),
        }))
    }

    /// The queue a URL names, from the cache or the store.
    fn queue_by_url(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
    ) -> Result<Arc<Queue>, ServiceError> {
        let key = queue::key_from_url(ctx, queue_url)?;
        self.queue_by_key(key)
    }

    /// The queue a key names, from the cache or the store.
    fn queue_by_key(&self, key: QueueKey) -> Result<Arc<Queue>, ServiceError> {
        if let Some(queue) = self.queues.read().get(&key) {
            return Ok(Arc::clone(queue));
        }
        let queue = Arc::new(
            self.db
                .read(|tx| queue::load(tx, &key))?
                .ok_or_else(errors::queue_does_not_exist)?,
        );
        self.queues.write().insert(key, Arc::clone(&queue));
        Ok(queue)
    }

    /// Drops a queue's cached metadata after it changed.
    fn forget_queue(&self, key: &QueueKey) {
        self.queues.write().remove(key);
    }

    /// Drops a cached queue the store no longer has.
    fn forget_if_gone(&self, queue_url: &str, ctx: &RequestContext, err: &ServiceError) {
        if err.code == "QueueDoesNotExist"
            && let Ok(key) = queue::key_from_url(ctx, queue_url)
        {
            self.forget_queue(&key);
        }
    }

    /// Deletes every queue and message of every account and region.
    pub async fn reset(&self) -> Result<(), ServiceError> {
        self.db.clear_tables(schema::TABLES).await?;
        self.queues.write().clear();
        self.waiters.wake_all();
        Ok(())
    }
}

/// Turns a failed domain check inside a transaction into an abort.
fn abort<T>(err: ServiceError) -> Result<T, TxError<ServiceError>> {
    Err(TxError::Abort(err))
}
