//! SQS as an event source: records in AWS's Lambda SQS event format, settled by deleting
//! the messages; failed ones simply reappear after the visibility timeout, so their receive
//! count and the queue's redrive policy decide when they reach the dead-letter queue.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use nimbus_core::effects::{ConsumedMessage, QueueConsumer, QueueDescription};
use nimbus_core::{BoxFuture, ServiceError};
use serde_json::{Map, Value, json};

use super::poller::{EventSource, SourceRecord};

/// SQS returns at most ten messages per receive.
const MAX_RECEIVE: usize = 10;

/// Whether an ARN names an SQS queue.
pub(crate) fn is_queue_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    matches!(parts.as_slice(), ["arn", _, "sqs", region, account, name]
        if !region.is_empty() && !account.is_empty() && !name.is_empty())
}

fn region_of(arn: &str) -> String {
    arn.split(':').nth(3).unwrap_or_default().to_owned()
}

/// One queue read for one mapping.
pub(crate) struct SqsSource {
    consumer: Arc<dyn QueueConsumer>,
    queue_arn: String,
    region: String,
    queue: QueueDescription,
}

impl SqsSource {
    pub(crate) fn new(
        consumer: Arc<dyn QueueConsumer>,
        queue_arn: &str,
        queue: QueueDescription,
    ) -> SqsSource {
        SqsSource {
            consumer,
            queue_arn: queue_arn.to_owned(),
            region: region_of(queue_arn),
            queue,
        }
    }

    fn record(&self, message: ConsumedMessage) -> SourceRecord {
        let attributes: Map<String, Value> = message
            .message_attributes
            .into_iter()
            .map(|(name, attribute)| {
                let mut value = Map::new();
                if let Some(text) = attribute.string_value {
                    value.insert("stringValue".into(), Value::String(text));
                }
                if let Some(bytes) = attribute.binary_value {
                    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
                    value.insert("binaryValue".into(), Value::String(encoded));
                }
                value.insert("stringListValues".into(), json!([]));
                value.insert("binaryListValues".into(), json!([]));
                value.insert("dataType".into(), Value::String(attribute.data_type));
                (name, Value::Object(value))
            })
            .collect();
        let group = message.attributes.get("MessageGroupId").cloned();
        let mut record = json!({
            "messageId": message.message_id,
            "receiptHandle": message.receipt_handle,
            "body": message.body,
            "attributes": message.attributes,
            "messageAttributes": attributes,
            "md5OfBody": message.md5_of_body,
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        });
        if let (Some(md5), Some(object)) =
            (message.md5_of_message_attributes, record.as_object_mut())
        {
            object.insert("md5OfMessageAttributes".into(), Value::String(md5));
        }
        SourceRecord {
            id: message.message_id,
            group,
            json: serde_json::to_vec(&record).unwrap_or_default(),
            token: message.receipt_handle,
        }
    }
}

impl EventSource for SqsSource {
    fn fetch(
        &self,
        max: usize,
        wait: Duration,
    ) -> BoxFuture<'_, Result<Vec<SourceRecord>, ServiceError>> {
        Box::pin(async move {
            let messages = self.consumer.receive(&self.queue_arn, max, wait).await?;
            Ok(messages.into_iter().map(|m| self.record(m)).collect())
        })
    }

    fn max_fetch(&self) -> usize {
        MAX_RECEIVE
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.queue.visibility_timeout_secs).unwrap_or(0))
    }

    /// The record with its body as JSON when it parses as JSON, as Lambda filters it.
    fn filter_view(&self, record: &SourceRecord) -> Value {
        let mut view: Value = serde_json::from_slice(&record.json).unwrap_or(Value::Null);
        if let Some(object) = view.as_object_mut()
            && let Some(Value::String(body)) = object.get("body")
            && let Ok(parsed) = serde_json::from_str::<Value>(body)
        {
            object.insert("body".into(), parsed);
        }
        view
    }

    fn complete(&self, done: Vec<SourceRecord>) -> BoxFuture<'_, Result<(), ServiceError>> {
        Box::pin(async move {
            if done.is_empty() {
                return Ok(());
            }
            let handles = done.into_iter().map(|r| r.token).collect();
            self.consumer.delete(&self.queue_arn, handles).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_arns() {
        assert!(is_queue_arn("arn:aws:sqs:us-east-1:000000000000:jobs"));
        assert!(is_queue_arn("arn:aws:sqs:us-east-1:000000000000:jobs.fifo"));
        assert!(!is_queue_arn(
            "arn:aws:kinesis:us-east-1:000000000000:stream/s"
        ));
        assert!(!is_queue_arn("arn:aws:sqs:us-east-1:000000000000"));
    }
}
