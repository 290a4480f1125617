//! Adapts the generated SQS wire shapes to the domain operations.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use base64::Engine;
use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::Blob;
use nimbus_model::sqs::{self as wire, SqsApi};

use crate::message::{AttributeValue, Attributes};
use crate::messages::NewMessage;
use crate::receive::{ReceiveOptions, ReceivedMessage};
use crate::{Sqs, errors};

/// The SQS service as the generated dispatcher calls it.
#[derive(Clone)]
pub struct SqsService(pub Arc<Sqs>);

const MAX_BATCH_ENTRIES: usize = 10;

/// Checks batch entry ids: present, at most ten, distinct, well formed.
fn check_batch<'a>(
    entry_shape: &str,
    ids: impl ExactSizeIterator<Item = &'a str>,
) -> Result<(), ServiceError> {
    if ids.len() == 0 {
        return Err(errors::empty_batch_request(entry_shape));
    }
    if ids.len() > MAX_BATCH_ENTRIES {
        return Err(errors::too_many_entries_in_batch_request());
    }
    let mut seen = HashSet::new();
    for id in ids {
        if id.is_empty()
            || id.len() > 80
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(errors::invalid_batch_entry_id(id));
        }
        if !seen.insert(id) {
            return Err(errors::batch_entry_ids_not_distinct(id));
        }
    }
    Ok(())
}

fn failed_entry(id: String, err: &ServiceError) -> wire::BatchResultErrorEntry {
    wire::BatchResultErrorEntry {
        id,
        sender_fault: err.status < 500,
        code: err.wire_query_code().to_owned(),
        message: Some(err.message.clone()),
    }
}

/// Splits per-entry outcomes into the ids that succeeded and the failure entries.
fn split_results(
    ids: Vec<String>,
    results: Vec<Result<(), ServiceError>>,
) -> (Vec<String>, Vec<wire::BatchResultErrorEntry>) {
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for (id, result) in ids.into_iter().zip(results) {
        match result {
            Ok(()) => successful.push(id),
            Err(err) => failed.push(failed_entry(id, &err)),
        }
    }
    (successful, failed)
}

/// One attribute in the domain form (binary kept base64-encoded).
fn attribute(
    data_type: String,
    string_value: Option<String>,
    binary: Option<Blob>,
) -> AttributeValue {
    AttributeValue {
        data_type,
        string_value,
        binary_value: binary
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b.as_bytes())),
    }
}

fn to_attributes(wire: Option<HashMap<String, wire::MessageAttributeValue>>) -> Attributes {
    let map = wire.unwrap_or_default().into_iter();
    map.map(|(name, v)| (name, attribute(v.data_type, v.string_value, v.binary_value)))
        .collect()
}

fn to_system_attributes(
    wire: Option<HashMap<String, wire::MessageSystemAttributeValue>>,
) -> Attributes {
    let map = wire.unwrap_or_default().into_iter();
    map.map(|(name, v)| (name, attribute(v.data_type, v.string_value, v.binary_value)))
        .collect()
}

fn to_wire_attribute(value: AttributeValue) -> wire::MessageAttributeValue {
    let binary = value
        .binary_value
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map(Blob);
    wire::MessageAttributeValue {
        string_value: value.string_value,
        binary_value: binary,
        string_list_values: None,
        binary_list_values: None,
        data_type: value.data_type,
    }
}

fn to_wire_message(m: ReceivedMessage) -> wire::Message {
    wire::Message {
        message_id: Some(m.message_id),
        receipt_handle: Some(m.receipt_handle),
        md5_of_body: Some(m.md5_of_body),
        body: Some(m.body),
        attributes: (!m.attributes.is_empty()).then(|| m.attributes.into_iter().collect()),
        md5_of_message_attributes: m.md5_of_message_attributes,
        message_attributes: (!m.message_attributes.is_empty()).then(|| {
            m.message_attributes
                .into_iter()
                .map(|(k, v)| (k, to_wire_attribute(v)))
                .collect()
        }),
    }
}

fn sorted(map: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    map.unwrap_or_default().into_iter().collect()
}

impl SqsApi for SqsService {
    async fn create_queue(
        &self,
        ctx: &RequestContext,
        input: wire::CreateQueueRequest,
    ) -> Result<wire::CreateQueueResult, ServiceError> {
        let url = self
            .0
            .create_queue(
                ctx,
                input.queue_name,
                sorted(input.attributes),
                sorted(input.tags),
            )
            .await?;
        Ok(wire::CreateQueueResult {
            queue_url: Some(url),
        })
    }

    async fn delete_queue(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteQueueRequest,
    ) -> Result<(), ServiceError> {
        self.0.delete_queue(ctx, &input.queue_url).await
    }

    async fn get_queue_url(
        &self,
        ctx: &RequestContext,
        input: wire::GetQueueUrlRequest,
    ) -> Result<wire::GetQueueUrlResult, ServiceError> {
        let url = self.0.get_queue_url(
            ctx,
            &input.queue_name,
            input.queue_owner_aws_account_id.as_deref(),
        )?;
        Ok(wire::GetQueueUrlResult {
            queue_url: Some(url),
        })
    }

    async fn list_queues(
        &self,
        ctx: &RequestContext,
        input: wire::ListQueuesRequest,
    ) -> Result<wire::ListQueuesResult, ServiceError> {
        let (urls, next_token) = self.0.list_queues(
            ctx,
            input.queue_name_prefix.as_deref(),
            input.max_results.map(i64::from),
            input.next_token.as_deref(),
        )?;
        Ok(wire::ListQueuesResult {
            queue_urls: (!urls.is_empty()).then_some(urls),
            next_token,
        })
    }

    async fn get_queue_attributes(
        &self,
        ctx: &RequestContext,
        input: wire::GetQueueAttributesRequest,
    ) -> Result<wire::GetQueueAttributesResult, ServiceError> {
        let attributes = self.0.get_queue_attributes(
            ctx,
            &input.queue_url,
            &input.attribute_names.unwrap_or_default(),
        )?;
        Ok(wire::GetQueueAttributesResult {
            attributes: (!attributes.is_empty()).then(|| attributes.into_iter().collect()),
        })
    }

    async fn set_queue_attributes(
        &self,
        ctx: &RequestContext,
        input: wire::SetQueueAttributesRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .set_queue_attributes(
                ctx,
                &input.queue_url,
                input.attributes.into_iter().collect(),
            )
            .await
    }

    async fn tag_queue(
        &self,
        ctx: &RequestContext,
        input: wire::TagQueueRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .tag_queue(ctx, &input.queue_url, input.tags.into_iter().collect())
            .await
    }

    async fn untag_queue(
        &self,
        ctx: &RequestContext,
        input: wire::UntagQueueRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .untag_queue(ctx, &input.queue_url, input.tag_keys)
            .await
    }

    async fn list_queue_tags(
        &self,
        ctx: &RequestContext,
        input: wire::ListQueueTagsRequest,
    ) -> Result<wire::ListQueueTagsResult, ServiceError> {
        let tags = self.0.list_queue_tags(ctx, &input.queue_url)?;
        Ok(wire::ListQueueTagsResult {
            tags: (!tags.is_empty()).then(|| tags.into_iter().collect()),
        })
    }

    async fn send_message(
        &self,
        ctx: &RequestContext,
        input: wire::SendMessageRequest,
    ) -> Result<wire::SendMessageResult, ServiceError> {
        let message = NewMessage {
            body: input.message_body,
            delay_seconds: input.delay_seconds.map(i64::from),
            attributes: to_attributes(input.message_attributes),
            system_attributes: to_system_attributes(input.message_system_attributes),
            group_id: input.message_group_id,
            deduplication_id: input.message_deduplication_id,
        };
        let sent = self.0.send_message(ctx, &input.queue_url, message).await?;
        Ok(wire::SendMessageResult {
            md5_of_message_body: Some(sent.md5_of_body),
            md5_of_message_attributes: sent.md5_of_attributes,
            md5_of_message_system_attributes: sent.md5_of_system_attributes,
            message_id: Some(sent.message_id),
            sequence_number: sent.sequence_number,
        })
    }

    async fn send_message_batch(
        &self,
        ctx: &RequestContext,
        input: wire::SendMessageBatchRequest,
    ) -> Result<wire::SendMessageBatchResult, ServiceError> {
        check_batch(
            "SendMessageBatchRequestEntry",
            input.entries.iter().map(|e| e.id.as_str()),
        )?;
        let (ids, messages): (Vec<String>, Vec<NewMessage>) = input
            .entries
            .into_iter()
            .map(|e| {
                let message = NewMessage {
                    body: e.message_body,
                    delay_seconds: e.delay_seconds.map(i64::from),
                    attributes: to_attributes(e.message_attributes),
                    system_attributes: to_system_attributes(e.message_system_attributes),
                    group_id: e.message_group_id,
                    deduplication_id: e.message_deduplication_id,
                };
                (e.id, message)
            })
            .unzip();
        let results = self
            .0
            .send_messages(ctx, &input.queue_url, messages, true)
            .await?;
        let mut out = wire::SendMessageBatchResult::default();
        for (id, result) in ids.into_iter().zip(results) {
            match result {
                Ok(sent) => out.successful.push(wire::SendMessageBatchResultEntry {
                    id,
                    message_id: sent.message_id,
                    md5_of_message_body: sent.md5_of_body,
                    md5_of_message_attributes: sent.md5_of_attributes,
                    md5_of_message_system_attributes: sent.md5_of_system_attributes,
                    sequence_number: sent.sequence_number,
                }),
                Err(err) => out.failed.push(failed_entry(id, &err)),
            }
        }
        Ok(out)
    }

    async fn receive_message(
        &self,
        ctx: &RequestContext,
        input: wire::ReceiveMessageRequest,
    ) -> Result<wire::ReceiveMessageResult, ServiceError> {
        let mut system_names = input.message_system_attribute_names.unwrap_or_default();
        system_names.extend(input.attribute_names.unwrap_or_default());
        let options = ReceiveOptions {
            max_messages: input.max_number_of_messages.map(i64::from),
            visibility_timeout: input.visibility_timeout.map(i64::from),
            wait_time_seconds: input.wait_time_seconds.map(i64::from),
            system_attribute_names: system_names,
            message_attribute_names: input.message_attribute_names.unwrap_or_default(),
            attempt_id: input.receive_request_attempt_id,
        };
        let messages = self
            .0
            .receive_message(ctx, &input.queue_url, options)
            .await?;
        Ok(wire::ReceiveMessageResult {
            messages: (!messages.is_empty())
                .then(|| messages.into_iter().map(to_wire_message).collect()),
        })
    }

    async fn delete_message(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteMessageRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .delete_message(ctx, &input.queue_url, &input.receipt_handle)
            .await
    }

    async fn delete_message_batch(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteMessageBatchRequest,
    ) -> Result<wire::DeleteMessageBatchResult, ServiceError> {
        check_batch(
            "DeleteMessageBatchRequestEntry",
            input.entries.iter().map(|e| e.id.as_str()),
        )?;
        let (ids, handles): (Vec<String>, Vec<String>) = input
            .entries
            .into_iter()
            .map(|e| (e.id, e.receipt_handle))
            .unzip();
        let results = self
            .0
            .delete_messages(ctx, &input.queue_url, handles)
            .await?;
        let (successful, failed) = split_results(ids, results);
        Ok(wire::DeleteMessageBatchResult {
            successful: successful
                .into_iter()
                .map(|id| wire::DeleteMessageBatchResultEntry { id })
                .collect(),
            failed,
        })
    }

    async fn change_message_visibility(
        &self,
        ctx: &RequestContext,
        input: wire::ChangeMessageVisibilityRequest,
    ) -> Result<(), ServiceError> {
        let change = vec![(input.receipt_handle, i64::from(input.visibility_timeout))];
        let mut results = self
            .0
            .change_visibility(ctx, &input.queue_url, change)
            .await?;
        results.pop().unwrap_or(Ok(()))
    }

    async fn change_message_visibility_batch(
        &self,
        ctx: &RequestContext,
        input: wire::ChangeMessageVisibilityBatchRequest,
    ) -> Result<wire::ChangeMessageVisibilityBatchResult, ServiceError> {
        check_batch(
            "ChangeMessageVisibilityBatchRequestEntry",
            input.entries.iter().map(|e| e.id.as_str()),
        )?;
        let (ids, changes): (Vec<String>, Vec<(String, i64)>) = input
            .entries
            .into_iter()
            .map(|e| {
                (
                    e.id,
                    (
                        e.receipt_handle,
                        i64::from(e.visibility_timeout.unwrap_or(0)),
                    ),
                )
            })
            .unzip();
        let results = self
            .0
            .change_visibility(ctx, &input.queue_url, changes)
            .await?;
        let (successful, failed) = split_results(ids, results);
        Ok(wire::ChangeMessageVisibilityBatchResult {
            successful: successful
                .into_iter()
                .map(|id| wire::ChangeMessageVisibilityBatchResultEntry { id })
                .collect(),
            failed,
        })
    }

    async fn purge_queue(
        &self,
        ctx: &RequestContext,
        input: wire::PurgeQueueRequest,
    ) -> Result<(), ServiceError> {
        self.0.purge_queue(ctx, &input.queue_url).await
    }

    async fn list_dead_letter_source_queues(
        &self,
        ctx: &RequestContext,
        input: wire::ListDeadLetterSourceQueuesRequest,
    ) -> Result<wire::ListDeadLetterSourceQueuesResult, ServiceError> {
        let (queue_urls, next_token) = self.0.list_dead_letter_source_queues(
            ctx,
            &input.queue_url,
            input.max_results.map(i64::from),
            input.next_token.as_deref(),
        )?;
        Ok(wire::ListDeadLetterSourceQueuesResult {
            queue_urls,
            next_token,
        })
    }

    async fn start_message_move_task(
        &self,
        ctx: &RequestContext,
        input: wire::StartMessageMoveTaskRequest,
    ) -> Result<wire::StartMessageMoveTaskResult, ServiceError> {
        let handle = self
            .0
            .start_message_move_task(
                ctx,
                input.source_arn,
                input.destination_arn,
                input.max_number_of_messages_per_second.map(i64::from),
            )
            .await?;
        Ok(wire::StartMessageMoveTaskResult {
            task_handle: Some(handle),
        })
    }

    async fn cancel_message_move_task(
        &self,
        _ctx: &RequestContext,
        input: wire::CancelMessageMoveTaskRequest,
    ) -> Result<wire::CancelMessageMoveTaskResult, ServiceError> {
        let moved = self.0.cancel_message_move_task(input.task_handle).await?;
        Ok(wire::CancelMessageMoveTaskResult {
            approximate_number_of_messages_moved: Some(moved),
        })
    }

    async fn list_message_move_tasks(
        &self,
        _ctx: &RequestContext,
        input: wire::ListMessageMoveTasksRequest,
    ) -> Result<wire::ListMessageMoveTasksResult, ServiceError> {
        let tasks = self
            .0
            .list_message_move_tasks(&input.source_arn, input.max_results.map(i64::from))?;
        Ok(wire::ListMessageMoveTasksResult {
            results: Some(
                tasks
                    .into_iter()
                    .map(|t| wire::ListMessageMoveTasksResultEntry {
                        task_handle: t.task_handle,
                        status: Some(t.status),
                        source_arn: Some(t.source_arn),
                        destination_arn: t.destination_arn,
                        max_number_of_messages_per_second: t
                            .max_per_second
                            .and_then(|r| i32::try_from(r).ok()),
                        approximate_number_of_messages_moved: Some(t.moved),
                        approximate_number_of_messages_to_move: Some(t.to_move),
                        failure_reason: t.failure_reason,
                        started_timestamp: Some(t.started_at_ms),
                    })
                    .collect(),
            ),
        })
    }

    async fn add_permission(
        &self,
        ctx: &RequestContext,
        input: wire::AddPermissionRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .add_permission(
                ctx,
                &input.queue_url,
                input.label,
                input.aws_account_ids,
                input.actions,
            )
            .await
    }

    async fn remove_permission(
        &self,
        ctx: &RequestContext,
        input: wire::RemovePermissionRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .remove_permission(ctx, &input.queue_url, input.label)
            .await
    }

    async fn reset(&self) -> Result<(), ServiceError> {
        self.0.reset().await
    }
}
