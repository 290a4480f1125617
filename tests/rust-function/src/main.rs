//! An echo function on AWS's own Rust runtime client. It answers with the event, the request
//! id and the function name from the context, and fails when the event asks it to, so the
//! suites can check both paths through the Runtime API.
//!
//! With `RECORD_STARTS` naming a file, an SQS batch instead appends one line per record —
//! the handler's start time in microseconds since the epoch and the record's body — and
//! answers nothing: the event source mapping benchmark's no-op handler.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// Appends the start lines of an SQS batch; false when this is not such a batch.
fn record_starts(payload: &Value) -> bool {
    let Some(path) = std::env::var_os("RECORD_STARTS") else {
        return false;
    };
    let Some(records) = payload.get("Records").and_then(Value::as_array) else {
        return false;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    let mut lines = String::new();
    for body in records
        .iter()
        .filter_map(|r| r.get("body").and_then(Value::as_str))
    {
        lines.push_str(&format!("{now} {body}\n"));
    }
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = file.write_all(lines.as_bytes());
    }
    true
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    if record_starts(&payload) {
        return Ok(Value::Null);
    }
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
