//! Amazon SQS over the nimbus store.
//!
//! Operations are methods on [`Sqs`] that take and return domain values; `api` adapts them to
//! the generated wire shapes. Every write runs in the store's group commit, so an
//! acknowledged `SendMessage` is on disk before the caller hears back.

mod api;
mod attributes;
mod errors;
mod md5;
mod message;
mod messages;
mod move_tasks;
mod queue;
mod queues;
mod schema;
mod waiters;
mod workers;

use std::sync::Arc;

use nimbus_core::{Clock, ServiceError};
use nimbus_store::{DbError, Store, Tx, TxError};

pub use api::SqsService;
pub use message::{AttributeValue, Attributes};
pub use messages::{NewMessage, ReceiveOptions, ReceivedMessage, SentMessage};
pub use move_tasks::MoveTaskSummary;

/// The SQS service.
pub struct Sqs {
    store: Store,
    clock: Clock,
    waiters: waiters::Waiters,
}

impl Sqs {
    /// Prepares the SQS tables and returns the service.
    pub async fn open(store: Store, clock: Clock) -> Result<Arc<Sqs>, DbError> {
        store.migrate("sqs", schema::MIGRATIONS).await?;
        Ok(Arc::new(Sqs {
            store,
            clock,
            waiters: waiters::Waiters::default(),
        }))
    }

    /// Runs `work` in the next group commit, mapping engine failures to AWS's internal error.
    async fn write<T, F>(&self, work: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, TxError<ServiceError>> + Send + 'static,
    {
        self.store.write(work).await.map_err(|err| match err {
            TxError::Abort(err) => err,
            TxError::Db(err) => errors::internal(&err),
        })
    }

    /// Runs a short read on a snapshot of committed state.
    fn read<T>(
        &self,
        work: impl FnOnce(&mut dyn Tx) -> Result<T, DbError>,
    ) -> Result<T, ServiceError> {
        self.store.read(work).map_err(|err| errors::internal(&err))
    }

    /// Deletes every queue and message of every account and region.
    pub async fn reset(&self) -> Result<(), ServiceError> {
        self.write(|tx| {
            for table in schema::TABLES {
                tx.execute(&format!("DELETE FROM {table}"), &[])?;
            }
            Ok(())
        })
        .await?;
        self.waiters.wake_all();
        Ok(())
    }
}

/// Turns a failed domain check inside a transaction into an abort.
fn abort<T>(err: ServiceError) -> Result<T, TxError<ServiceError>> {
    Err(TxError::Abort(err))
}
