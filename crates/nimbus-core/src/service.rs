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

    /// Answers an awsJson request whose output the service can write out directly (an item
    /// kept in its wire form, say), sparing the parse and re-render of a JSON value. `None`
    /// sends the request through `call`.
    fn call_rendered(
        &self,
        _ctx: &RequestContext,
        _operation: &str,
        _input: &serde_json::Value,
    ) -> Option<Result<Vec<u8>, ServiceError>> {
        None
    }

    /// Wipes all state of this service (all accounts and regions), for `POST /_nimbus/reset`.
    fn reset(&self) -> BoxFuture<'_, Result<(), ServiceError>>;
}
