//! An echo function on AWS's own Rust runtime client. It answers with the event, the request
//! id and the function name from the context, and fails when the event asks it to, so the
//! suites can check both paths through the Runtime API.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    if payload.get("fail").and_then(Value::as_bool) == Some(true) {
        return Err("asked to fail".into());
    }
    Ok(json!({
        "event": payload,
        "request_id": context.request_id,
        "function_arn": context.invoked_function_arn,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handle)).await
}
