//! Amazon SNS over the nimbus store.
//!
//! Operations are methods on [`Sns`] that take and return domain values; `api` adapts them to
//! the generated wire shapes. A publish commits the message and one delivery per matching
//! subscription in one transaction (the outbox), and the delivery worker drains it: to queues
//! through [`QueueSender`], to functions through [`FunctionInvoker`], to HTTP endpoints with
//! its own client. Delivery is at-least-once and survives a crash between publish and delivery.

mod api;
mod attributes;
mod deliver;
mod der;
mod envelope;
mod errors;
mod fanout;
mod http;
mod montgomery;
mod pkcs1;
mod publish;
mod publisher;
mod retry;
mod schema;
mod send;
mod signing;
mod subscriptions;
mod topics;

use std::sync::Arc;

use nimbus_core::effects::{FunctionInvoker, QueueSender};
use nimbus_core::{Clock, ServiceError};
use nimbus_store::{DbError, ServiceStore, Store, TxError};
use tokio::sync::Notify;

pub use api::SnsService;
pub use deliver::Notification;
pub use envelope::CERT_PATH;
pub use publish::{MessageAttribute, PublishRequest, Published};
pub use publisher::SnsTopicPublisher;
pub use topics::TopicCounters;

/// Where deliveries go besides HTTP endpoints; wired by the binary.
#[derive(Clone, Default)]
pub struct Endpoints {
    /// Delivers to SQS queues (subscriptions and dead-letter queues).
    pub queues: Option<Arc<dyn QueueSender>>,
    /// Invokes functions; when absent, `lambda` deliveries fail like an unreachable endpoint.
    pub functions: Option<Arc<dyn FunctionInvoker>>,
}

/// The SNS service.
pub struct Sns {
    db: ServiceStore<ServiceError>,
    clock: Clock,
    endpoints: Endpoints,
    /// Poked after a publish commits so the delivery worker does not wait for its next tick.
    outbox_ready: Notify,
    http: http::HttpClient,
    signer: signing::Signer,
    fanouts: fanout::FanoutCache,
    /// Signatures by (message id, version, text), shared by a message's deliveries.
    signatures: parking_lot::Mutex<std::collections::HashMap<(String, String, String), String>>,
}

impl Sns {
    /// Prepares the SNS tables and returns the service.
    pub async fn open(
        store: Store,
        clock: Clock,
        endpoints: Endpoints,
    ) -> Result<Arc<Sns>, DbError> {
        store.migrate("sns", schema::MIGRATIONS).await?;
        let signer = signing::Signer::load_or_create(&store).await?;
        Ok(Arc::new(Sns {
            signer,
            fanouts: fanout::FanoutCache::default(),
            signatures: parking_lot::Mutex::default(),
            db: ServiceStore::new(store, errors::internal),
            clock,
            endpoints,
            outbox_ready: Notify::new(),
            http: http::HttpClient::new(),
        }))
    }

    /// The certificate that verifies message signatures (served at SigningCertURL).
    pub fn signing_certificate(&self) -> &str {
        self.signer.certificate_pem()
    }

    /// Deletes every topic, subscription and pending delivery of every account and region.
    pub async fn reset(&self) -> Result<(), ServiceError> {
        self.db.clear_tables(schema::TABLES).await?;
        self.fanouts.clear();
        Ok(())
    }
}

/// Turns a failed domain check inside a transaction into an abort.
fn abort<T>(err: ServiceError) -> Result<T, TxError<ServiceError>> {
    Err(TxError::Abort(err))
}
