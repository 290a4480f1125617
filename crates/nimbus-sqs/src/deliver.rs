//! SQS as the queue behind [`QueueSender`]: SNS subscriptions, dead-letter queues and other
//! services' deliveries reach a queue by ARN through the same `SendMessage` clients use.

use std::sync::Arc;

use base64::Engine;
use nimbus_core::effects::{QueueMessage, QueueSender};
use nimbus_core::{BoxFuture, RequestContext, ServiceError};

use crate::message::{AttributeValue, Attributes};
use crate::messages::NewMessage;
use crate::{Sqs, errors, queue};

/// Sends to SQS queues on behalf of other services.
#[derive(Clone)]
pub struct SqsQueueSender(pub Arc<Sqs>);

impl QueueSender for SqsQueueSender {
    fn send_to_queue<'a>(
        &'a self,
        queue_arn: &'a str,
        message: QueueMessage,
    ) -> BoxFuture<'a, Result<String, ServiceError>> {
        Box::pin(async move {
            let (ctx, url, message) = addressed(queue_arn, message)?;
            let sent = self.0.send_message(&ctx, &url, message).await?;
            Ok(sent.message_id)
        })
    }

    fn send_many<'a>(
        &'a self,
        messages: Vec<(String, QueueMessage)>,
    ) -> BoxFuture<'a, Vec<Result<String, ServiceError>>> {
        Box::pin(async move {
            let mut results: Vec<Option<Result<String, ServiceError>>> = Vec::new();
            let mut sends = Vec::with_capacity(messages.len());
            for (queue_arn, message) in messages {
                match addressed(&queue_arn, message) {
                    Ok(send) => {
                        sends.push(send);
                        results.push(None);
                    }
                    Err(err) => results.push(Some(Err(err))),
                }
            }
            let mut sent = self.0.send_across_queues(sends).await.into_iter();
            results
                .into_iter()
                .map(|known| {
                    known.unwrap_or_else(|| {
                        sent.next()
                            .unwrap_or_else(|| Err(ServiceError::internal()))
                            .map(|s| s.message_id)
                    })
                })
                .collect()
        })
    }
}

/// Where a message for a queue ARN goes, and the message as SQS sends it.
fn addressed(
    queue_arn: &str,
    message: QueueMessage,
) -> Result<(RequestContext, String, NewMessage), ServiceError> {
    let key = queue::key_from_arn(queue_arn).ok_or_else(errors::queue_does_not_exist)?;
    // The URL's host is not read: the path names the queue, the context its region.
    let ctx = RequestContext::internal(&key.account, &key.region, "http://nimbus");
    let url = format!("http://nimbus/{}/{}", key.account, key.name);
    let attributes: Attributes = message
        .attributes
        .into_iter()
        .map(|(name, a)| {
            let binary = a
                .binary_value
                .map(|b| base64::engine::general_purpose::STANDARD.encode(b));
            let value = AttributeValue {
                data_type: a.data_type,
                string_value: a.string_value,
                binary_value: binary,
            };
            (name, value)
        })
        .collect();
    let system_attributes: Attributes = message
        .trace_header
        .map(|trace| {
            let value = AttributeValue {
                data_type: "String".to_owned(),
                string_value: Some(trace),
                binary_value: None,
            };
            ("AWSTraceHeader".to_owned(), value)
        })
        .into_iter()
        .collect();
    let message = NewMessage {
        body: message.body,
        delay_seconds: None,
        attributes,
        system_attributes,
        group_id: message.group_id,
        deduplication_id: message.deduplication_id,
    };
    Ok((ctx, url, message))
}
