//! The seam between the edge and a service: an operation name and its input in canonical
//! JSON form (awsJson member names, timestamps as epoch seconds, blobs as base64) go in, the
//! output in the same form comes out. Protocol codecs convert to and from the wire.

use std::future::Future;
use std::pin::Pin;

use crate::{RequestContext, ServiceError};

/// A boxed future that can cross threads.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One AWS service as the edge sees it.
pub trait Service: Send + Sync + 'static {
    /// The model name of the service (`sqs`, `sts`…), as in the generated model.
    fn name(&self) -> &'static str;

    /// Runs one operation.
    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        operation: &'a str,
        input: serde_json::Value,
    ) -> BoxFuture<'a, Result<serde_json::Value, ServiceError>>;

    /// Wipes all state of this service (all accounts and regions), for `POST /_nimbus/reset`.
    fn reset(&self) -> BoxFuture<'_, Result<(), ServiceError>>;
}
