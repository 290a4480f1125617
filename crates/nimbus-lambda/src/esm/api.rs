//! CreateEventSourceMapping, Get, List, Update and Delete: AWS's checks for SQS sources (stream
//! sources branch off to [`super::stream_mapping`]), and
//! the `EventSourceMappingConfiguration` clients read back.

use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::Timestamp;
use nimbus_model::lambda as wire;
use nimbus_store::TxError;

use super::filter::Filters;
use super::sqs::is_queue_arn;
use super::store::{self, ListQuery};
use super::stream_api::{self, is_stream_arn};
use super::{MappingRecord, MappingState};
use crate::record::{function_arn, parse_function_ref};
use crate::{Lambda, errors};

const DEFAULT_BATCH_SIZE: u32 = 10;
const MAX_BATCH_SIZE: i32 = 10_000;
const MAX_FIFO_BATCH_SIZE: u32 = 10;
const MAX_BATCHING_WINDOW: i32 = 300;
const DEFAULT_LIST_ITEMS: i32 = 100;
const MAX_LIST_ITEMS: i32 = 10_000;

fn not_found() -> ServiceError {
    wire::errors::resource_not_found_exception("The resource you requested does not exist.")
}

/// The settings a create or an update may change, before they are merged and checked.
#[derive(Default)]
pub(super) struct Changes {
    pub batch_size: Option<i32>,
    pub batching_window: Option<i32>,
    pub response_types: Option<Vec<String>>,
    pub scaling: Option<wire::ScalingConfig>,
    pub filters: Option<wire::FilterCriteria>,
}

/// Presence of the parameters a Create and an Update request both name alike, as
/// `(name, given)` pairs for [`refuse_unsupported`]: `stream` those only stream sources take,
/// `broker` those of Kafka, MQ and DocumentDB sources.
macro_rules! given {
    (stream $input:expr) => {
        [
            (
                "ParallelizationFactor",
                $input.parallelization_factor.is_some(),
            ),
            (
                "BisectBatchOnFunctionError",
                $input.bisect_batch_on_function_error.is_some(),
            ),
            (
                "MaximumRecordAgeInSeconds",
                $input.maximum_record_age_in_seconds.is_some(),
            ),
            (
                "MaximumRetryAttempts",
                $input.maximum_retry_attempts.is_some(),
            ),
            (
                "TumblingWindowInSeconds",
                $input.tumbling_window_in_seconds.is_some(),
            ),
            ("DestinationConfig", $input.destination_config.is_some()),
        ]
    };
    (broker $input:expr) => {
        [
            (
                "SourceAccessConfigurations",
                $input.source_access_configurations.is_some(),
            ),
            (
                "AmazonManagedKafkaEventSourceConfig",
                $input.amazon_managed_kafka_event_source_config.is_some(),
            ),
            (
                "SelfManagedKafkaEventSourceConfig",
                $input.self_managed_kafka_event_source_config.is_some(),
            ),
            (
                "DocumentDBEventSourceConfig",
                $input.document_db_event_source_config.is_some(),
            ),
        ]
    };
}
pub(super) use given;

/// Parameters of Kafka, MQ and DocumentDB sources in a create, refused for queues and
/// streams alike.
pub(super) fn broker_parameters(
    input: &wire::CreateEventSourceMappingRequest,
) -> Vec<(&'static str, bool)> {
    let [access, rest @ ..] = given!(broker input);
    let mut given = vec![
        ("Topics", input.topics.is_some()),
        ("Queues", input.queues.is_some()),
        access,
        (
            "SelfManagedEventSource",
            input.self_managed_event_source.is_some(),
        ),
    ];
    given.extend(rest);
    given
}

/// How AWS names each kind of source in its refusals.
pub(super) const SQS_SOURCE: &str = "Amazon SQS";
pub(super) const STREAMS_SOURCE: &str = "Amazon DynamoDB Streams";

/// Refuses the first parameter given that a `source` does not take.
pub(super) fn refuse_unsupported(source: &str, given: &[(&str, bool)]) -> Result<(), ServiceError> {
    match given.iter().find(|(_, present)| *present) {
        Some((name, _)) => Err(errors::invalid(format!(
            "Unsupported {name} parameter for an {source} event source."
        ))),
        None => Ok(()),
    }
}

/// What every update of a mapping starts with: a mapping being deleted cannot change, and a
/// new `FunctionName` is resolved.
pub(super) fn begin_update(
    lambda: &Lambda,
    ctx: &RequestContext,
    record: &mut MappingRecord,
    function_name: Option<&str>,
) -> Result<(), ServiceError> {
    if record.state == MappingState::Deleting {
        return Err(wire::errors::resource_in_use_exception(format!(
            "Cannot update the event source mapping {} because it is being deleted.",
            record.uuid
        )));
    }
    if let Some(name) = function_name {
        record.function_arn = resolve_function(lambda, ctx, name)?;
    }
    Ok(())
}

/// AWS's answer to a second mapping of the same source and function.
fn duplicate(stored: &MappingRecord, existing: &str) -> ServiceError {
    let function = stored
        .function_arn
        .rsplit(":function:")
        .next()
        .unwrap_or_default();
    wire::errors::resource_conflict_exception(if stored.stream.is_some() {
        format!(
            "The event source arn (\" {} \") and function (\" {function} \") provided mapping already exists. Please update or delete the existing mapping with UUID {existing}",
            stored.source_arn
        )
    } else {
        format!(
            "An event source mapping with SQS arn (\" {} \") and function (\" {function} \") already exists. Please update or delete the existing mapping with UUID {existing}",
            stored.source_arn
        )
    })
}

/// The ARN a mapping keeps for `FunctionName`: qualified when the name carries a qualifier.
/// The function must exist; its qualifier is checked as every other Lambda operation does.
pub(super) fn resolve_function(
    lambda: &Lambda,
    ctx: &RequestContext,
    text: &str,
) -> Result<String, ServiceError> {
    let reference = parse_function_ref(ctx, text, None)?;
    // A version or alias must exist; the poller invokes the qualified ARN, as AWS's does.
    crate::versions_api::resolve(lambda, ctx, &reference)?;
    let arn = function_arn(ctx, &reference.name);
    Ok(match reference.qualifier {
        Some(q) => format!("{arn}:{q}"),
        None => arn,
    })
}

/// Applies changes to a mapping and checks the result against the queue.
pub(super) fn apply(
    record: &mut MappingRecord,
    changes: Changes,
    fifo: bool,
) -> Result<(), ServiceError> {
    let stream = record.stream.is_some();
    if let Some(size) = changes.batch_size {
        if !(1..=MAX_BATCH_SIZE).contains(&size) {
            return Err(errors::invalid(format!(
                "Batch size {size} is out of range: it must be between 1 and {MAX_BATCH_SIZE}."
            )));
        }
        record.batch_size = u32::try_from(size).unwrap_or(DEFAULT_BATCH_SIZE);
    }
    if let Some(window) = changes.batching_window {
        if !(0..=MAX_BATCHING_WINDOW).contains(&window) {
            return Err(errors::invalid(format!(
                "MaximumBatchingWindowInSeconds {window} is out of range: it must be between 0 and {MAX_BATCHING_WINDOW}."
            )));
        }
        record.batching_window_secs = u32::try_from(window).unwrap_or(0);
    }
    if let Some(types) = changes.response_types {
        if types.iter().any(|t| t != "ReportBatchItemFailures") {
            return Err(ServiceError::validation(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '[{}]' at 'functionResponseTypes' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]",
                    types.join(", ")
                ),
            ));
        }
        record.report_batch_item_failures = !types.is_empty();
    }
    if let Some(scaling) = changes.scaling.filter(|_| !stream) {
        record.max_concurrency = match scaling.maximum_concurrency {
            None => None,
            Some(m) if (2..=1000).contains(&m) => u32::try_from(m).ok(),
            Some(m) => {
                return Err(errors::invalid(format!(
                    "MaximumConcurrency {m} is out of range: it must be between 2 and 1000."
                )));
            }
        };
    }
    if let Some(criteria) = changes.filters {
        let patterns: Vec<String> = criteria
            .filters
            .unwrap_or_default()
            .into_iter()
            .map(|f| f.pattern.unwrap_or_default())
            .collect();
        Filters::compile(&patterns)?;
        record.filters = patterns;
    }
    if fifo {
        if record.batch_size > MAX_FIFO_BATCH_SIZE {
            return Err(errors::invalid(format!(
                "Batch size {} is out of range for a FIFO queue: it must be between 1 and {MAX_FIFO_BATCH_SIZE}.",
                record.batch_size
            )));
        }
        if record.batching_window_secs > 0 {
            return Err(errors::invalid(
                "MaximumBatchingWindowInSeconds is not supported for FIFO queues.",
            ));
        }
    } else if !stream && record.batch_size > 10 && record.batching_window_secs == 0 {
        return Err(errors::invalid(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
        ));
    }
    Ok(())
}

impl Lambda {
    /// The queue a mapping reads; a missing queue is refused the way AWS reports it.
    async fn check_queue(
        &self,
        source_arn: &str,
    ) -> Result<nimbus_core::effects::QueueDescription, ServiceError> {
        let Some(queues) = self.event_sources.queues.get() else {
            return Err(errors::invalid("Unrecognized event source."));
        };
        queues.describe_queue(source_arn).await.map_err(|_| {
            errors::invalid(
                "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist or you do not have access to it.",
            )
        })
    }

    /// AWS requires the queue's visibility timeout to cover the function's timeout.
    fn check_timeouts(
        &self,
        ctx: &RequestContext,
        function_arn: &str,
        visibility_secs: i64,
    ) -> Result<(), ServiceError> {
        let name = parse_function_ref(ctx, function_arn, None)?.name;
        let timeout = i64::from(self.get_function(ctx, &name)?.record.timeout_secs);
        if visibility_secs < timeout {
            return Err(errors::invalid(format!(
                "Queue visibility timeout: {visibility_secs} seconds is less than Function timeout: {timeout} seconds"
            )));
        }
        Ok(())
    }

    pub(crate) async fn create_mapping(
        self: &Arc<Self>,
        ctx: &RequestContext,
        input: wire::CreateEventSourceMappingRequest,
    ) -> Result<MappingRecord, ServiceError> {
        let Some(source_arn) = input.event_source_arn.clone() else {
            return Err(errors::invalid("Unrecognized event source."));
        };
        if is_stream_arn(&source_arn) {
            return self.create_stream_mapping(ctx, source_arn, input).await;
        }
        if !is_queue_arn(&source_arn) {
            return Err(errors::invalid(
                "Unrecognized event source: nimbus maps Amazon SQS queues and DynamoDB streams.",
            ));
        }
        refuse_unsupported(
            SQS_SOURCE,
            &[
                ("StartingPosition", input.starting_position.is_some()),
                (
                    "StartingPositionTimestamp",
                    input.starting_position_timestamp.is_some(),
                ),
            ],
        )?;
        refuse_unsupported(SQS_SOURCE, &given!(stream input))?;
        refuse_unsupported(SQS_SOURCE, &broker_parameters(&input))?;
        let function_arn = resolve_function(self, ctx, &input.function_name)?;
        let queue = self.check_queue(&source_arn).await?;
        let mut record = MappingRecord {
            uuid: nimbus_core::ids::uuid(),
            account: ctx.account_id.clone(),
            region: ctx.region.clone(),
            source_arn,
            function_arn,
            batch_size: DEFAULT_BATCH_SIZE,
            batching_window_secs: 0,
            report_batch_item_failures: false,
            max_concurrency: None,
            filters: Vec::new(),
            enabled: input.enabled.unwrap_or(true),
            state: MappingState::Creating,
            state_reason: "USER_INITIATED".into(),
            last_modified_ms: self.clock.now_ms(),
            generation: 1,
            stream: None,
        };
        let changes = Changes {
            batch_size: input.batch_size,
            batching_window: input.maximum_batching_window_in_seconds,
            response_types: input.function_response_types,
            scaling: input.scaling_config,
            filters: input.filter_criteria,
        };
        apply(&mut record, changes, queue.fifo)?;
        self.check_timeouts(ctx, &record.function_arn, queue.visibility_timeout_secs)?;
        self.insert_mapping(record).await
    }

    /// Stores a new mapping unless its source and function are mapped already.
    pub(super) async fn insert_mapping(
        self: &Arc<Self>,
        record: MappingRecord,
    ) -> Result<MappingRecord, ServiceError> {
        let stored = record.clone();
        self.db
            .write(move |tx| {
                if let Some(existing) = store::find_pair(tx, &stored)? {
                    return Err(TxError::Abort(duplicate(&stored, &existing.uuid)));
                }
                store::put(tx, &stored).map_err(TxError::Db)
            })
            .await?;
        self.event_sources.changed.notify_one();
        Ok(record)
    }

    pub(crate) fn get_mapping(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<MappingRecord, ServiceError> {
        self.db
            .read(|tx| store::load(tx, uuid))?
            .filter(|m| m.account == ctx.account_id && m.region == ctx.region)
            .ok_or_else(not_found)
    }

    pub(crate) fn list_mapping_page(
        &self,
        ctx: &RequestContext,
        input: &wire::ListEventSourceMappingsRequest,
    ) -> Result<(Vec<MappingRecord>, Option<String>), ServiceError> {
        let max = input.max_items.unwrap_or(DEFAULT_LIST_ITEMS);
        if !(1..=MAX_LIST_ITEMS).contains(&max) {
            return Err(errors::invalid(format!(
                "MaxItems {max} is out of range: it must be between 1 and {MAX_LIST_ITEMS}."
            )));
        }
        let function_arn = input
            .function_name
            .as_deref()
            .map(|name| {
                let reference = parse_function_ref(ctx, name, None)?;
                let arn = function_arn(ctx, &reference.name);
                Ok::<_, ServiceError>(match reference.qualifier {
                    Some(q) => format!("{arn}:{q}"),
                    None => arn,
                })
            })
            .transpose()?;
        self.list_mappings(&ListQuery {
            account: &ctx.account_id,
            region: &ctx.region,
            source_arn: input.event_source_arn.as_deref(),
            function_arn: function_arn.as_deref(),
            after: input.marker.as_deref().unwrap_or(""),
            limit: usize::try_from(max).unwrap_or(100),
        })
    }

    pub(crate) async fn update_mapping(
        self: &Arc<Self>,
        ctx: &RequestContext,
        input: wire::UpdateEventSourceMappingRequest,
    ) -> Result<MappingRecord, ServiceError> {
        let mut record = self.get_mapping(ctx, &input.uuid)?;
        if record.stream.is_some() {
            return self.update_stream_mapping(ctx, record, input).await;
        }
        refuse_unsupported(SQS_SOURCE, &given!(stream input))?;
        refuse_unsupported(SQS_SOURCE, &given!(broker input))?;
        begin_update(self, ctx, &mut record, input.function_name.as_deref())?;
        let queue = self.check_queue(&record.source_arn).await?;
        let changes = Changes {
            batch_size: input.batch_size,
            batching_window: input.maximum_batching_window_in_seconds,
            response_types: input.function_response_types,
            scaling: input.scaling_config,
            filters: input.filter_criteria,
        };
        apply(&mut record, changes, queue.fifo)?;
        self.check_timeouts(ctx, &record.function_arn, queue.visibility_timeout_secs)?;
        self.finish_update(record, input.enabled).await
    }

    /// Moves an updated mapping into its next state and stores it.
    pub(super) async fn finish_update(
        self: &Arc<Self>,
        mut record: MappingRecord,
        enabled: Option<bool>,
    ) -> Result<MappingRecord, ServiceError> {
        let input_enabled = enabled;
        record.state = match input_enabled {
            Some(true) if !record.enabled => MappingState::Enabling,
            Some(false) if record.enabled => MappingState::Disabling,
            _ => MappingState::Updating,
        };
        if let Some(enabled) = input_enabled {
            record.enabled = enabled;
        }
        record.state_reason = "USER_INITIATED".into();
        record.last_modified_ms = self.clock.now_ms();
        self.commit_change(record).await
    }

    pub(crate) async fn delete_mapping(
        self: &Arc<Self>,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<MappingRecord, ServiceError> {
        let mut record = self.get_mapping(ctx, uuid)?;
        record.state = MappingState::Deleting;
        record.state_reason = "USER_INITIATED".into();
        self.commit_change(record).await
    }

    /// Stores a changed mapping under a new generation, unless a concurrent change won.
    async fn commit_change(
        self: &Arc<Self>,
        mut record: MappingRecord,
    ) -> Result<MappingRecord, ServiceError> {
        let seen = record.generation;
        record.generation += 1;
        let stored = record.clone();
        self.db
            .write(move |tx| {
                let current = store::load(tx, &stored.uuid)?;
                match current {
                    None => Err(TxError::Abort(not_found())),
                    Some(current) if current.generation != seen => {
                        Err(TxError::Abort(wire::errors::resource_conflict_exception(
                            "The event source mapping was changed by another request. Read it again and retry.",
                        )))
                    }
                    Some(current) => {
                        let mut stored = stored.clone();
                        // The poller owns the checkpoint; a settings change must not move it back.
                        if let (Some(settings), Some(now)) = (stored.stream.as_mut(), current.stream) {
                            settings.checkpoint = now.checkpoint;
                        }
                        if let Some(other) = store::find_pair(tx, &stored)? {
                            return Err(TxError::Abort(duplicate(&stored, &other.uuid)));
                        }
                        store::put(tx, &stored).map_err(TxError::Db)
                    }
                }
            })
            .await?;
        self.event_sources.changed.notify_one();
        Ok(record)
    }
}

/// A mapping as the API answers it.
pub(crate) fn configuration(record: &MappingRecord) -> wire::EventSourceMappingConfiguration {
    let esm_arn = format!(
        "arn:aws:lambda:{}:{}:event-source-mapping:{}",
        record.region, record.account, record.uuid
    );
    let mut config = wire::EventSourceMappingConfiguration {
        uuid: Some(record.uuid.clone()),
        batch_size: i32::try_from(record.batch_size).ok(),
        maximum_batching_window_in_seconds: i32::try_from(record.batching_window_secs).ok(),
        event_source_arn: Some(record.source_arn.clone()),
        function_arn: Some(record.function_arn.clone()),
        last_modified: Some(Timestamp::from_millis(record.last_modified_ms)),
        state: Some(record.state.as_str().to_owned()),
        state_transition_reason: Some(record.state_reason.clone()),
        function_response_types: Some(if record.report_batch_item_failures {
            vec!["ReportBatchItemFailures".to_owned()]
        } else {
            Vec::new()
        }),
        scaling_config: record.max_concurrency.map(|m| wire::ScalingConfig {
            maximum_concurrency: i32::try_from(m).ok(),
        }),
        filter_criteria: (!record.filters.is_empty()).then(|| wire::FilterCriteria {
            filters: Some(
                record
                    .filters
                    .iter()
                    .map(|p| wire::Filter {
                        pattern: Some(p.clone()),
                    })
                    .collect(),
            ),
        }),
        event_source_mapping_arn: Some(esm_arn),
        ..Default::default()
    };
    if let Some(stream) = &record.stream {
        stream_api::describe(stream, &mut config);
    }
    config
}
