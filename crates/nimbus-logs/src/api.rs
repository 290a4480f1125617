//! Adapts the generated CloudWatch Logs wire shapes to the domain operations.

use std::collections::BTreeMap;
use std::sync::Arc;

use nimbus_core::effects::LogEvent;
use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::logs::{self as wire, LogsApi};

use crate::events::{FilterQuery, StreamRead};
use crate::groups::StreamQuery;
use crate::{Logs, Scope, errors};

/// The Logs service as the generated dispatcher calls it.
#[derive(Clone)]
pub struct LogsService(pub Arc<Logs>);

fn scope(ctx: &RequestContext) -> Scope {
    Scope {
        account: ctx.account_id.clone(),
        region: ctx.region.clone(),
    }
}

fn group_arn(ctx: &RequestContext, name: &str) -> String {
    format!(
        "arn:aws:logs:{}:{}:log-group:{name}",
        ctx.region, ctx.account_id
    )
}

/// A group named by `logGroupName` or `logGroupIdentifier` (a name or an ARN).
fn group_name(name: Option<String>, identifier: Option<String>) -> Result<String, ServiceError> {
    match (name, identifier) {
        (Some(_), Some(_)) => Err(errors::invalid(
            "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
        )),
        (Some(name), None) => Ok(name),
        (None, Some(id)) => Ok(group_of_arn(&id).unwrap_or(id)),
        (None, None) => Err(errors::invalid(
            "Either logGroupName or logGroupIdentifier must be given.",
        )),
    }
}

fn group_of_arn(arn: &str) -> Option<String> {
    let rest = arn.strip_prefix("arn:")?;
    let (_, name) = rest.split_once(":log-group:")?;
    Some(name.strip_suffix(":*").unwrap_or(name).to_owned())
}

fn limit(value: Option<i32>, max: i32) -> Result<i64, ServiceError> {
    match value {
        None => Ok(i64::from(max)),
        Some(v) if (1..=max).contains(&v) => Ok(i64::from(v)),
        Some(v) => Err(errors::invalid(format!(
            "1 validation error detected: Value '{v}' at 'limit' failed to satisfy constraint: Member must have value between 1 and {max}"
        ))),
    }
}

impl LogsApi for LogsService {
    async fn create_log_group(
        &self,
        ctx: &RequestContext,
        input: wire::CreateLogGroupRequest,
    ) -> Result<(), ServiceError> {
        let tags: BTreeMap<String, String> = input.tags.unwrap_or_default().into_iter().collect();
        self.0
            .create_group(
                &scope(ctx),
                &input.log_group_name,
                input.log_group_class,
                input.kms_key_id,
                tags,
            )
            .await
    }

    async fn delete_log_group(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteLogGroupRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .delete_group(&scope(ctx), &input.log_group_name)
            .await
    }

    async fn describe_log_groups(
        &self,
        ctx: &RequestContext,
        input: wire::DescribeLogGroupsRequest,
    ) -> Result<wire::DescribeLogGroupsResponse, ServiceError> {
        let (groups, next) = self.0.describe_groups(
            &scope(ctx),
            input.log_group_name_prefix.as_deref(),
            input.next_token.as_deref(),
            limit(input.limit, 50)?,
        )?;
        Ok(wire::DescribeLogGroupsResponse {
            log_groups: Some(
                groups
                    .into_iter()
                    .map(|g| wire::LogGroup {
                        arn: Some(format!("{}:*", group_arn(ctx, &g.name))),
                        log_group_arn: Some(group_arn(ctx, &g.name)),
                        creation_time: Some(g.created_at),
                        retention_in_days: g.retention_days.and_then(|d| i32::try_from(d).ok()),
                        metric_filter_count: Some(0),
                        stored_bytes: Some(g.stored_bytes),
                        kms_key_id: g.kms_key_id,
                        log_group_class: Some(g.log_class),
                        log_group_name: Some(g.name),
                        ..Default::default()
                    })
                    .collect(),
            ),
            next_token: next,
        })
    }

    async fn create_log_stream(
        &self,
        ctx: &RequestContext,
        input: wire::CreateLogStreamRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .create_stream(&scope(ctx), &input.log_group_name, &input.log_stream_name)
            .await
    }

    async fn delete_log_stream(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteLogStreamRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .delete_stream(&scope(ctx), &input.log_group_name, &input.log_stream_name)
            .await
    }

    async fn describe_log_streams(
        &self,
        ctx: &RequestContext,
        input: wire::DescribeLogStreamsRequest,
    ) -> Result<wire::DescribeLogStreamsResponse, ServiceError> {
        let group = group_name(input.log_group_name, input.log_group_identifier)?;
        let by_last_event = match input.order_by.as_deref() {
            None | Some("LogStreamName") => false,
            Some("LastEventTime") => true,
            Some(other) => {
                return Err(errors::invalid(format!(
                    "1 validation error detected: Value '{other}' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]"
                )));
            }
        };
        let query = StreamQuery {
            prefix: input.log_stream_name_prefix,
            by_last_event,
            descending: input.descending.unwrap_or(false),
            token: input.next_token,
            limit: limit(input.limit, 50)?,
        };
        let (streams, next) = self.0.describe_streams(&scope(ctx), &group, &query)?;
        let arn = group_arn(ctx, &group);
        Ok(wire::DescribeLogStreamsResponse {
            log_streams: Some(
                streams
                    .into_iter()
                    .map(|s| wire::LogStream {
                        arn: Some(format!("{arn}:log-stream:{}", s.name)),
                        creation_time: Some(s.created_at),
                        first_event_timestamp: s.first_event_at,
                        last_event_timestamp: s.last_event_at,
                        last_ingestion_time: s.last_ingestion_at,
                        stored_bytes: Some(s.stored_bytes),
                        log_stream_name: Some(s.name),
                        ..Default::default()
                    })
                    .collect(),
            ),
            next_token: next,
        })
    }

    async fn put_log_events(
        &self,
        ctx: &RequestContext,
        input: wire::PutLogEventsRequest,
    ) -> Result<wire::PutLogEventsResponse, ServiceError> {
        let events = input
            .log_events
            .into_iter()
            .map(|e| LogEvent {
                timestamp_ms: e.timestamp,
                message: e.message,
            })
            .collect();
        let rejected = self
            .0
            .put_events(
                &scope(ctx),
                &input.log_group_name,
                &input.log_stream_name,
                events,
            )
            .await?;
        let index = |i: Option<usize>| i.and_then(|i| i32::try_from(i).ok());
        let info = (rejected.too_new_start.is_some()
            || rejected.too_old_end.is_some()
            || rejected.expired_end.is_some())
        .then(|| wire::RejectedLogEventsInfo {
            too_new_log_event_start_index: index(rejected.too_new_start),
            too_old_log_event_end_index: index(rejected.too_old_end),
            expired_log_event_end_index: index(rejected.expired_end),
        });
        Ok(wire::PutLogEventsResponse {
            next_sequence_token: None,
            rejected_log_events_info: info,
            rejected_entity_info: None,
        })
    }

    async fn get_log_events(
        &self,
        ctx: &RequestContext,
        input: wire::GetLogEventsRequest,
    ) -> Result<wire::GetLogEventsResponse, ServiceError> {
        let group = group_name(input.log_group_name, input.log_group_identifier)?;
        let read = StreamRead {
            start: input.start_time,
            end: input.end_time,
            token: input.next_token,
            from_head: input.start_from_head.unwrap_or(false),
            limit: limit(input.limit, 10_000)?,
        };
        let page = self
            .0
            .get_events(&scope(ctx), &group, &input.log_stream_name, &read)?;
        Ok(wire::GetLogEventsResponse {
            events: Some(
                page.events
                    .into_iter()
                    .map(|e| wire::OutputLogEvent {
                        timestamp: Some(e.timestamp),
                        message: Some(e.message),
                        ingestion_time: Some(e.ingestion_time),
                    })
                    .collect(),
            ),
            next_forward_token: Some(page.forward_token),
            next_backward_token: Some(page.backward_token),
        })
    }

    async fn filter_log_events(
        &self,
        ctx: &RequestContext,
        input: wire::FilterLogEventsRequest,
    ) -> Result<wire::FilterLogEventsResponse, ServiceError> {
        let group = group_name(input.log_group_name, input.log_group_identifier)?;
        if input.log_stream_names.is_some() && input.log_stream_name_prefix.is_some() {
            return Err(errors::invalid(
                "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
            ));
        }
        let query = FilterQuery {
            streams: input.log_stream_names,
            stream_prefix: input.log_stream_name_prefix,
            start: input.start_time,
            end: input.end_time,
            pattern: input.filter_pattern,
            token: input.next_token,
            limit: usize::try_from(limit(input.limit, 10_000)?).unwrap_or(10_000),
        };
        let (events, next) = self.0.filter_events(&scope(ctx), &group, &query)?;
        let mut searched: Vec<String> = events.iter().map(|e| e.stream.clone()).collect();
        searched.sort();
        searched.dedup();
        Ok(wire::FilterLogEventsResponse {
            events: Some(
                events
                    .into_iter()
                    .map(|e| wire::FilteredLogEvent {
                        log_stream_name: Some(e.stream),
                        timestamp: Some(e.event.timestamp),
                        ingestion_time: Some(e.event.ingestion_time),
                        event_id: Some(format!("{:056}", e.event.id)),
                        message: Some(e.event.message),
                    })
                    .collect(),
            ),
            searched_log_streams: Some(
                searched
                    .into_iter()
                    .map(|name| wire::SearchedLogStream {
                        log_stream_name: Some(name),
                        searched_completely: Some(next.is_none()),
                    })
                    .collect(),
            ),
            next_token: next,
        })
    }

    async fn put_retention_policy(
        &self,
        ctx: &RequestContext,
        input: wire::PutRetentionPolicyRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .set_retention(
                &scope(ctx),
                &input.log_group_name,
                Some(i64::from(input.retention_in_days)),
            )
            .await
    }

    async fn delete_retention_policy(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteRetentionPolicyRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .set_retention(&scope(ctx), &input.log_group_name, None)
            .await
    }

    async fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: wire::TagResourceRequest,
    ) -> Result<(), ServiceError> {
        let group = group_of_arn(&input.resource_arn)
            .ok_or_else(|| errors::invalid("Invalid resource ARN."))?;
        self.0
            .change_tags(
                &scope(ctx),
                &group,
                input.tags.into_iter().collect(),
                Vec::new(),
            )
            .await
    }

    async fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: wire::UntagResourceRequest,
    ) -> Result<(), ServiceError> {
        let group = group_of_arn(&input.resource_arn)
            .ok_or_else(|| errors::invalid("Invalid resource ARN."))?;
        self.0
            .change_tags(&scope(ctx), &group, BTreeMap::new(), input.tag_keys)
            .await
    }

    async fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: wire::ListTagsForResourceRequest,
    ) -> Result<wire::ListTagsForResourceResponse, ServiceError> {
        let group = group_of_arn(&input.resource_arn)
            .ok_or_else(|| errors::invalid("Invalid resource ARN."))?;
        let tags = self.0.group_tags(&scope(ctx), &group)?;
        Ok(wire::ListTagsForResourceResponse {
            tags: Some(tags.into_iter().collect()),
        })
    }

    async fn tag_log_group(
        &self,
        ctx: &RequestContext,
        input: wire::TagLogGroupRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .change_tags(
                &scope(ctx),
                &input.log_group_name,
                input.tags.into_iter().collect(),
                Vec::new(),
            )
            .await
    }

    async fn untag_log_group(
        &self,
        ctx: &RequestContext,
        input: wire::UntagLogGroupRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .change_tags(
                &scope(ctx),
                &input.log_group_name,
                BTreeMap::new(),
                input.tags,
            )
            .await
    }

    async fn list_tags_log_group(
        &self,
        ctx: &RequestContext,
        input: wire::ListTagsLogGroupRequest,
    ) -> Result<wire::ListTagsLogGroupResponse, ServiceError> {
        let tags = self.0.group_tags(&scope(ctx), &input.log_group_name)?;
        Ok(wire::ListTagsLogGroupResponse {
            tags: Some(tags.into_iter().collect()),
        })
    }

    async fn reset(&self) -> Result<(), ServiceError> {
        self.0.reset().await
    }
}
