//! Shared by the example's Rust subscribers: reading SNS records out of the Lambda event and
//! writing structured log lines that CloudWatch Logs can filter by correlation id.

use serde_json::{Value, json};

/// One SNS notification as the Lambda event carries it (`Records[].Sns`).
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub message_id: String,
    pub message: String,
    /// SNS's `Timestamp`: when the topic accepted the message (ISO-8601, milliseconds).
    pub timestamp: String,
    pub correlation_id: String,
    pub message_type: String,
}

/// The notifications in an SNS event; records that are not SNS are skipped.
pub fn notifications(event: &Value) -> Vec<Notification> {
    let records = event.get("Records").and_then(Value::as_array);
    records
        .into_iter()
        .flatten()
        .filter_map(|record| record.get("Sns"))
        .map(|sns| {
            let text = |key: &str| {
                sns.get(key)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            let attribute = |name: &str| {
                sns.pointer(&format!("/MessageAttributes/{name}/Value"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            Notification {
                message_id: text("MessageId"),
                message: text("Message"),
                timestamp: text("Timestamp"),
                correlation_id: attribute("CorrelationId"),
                message_type: attribute("MessageType"),
            }
        })
        .collect()
}

/// Milliseconds since the Unix epoch, by the wall clock.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Milliseconds since the epoch of an ISO-8601 timestamp, if it parses.
pub fn iso_ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.timestamp_millis())
}

/// Prints one JSON log line (the function's stdout goes to CloudWatch Logs).
pub fn log(level: &str, subscriber: &str, event: &str, notification: &Notification, extra: Value) {
    let mut line = json!({
        "level": level,
        "subscriber": subscriber,
        "event": event,
        "correlationId": notification.correlation_id,
        "messageId": notification.message_id,
        "messageType": notification.message_type,
    });
    if let (Some(line), Value::Object(extra)) = (line.as_object_mut(), extra) {
        line.extend(extra);
    }
    println!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sns_records_and_their_attributes() {
        let event = json!({"Records": [{"EventSource": "aws:sns", "Sns": {
            "MessageId": "m-1", "Message": "{\"a\":1}", "Timestamp": "2026-01-02T03:04:05.678Z",
            "MessageAttributes": {
                "CorrelationId": {"Type": "String", "Value": "c-1"},
                "MessageType": {"Type": "String", "Value": "order"}
            }
        }}, {"EventSource": "aws:sqs"}]});
        let found = notifications(&event);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].message_id, "m-1");
        assert_eq!(found[0].correlation_id, "c-1");
        assert_eq!(found[0].message_type, "order");
        assert_eq!(iso_ms(&found[0].timestamp), Some(1_767_323_045_678));
    }

    #[test]
    fn missing_fields_read_as_empty() {
        let found = notifications(&json!({"Records": [{"Sns": {}}]}));
        assert_eq!(found[0].message_id, "");
        assert!(notifications(&json!({})).is_empty());
    }
}
