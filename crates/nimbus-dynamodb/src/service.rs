//! The DynamoDB service as the edge calls it. Item operations read their input straight from
//! the request JSON; every other operation goes through the generated dispatcher.

use std::sync::Arc;

use nimbus_core::{BoxFuture, RequestContext, Service, ServiceError};
use nimbus_model::dynamodb as wire;
use serde_json::Value;

use crate::Dynamodb;
use crate::api::ControlPlane;

/// DynamoDB for the edge.
#[derive(Clone)]
pub struct DynamodbService(pub Arc<Dynamodb>);

impl DynamodbService {
    async fn run(
        &self,
        ctx: &RequestContext,
        operation: &str,
        input: Value,
    ) -> Result<Value, ServiceError> {
        let svc = &self.0;
        match operation {
            "GetItem" => svc.get_item(ctx, &input),
            "PutItem" => svc.put_item(ctx, &input).await,
            "UpdateItem" => svc.update_item(ctx, &input).await,
            "DeleteItem" => svc.delete_item(ctx, &input).await,
            "Query" => svc.query(ctx, &input),
            "Scan" => svc.scan(ctx, &input),
            "BatchGetItem" => svc.batch_get_item(ctx, &input),
            "BatchWriteItem" => svc.batch_write_item(ctx, &input).await,
            "TransactWriteItems" => svc.transact_write_items(ctx, &input).await,
            "TransactGetItems" => svc.transact_get_items(ctx, &input),
            _ => wire::dispatch(&ControlPlane(Arc::clone(svc)), ctx, operation, input).await,
        }
    }
}

impl Service for DynamodbService {
    fn name(&self) -> &'static str {
        wire::SERVICE.name
    }

    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        operation: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        Box::pin(self.run(ctx, operation, input))
    }

    fn call_rendered(
        &self,
        ctx: &RequestContext,
        operation: &str,
        input: &Value,
    ) -> Option<Result<Vec<u8>, ServiceError>> {
        (operation == "GetItem").then(|| self.0.get_item_rendered(ctx, input))
    }

    fn reset(&self) -> BoxFuture<'_, Result<(), ServiceError>> {
        Box::pin(self.0.reset())
    }
}
