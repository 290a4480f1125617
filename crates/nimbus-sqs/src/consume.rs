//! SQS as the queue behind [`QueueConsumer`]: Lambda's event source mappings receive, delete
//! and release messages through the same code clients reach with `ReceiveMessage`,
//! `DeleteMessageBatch` and `ChangeMessageVisibilityBatch`, so receive counts and redrive
//! policies behave exactly as they do for any consumer.

use std::sync::Arc;
use std::time::Duration;

use nimbus_core::effects::{ConsumedMessage, MessageAttribute, QueueConsumer, QueueDescription};
use nimbus_core::{BoxFuture, ServiceError};

use crate::queue::{self, Queue};
use crate::receive::ReceiveOptions;
use crate::{Sqs, attributes, errors};

/// The system attributes a Lambda SQS record carries.
const RECORD_ATTRIBUTES: &[&str] = &[
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
];

/// Consumes SQS queues on behalf of other services.
#[derive(Clone)]
pub struct SqsQueueConsumer(pub Arc<Sqs>);

impl SqsQueueConsumer {
    fn queue(&self, queue_arn: &str) -> Result<Arc<Queue>, ServiceError> {
        let key = queue::key_from_arn(queue_arn).ok_or_else(errors::queue_does_not_exist)?;
        self.0.queue_by_key(key)
    }
}

impl QueueConsumer for SqsQueueConsumer {
    fn describe_queue<'a>(
        &'a self,
        queue_arn: &'a str,
    ) -> BoxFuture<'a, Result<QueueDescription, ServiceError>> {
        Box::pin(async move {
            let queue = self.queue(queue_arn)?;
            Ok(QueueDescription {
                fifo: queue.fifo,
                visibility_timeout_secs: attributes::int(&queue.attributes, "VisibilityTimeout"),
            })
        })
    }

    fn receive<'a>(
        &'a self,
        queue_arn: &'a str,
        max_messages: usize,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Vec<ConsumedMessage>, ServiceError>> {
        Box::pin(async move {
            let queue = self.queue(queue_arn)?;
            let options = ReceiveOptions {
                system_attribute_names: RECORD_ATTRIBUTES.iter().map(|&n| n.to_owned()).collect(),
                message_attribute_names: vec!["All".to_owned()],
                ..ReceiveOptions::default()
            };
            let max = i64::try_from(max_messages.clamp(1, 10)).unwrap_or(10);
            let received = self.0.receive_checked(queue, options, max, wait).await?;
            Ok(received
                .into_iter()
                .map(|m| ConsumedMessage {
                    message_attributes: m
                        .message_attributes
                        .into_iter()
                        .map(|(name, value)| {
                            let binary_value = value.binary_bytes();
                            let attribute = MessageAttribute {
                                data_type: value.data_type,
                                string_value: value.string_value,
                                binary_value,
                            };
                            (name, attribute)
                        })
                        .collect(),
                    message_id: m.message_id,
                    receipt_handle: m.receipt_handle,
                    body: m.body,
                    md5_of_body: m.md5_of_body,
                    md5_of_message_attributes: m.md5_of_message_attributes,
                    attributes: m.attributes,
                })
                .collect())
        })
    }

    fn delete<'a>(
        &'a self,
        queue_arn: &'a str,
        receipt_handles: Vec<String>,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        Box::pin(async move {
            let queue = self.queue(queue_arn)?;
            for result in self.0.delete_in(queue, receipt_handles).await? {
                result?;
            }
            Ok(())
        })
    }

    fn change_visibility<'a>(
        &'a self,
        queue_arn: &'a str,
        receipt_handles: Vec<String>,
        timeout_secs: i64,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        Box::pin(async move {
            let queue = self.queue(queue_arn)?;
            let changes = receipt_handles
                .into_iter()
                .map(|h| (h, timeout_secs))
                .collect();
            // A message deleted or received again since is simply no longer ours to release.
            let _ = self.0.change_visibility_in(queue, changes).await?;
            Ok(())
        })
    }
}
