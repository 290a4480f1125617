//! Adapts the generated SNS wire shapes to the domain operations.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use base64::Engine;
use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::sns::{self as wire, SnsApi, errors as model};

use crate::publish::{MessageAttribute, PublishRequest};
use crate::{Sns, errors};

/// The SNS service as the generated dispatcher calls it.
#[derive(Clone)]
pub struct SnsService(pub Arc<Sns>);

const MAX_BATCH_ENTRIES: usize = 10;

fn to_attributes(
    wire: Option<HashMap<String, wire::MessageAttributeValue>>,
) -> BTreeMap<String, MessageAttribute> {
    wire.unwrap_or_default()
        .into_iter()
        .map(|(name, v)| {
            let binary = v
                .binary_value
                .map(|b| base64::engine::general_purpose::STANDARD.encode(b.as_bytes()));
            (
                name,
                MessageAttribute {
                    data_type: v.data_type,
                    string_value: v.string_value,
                    binary_value: binary,
                },
            )
        })
        .collect()
}

fn tag_map(tags: Option<Vec<wire::Tag>>) -> BTreeMap<String, String> {
    tags.unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect()
}

fn sorted(map: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    map.unwrap_or_default().into_iter().collect()
}

fn to_wire_subscriptions(listed: Vec<crate::subscriptions::Listed>) -> Vec<wire::Subscription> {
    listed
        .into_iter()
        .map(|s| wire::Subscription {
            subscription_arn: Some(s.arn),
            owner: Some(s.owner),
            protocol: Some(s.protocol),
            endpoint: Some(s.endpoint),
            topic_arn: Some(s.topic_arn),
        })
        .collect()
}

fn check_batch_ids<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> Result<(), ServiceError> {
    if ids.len() == 0 {
        return Err(model::empty_batch_request_exception(
            "The batch request doesn't contain any entries.",
        ));
    }
    if ids.len() > MAX_BATCH_ENTRIES {
        return Err(model::too_many_entries_in_batch_request_exception(
            "The batch request contains more entries than permissible.",
        ));
    }
    let mut seen = HashSet::new();
    for id in ids {
        let valid = !id.is_empty()
            && id.len() <= 80
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(model::invalid_batch_entry_id_exception(
                "The Id of a batch entry in a batch request doesn't abide by the specification.",
            ));
        }
        if !seen.insert(id) {
            return Err(model::batch_entry_ids_not_distinct_exception(
                "Two or more batch entries in the request have the same Id.",
            ));
        }
    }
    Ok(())
}

impl SnsApi for SnsService {
    async fn create_topic(
        &self,
        ctx: &RequestContext,
        input: wire::CreateTopicInput,
    ) -> Result<wire::CreateTopicResponse, ServiceError> {
        let arn = self
            .0
            .create_topic(
                ctx,
                input.name,
                sorted(input.attributes),
                tag_map(input.tags),
            )
            .await?;
        Ok(wire::CreateTopicResponse {
            topic_arn: Some(arn),
        })
    }

    async fn delete_topic(
        &self,
        _ctx: &RequestContext,
        input: wire::DeleteTopicInput,
    ) -> Result<(), ServiceError> {
        self.0.delete_topic(input.topic_arn).await
    }

    async fn list_topics(
        &self,
        ctx: &RequestContext,
        input: wire::ListTopicsInput,
    ) -> Result<wire::ListTopicsResponse, ServiceError> {
        let (arns, next) = self.0.list_topics(ctx, input.next_token)?;
        Ok(wire::ListTopicsResponse {
            topics: Some(
                arns.into_iter()
                    .map(|a| wire::Topic { topic_arn: Some(a) })
                    .collect(),
            ),
            next_token: next,
        })
    }

    async fn get_topic_attributes(
        &self,
        _ctx: &RequestContext,
        input: wire::GetTopicAttributesInput,
    ) -> Result<wire::GetTopicAttributesResponse, ServiceError> {
        let attributes = self.0.topic_attributes(&input.topic_arn)?;
        Ok(wire::GetTopicAttributesResponse {
            attributes: Some(attributes.into_iter().collect()),
        })
    }

    async fn set_topic_attributes(
        &self,
        _ctx: &RequestContext,
        input: wire::SetTopicAttributesInput,
    ) -> Result<(), ServiceError> {
        self.0
            .set_topic_attribute(
                input.topic_arn,
                input.attribute_name,
                input.attribute_value.unwrap_or_default(),
            )
            .await
    }

    async fn subscribe(
        &self,
        ctx: &RequestContext,
        input: wire::SubscribeInput,
    ) -> Result<wire::SubscribeResponse, ServiceError> {
        let arn = self
            .0
            .subscribe(
                ctx,
                input.topic_arn,
                input.protocol,
                input.endpoint,
                sorted(input.attributes),
                input.return_subscription_arn.unwrap_or(false),
            )
            .await?;
        Ok(wire::SubscribeResponse {
            subscription_arn: Some(arn),
        })
    }

    async fn confirm_subscription(
        &self,
        _ctx: &RequestContext,
        input: wire::ConfirmSubscriptionInput,
    ) -> Result<wire::ConfirmSubscriptionResponse, ServiceError> {
        let arn = self
            .0
            .confirm_subscription(input.topic_arn, input.token)
            .await?;
        Ok(wire::ConfirmSubscriptionResponse {
            subscription_arn: Some(arn),
        })
    }

    async fn unsubscribe(
        &self,
        _ctx: &RequestContext,
        input: wire::UnsubscribeInput,
    ) -> Result<(), ServiceError> {
        self.0.unsubscribe(input.subscription_arn).await
    }

    async fn list_subscriptions(
        &self,
        ctx: &RequestContext,
        input: wire::ListSubscriptionsInput,
    ) -> Result<wire::ListSubscriptionsResponse, ServiceError> {
        let (listed, next) = self.0.list_subscriptions(ctx, None, input.next_token)?;
        Ok(wire::ListSubscriptionsResponse {
            subscriptions: Some(to_wire_subscriptions(listed)),
            next_token: next,
        })
    }

    async fn list_subscriptions_by_topic(
        &self,
        ctx: &RequestContext,
        input: wire::ListSubscriptionsByTopicInput,
    ) -> Result<wire::ListSubscriptionsByTopicResponse, ServiceError> {
        let (listed, next) =
            self.0
                .list_subscriptions(ctx, Some(input.topic_arn), input.next_token)?;
        Ok(wire::ListSubscriptionsByTopicResponse {
            subscriptions: Some(to_wire_subscriptions(listed)),
            next_token: next,
        })
    }

    async fn get_subscription_attributes(
        &self,
        _ctx: &RequestContext,
        input: wire::GetSubscriptionAttributesInput,
    ) -> Result<wire::GetSubscriptionAttributesResponse, ServiceError> {
        let attributes = self.0.subscription_attributes(&input.subscription_arn)?;
        Ok(wire::GetSubscriptionAttributesResponse {
            attributes: Some(attributes.into_iter().collect()),
        })
    }

    async fn set_subscription_attributes(
        &self,
        _ctx: &RequestContext,
        input: wire::SetSubscriptionAttributesInput,
    ) -> Result<(), ServiceError> {
        self.0
            .set_subscription_attribute(
                input.subscription_arn,
                input.attribute_name,
                input.attribute_value.unwrap_or_default(),
            )
            .await
    }

    async fn publish(
        &self,
        ctx: &RequestContext,
        input: wire::PublishInput,
    ) -> Result<wire::PublishResponse, ServiceError> {
        let request = PublishRequest {
            subject: input.subject,
            message: input.message,
            structured: match input.message_structure.as_deref() {
                None => false,
                Some("json") => true,
                Some(_) => return Err(errors::invalid_parameter("MessageStructure")),
            },
            attributes: to_attributes(input.message_attributes),
            group_id: input.message_group_id,
            dedup_id: input.message_deduplication_id,
        };
        let target = match (input.topic_arn, input.target_arn, input.phone_number) {
            (Some(topic), None, None) | (None, Some(topic), None) => topic,
            (None, None, Some(phone)) => {
                let id = self.0.publish_sms(ctx, phone, request.message).await?;
                return Ok(wire::PublishResponse {
                    message_id: Some(id),
                    sequence_number: None,
                });
            }
            (None, None, None) => {
                return Err(errors::invalid_parameter(
                    "TopicArn or TargetArn Reason: no value for required parameter",
                ));
            }
            _ => {
                return Err(errors::invalid_parameter(
                    "TopicArn or TargetArn Reason: Only one of TopicArn, TargetArn or PhoneNumber may be set",
                ));
            }
        };
        let published = self.0.publish(ctx, &target, request).await?;
        Ok(wire::PublishResponse {
            message_id: Some(published.message_id),
            sequence_number: published.sequence_number,
        })
    }

    async fn publish_batch(
        &self,
        ctx: &RequestContext,
        input: wire::PublishBatchInput,
    ) -> Result<wire::PublishBatchResponse, ServiceError> {
        let entries = input.publish_batch_request_entries;
        check_batch_ids(entries.iter().map(|e| e.id.as_str()))?;
        let mut ids = Vec::with_capacity(entries.len());
        let mut requests = Vec::with_capacity(entries.len());
        for e in entries {
            ids.push(e.id);
            requests.push(PublishRequest {
                subject: e.subject,
                message: e.message,
                structured: e.message_structure.as_deref() == Some("json"),
                attributes: to_attributes(e.message_attributes),
                group_id: e.message_group_id,
                dedup_id: e.message_deduplication_id,
            });
        }
        let total: usize = requests.iter().map(|r| r.message.len()).sum();
        if total > crate::publish::MAX_MESSAGE_BYTES {
            return Err(model::batch_request_too_long_exception(
                "The length of all the messages put together is more than the limit.",
            ));
        }
        let results = self
            .0
            .publish_batch(ctx, &input.topic_arn, requests)
            .await?;
        let mut successful = Vec::new();
        let mut failed = Vec::new();
        for (id, result) in ids.into_iter().zip(results) {
            match result {
                Ok(p) => successful.push(wire::PublishBatchResultEntry {
                    id: Some(id),
                    message_id: Some(p.message_id),
                    sequence_number: p.sequence_number,
                }),
                Err(err) => failed.push(wire::BatchResultErrorEntry {
                    id,
                    code: err.wire_query_code().to_owned(),
                    message: Some(err.message.clone()),
                    sender_fault: err.status < 500,
                }),
            }
        }
        Ok(wire::PublishBatchResponse {
            successful: Some(successful),
            failed: Some(failed),
        })
    }

    async fn tag_resource(
        &self,
        _ctx: &RequestContext,
        input: wire::TagResourceRequest,
    ) -> Result<wire::TagResourceResponse, ServiceError> {
        self.0
            .tag_topic(input.resource_arn, tag_map(Some(input.tags)))
            .await?;
        Ok(wire::TagResourceResponse::default())
    }

    async fn untag_resource(
        &self,
        _ctx: &RequestContext,
        input: wire::UntagResourceRequest,
    ) -> Result<wire::UntagResourceResponse, ServiceError> {
        self.0
            .untag_topic(input.resource_arn, input.tag_keys)
            .await?;
        Ok(wire::UntagResourceResponse::default())
    }

    async fn list_tags_for_resource(
        &self,
        _ctx: &RequestContext,
        input: wire::ListTagsForResourceRequest,
    ) -> Result<wire::ListTagsForResourceResponse, ServiceError> {
        let tags = self.0.topic_tags(&input.resource_arn)?;
        Ok(wire::ListTagsForResourceResponse {
            tags: Some(
                tags.into_iter()
                    .map(|(key, value)| wire::Tag { key, value })
                    .collect(),
            ),
        })
    }

    async fn add_permission(
        &self,
        _ctx: &RequestContext,
        input: wire::AddPermissionInput,
    ) -> Result<(), ServiceError> {
        self.0
            .add_permission(
                input.topic_arn,
                input.label,
                input.aws_account_id,
                input.action_name,
            )
            .await
    }

    async fn remove_permission(
        &self,
        _ctx: &RequestContext,
        input: wire::RemovePermissionInput,
    ) -> Result<(), ServiceError> {
        self.0.remove_permission(input.topic_arn, input.label).await
    }

    async fn reset(&self) -> Result<(), ServiceError> {
        self.0.reset().await
    }
}
