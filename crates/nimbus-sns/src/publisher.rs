//! SNS as the topic behind [`TopicPublisher`]: Lambda's destinations and dead-letter topics
//! publish through the same path `Publish` takes.

use std::sync::{Arc, Weak};

use base64::Engine;
use nimbus_core::effects::{TopicMessage, TopicPublisher};
use nimbus_core::{BoxFuture, RequestContext, ServiceError};

use crate::publish::{MessageAttribute, PublishRequest};
use crate::{Sns, errors};

/// Publishes on behalf of other services. Holds SNS weakly: SNS holds the function invoker,
/// so a strong handle here would keep both alive in a cycle.
#[derive(Clone)]
pub struct SnsTopicPublisher(Weak<Sns>);

impl SnsTopicPublisher {
    pub fn new(sns: &Arc<Sns>) -> Self {
        SnsTopicPublisher(Arc::downgrade(sns))
    }
}

impl TopicPublisher for SnsTopicPublisher {
    fn publish_to_topic<'a>(
        &'a self,
        ctx: &'a RequestContext,
        topic_arn: &'a str,
        message: TopicMessage,
    ) -> BoxFuture<'a, Result<String, ServiceError>> {
        Box::pin(async move {
            let sns = self.0.upgrade().ok_or_else(errors::topic_not_found)?;
            let attributes = message
                .attributes
                .into_iter()
                .map(|(name, a)| {
                    let value = MessageAttribute {
                        data_type: a.data_type,
                        string_value: a.string_value,
                        binary_value: a
                            .binary_value
                            .map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
                    };
                    (name, value)
                })
                .collect();
            let request = PublishRequest {
                subject: message.subject,
                message: message.message,
                attributes,
                ..PublishRequest::default()
            };
            let published = sns.publish(ctx, topic_arn, request).await?;
            Ok(published.message_id)
        })
    }
}
