//! SQS request bodies and the parts of the answers the benchmark needs.

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::http_client::Connection;

/// Messages per SendMessageBatch, ReceiveMessage and DeleteMessageBatch (the SQS maximum).
pub const BATCH_SIZE: usize = 10;
pub const MESSAGE_BODY_BYTES: usize = 256;

/// A 256-byte printable message body.
pub fn message_body() -> String {
    "nimbus-bench-payload-"
        .chars()
        .cycle()
        .take(MESSAGE_BODY_BYTES)
        .collect()
}

pub fn create_queue_body(name: &str) -> Bytes {
    to_bytes(json!({ "QueueName": name }))
}

pub fn get_queue_url_body(name: &str) -> Bytes {
    to_bytes(json!({ "QueueName": name }))
}

pub fn send_message_body(queue_url: &str, message: &str) -> Bytes {
    to_bytes(json!({ "QueueUrl": queue_url, "MessageBody": message }))
}

pub fn send_message_batch_body(queue_url: &str, message: &str, count: usize) -> Bytes {
    let entries: Vec<Value> = (0..count)
        .map(|id| json!({ "Id": id.to_string(), "MessageBody": message }))
        .collect();
    to_bytes(json!({ "QueueUrl": queue_url, "Entries": entries }))
}

pub fn receive_message_body(queue_url: &str, max_messages: usize, wait_seconds: u32) -> Bytes {
    to_bytes(json!({
        "QueueUrl": queue_url,
        "MaxNumberOfMessages": max_messages,
        "WaitTimeSeconds": wait_seconds,
    }))
}

pub fn delete_message_batch_body(queue_url: &str, receipt_handles: &[String]) -> Bytes {
    let entries: Vec<Value> = receipt_handles
        .iter()
        .enumerate()
        .map(|(id, handle)| json!({ "Id": id.to_string(), "ReceiptHandle": handle }))
        .collect();
    to_bytes(json!({ "QueueUrl": queue_url, "Entries": entries }))
}

pub fn queue_depth_body(queue_url: &str) -> Bytes {
    to_bytes(json!({
        "QueueUrl": queue_url,
        "AttributeNames": [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    }))
}

pub fn parse_queue_url(body: &[u8]) -> Result<String> {
    let value: Value = serde_json::from_slice(body).context("queue answer is not JSON")?;
    value["QueueUrl"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no QueueUrl in {}", String::from_utf8_lossy(body)))
}

/// Receipt handles of a ReceiveMessage answer; an answer without `Messages` holds none.
pub fn parse_receipt_handles(body: &[u8]) -> Result<Vec<String>> {
    let value: Value = serde_json::from_slice(body).context("receive answer is not JSON")?;
    let Some(messages) = value.get("Messages").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    messages
        .iter()
        .map(|message| {
            message["ReceiptHandle"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| anyhow!("message without ReceiptHandle"))
        })
        .collect()
}

/// Entries a batch answer reports as failed.
pub fn count_failed_entries(body: &[u8]) -> Result<usize> {
    let value: Value = serde_json::from_slice(body).context("batch answer is not JSON")?;
    Ok(value
        .get("Failed")
        .and_then(Value::as_array)
        .map_or(0, Vec::len))
}

/// Stored messages of a queue: visible, in flight and delayed.
pub fn parse_queue_depth(body: &[u8]) -> Result<u64> {
    let value: Value = serde_json::from_slice(body).context("attributes answer is not JSON")?;
    let attributes = value
        .get("Attributes")
        .ok_or_else(|| anyhow!("no Attributes in {}", String::from_utf8_lossy(body)))?;
    let read = |name: &str| -> u64 {
        attributes
            .get(name)
            .and_then(Value::as_str)
            .and_then(|text| text.parse().ok())
            .unwrap_or(0)
    };
    Ok(read("ApproximateNumberOfMessages")
        + read("ApproximateNumberOfMessagesNotVisible")
        + read("ApproximateNumberOfMessagesDelayed"))
}

pub async fn create_queue(connection: &mut Connection, name: &str) -> Result<String> {
    let reply = connection
        .sqs("CreateQueue", create_queue_body(name))
        .await?;
    parse_queue_url(&reply.into_success("CreateQueue")?)
}

pub async fn queue_depth(connection: &mut Connection, queue_url: &str) -> Result<u64> {
    let reply = connection
        .sqs("GetQueueAttributes", queue_depth_body(queue_url))
        .await?;
    parse_queue_depth(&reply.into_success("GetQueueAttributes")?)
}

fn to_bytes(value: Value) -> Bytes {
    Bytes::from(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &Bytes) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn the_message_body_is_256_bytes() {
        assert_eq!(message_body().len(), MESSAGE_BODY_BYTES);
    }

    #[test]
    fn batch_bodies_number_their_entries() {
        let send = parse(&send_message_batch_body("http://h/000000000000/q", "m", 3));
        assert_eq!(send["QueueUrl"], "http://h/000000000000/q");
        assert_eq!(send["Entries"].as_array().unwrap().len(), 3);
        assert_eq!(send["Entries"][2], json!({"Id": "2", "MessageBody": "m"}));
        let handles = vec!["a".to_string(), "b".to_string()];
        let delete = parse(&delete_message_batch_body("u", &handles));
        assert_eq!(
            delete["Entries"][1],
            json!({"Id": "1", "ReceiptHandle": "b"})
        );
    }

    #[test]
    fn receive_body_carries_count_and_wait() {
        let body = parse(&receive_message_body("u", 10, 20));
        assert_eq!(body["MaxNumberOfMessages"], 10);
        assert_eq!(body["WaitTimeSeconds"], 20);
    }

    #[test]
    fn answers_are_read() {
        let url = parse_queue_url(br#"{"QueueUrl":"http://h/000000000000/b"}"#).unwrap();
        assert_eq!(url, "http://h/000000000000/b");
        assert!(parse_queue_url(b"{}").is_err());

        let handles = parse_receipt_handles(
            br#"{"Messages":[{"ReceiptHandle":"r1"},{"ReceiptHandle":"r2"}]}"#,
        )
        .unwrap();
        assert_eq!(handles, vec!["r1", "r2"]);
        assert!(parse_receipt_handles(b"{}").unwrap().is_empty());
        assert!(parse_receipt_handles(br#"{"Messages":[{}]}"#).is_err());

        assert_eq!(count_failed_entries(br#"{"Successful":[]}"#).unwrap(), 0);
        assert_eq!(
            count_failed_entries(br#"{"Successful":[],"Failed":[{"Id":"0"}]}"#).unwrap(),
            1
        );

        let depth = parse_queue_depth(
            br#"{"Attributes":{"ApproximateNumberOfMessages":"7","ApproximateNumberOfMessagesNotVisible":"3"}}"#,
        )
        .unwrap();
        assert_eq!(depth, 10);
    }
}
