//! The capacity run's subscriber: does nothing with the message but, when `LATENCY_FILE` is
//! set, appends `<messageId> <sentAtMs> <receivedAtMs>` to it so the load generator can measure
//! publish-to-handler latency. One short `O_APPEND` write per message keeps concurrent
//! instances' lines whole.

use std::io::Write;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use pubsub_rust_subscribers::{notifications, now_ms};
use serde_json::Value;

async fn handle(event: LambdaEvent<Value>) -> Result<(), Error> {
    let received = now_ms();
    let Ok(path) = std::env::var("LATENCY_FILE") else {
        return Ok(());
    };
    let mut lines = String::new();
    for notification in notifications(&event.payload) {
        let sent = serde_json::from_str::<Value>(&notification.message)
            .ok()
            .and_then(|body| body.get("sentAtMs").and_then(Value::as_i64))
            .unwrap_or(0);
        lines.push_str(&format!("{} {sent} {received}\n", notification.message_id));
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(lines.as_bytes())?;
    Ok(())
}

// One thread: an instance handles one event at a time, and a second worker thread would only
// add wake-ups between threads (AWS's Rust examples for one vCPU do the same).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handle)).await
}
