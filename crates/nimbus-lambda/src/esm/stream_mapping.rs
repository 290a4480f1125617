//! CreateEventSourceMapping and UpdateEventSourceMapping for DynamoDB stream sources: the
//! starting position resolved against the stream, and the parameters AWS refuses for them.

use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::lambda as wire;

use super::api::{
    Changes, STREAMS_SOURCE, apply, begin_update, broker_parameters, given, refuse_unsupported,
    resolve_function,
};
use super::stream_api::{self, StreamChanges};
use super::{MappingRecord, MappingState, StreamSettings};
use crate::{Lambda, errors};

impl Lambda {
    /// The stream a mapping reads; a missing stream is refused the way AWS reports it.
    async fn check_stream(
        &self,
        ctx: &RequestContext,
        stream_arn: &str,
    ) -> Result<nimbus_core::effects::StreamShard, ServiceError> {
        let Some(streams) = self.event_sources.streams.get() else {
            return Err(errors::invalid("Unrecognized event source."));
        };
        streams
            .describe_shard(&ctx.account_id, &ctx.region, stream_arn)
            .await
            .map_err(|_| errors::invalid(format!("Stream not found: {stream_arn}")))
    }

    pub(super) async fn create_stream_mapping(
        self: &Arc<Self>,
        ctx: &RequestContext,
        source_arn: String,
        input: wire::CreateEventSourceMappingRequest,
    ) -> Result<MappingRecord, ServiceError> {
        refuse_queue_parameters(&input)?;
        let position = stream_api::starting_position(input.starting_position.as_deref())?;
        let function_arn = resolve_function(self, ctx, &input.function_name)?;
        let shard = self.check_stream(ctx, &source_arn).await?;
        let checkpoint = match position.as_str() {
            "LATEST" => shard.latest_sequence_number,
            _ => None,
        };
        let mut record = MappingRecord {
            uuid: nimbus_core::ids::uuid(),
            account: ctx.account_id.clone(),
            region: ctx.region.clone(),
            source_arn,
            function_arn,
            batch_size: stream_api::DEFAULT_BATCH_SIZE,
            batching_window_secs: 0,
            report_batch_item_failures: false,
            max_concurrency: None,
            filters: Vec::new(),
            enabled: input.enabled.unwrap_or(true),
            state: MappingState::Creating,
            state_reason: "USER_INITIATED".into(),
            last_modified_ms: self.clock.now_ms(),
            generation: 1,
            stream: Some(StreamSettings {
                starting_position: position,
                parallelization_factor: 1,
                bisect_on_error: false,
                max_retry_attempts: -1,
                max_record_age_secs: -1,
                on_failure: None,
                checkpoint,
            }),
        };
        let changes = Changes {
            batch_size: input.batch_size,
            batching_window: input.maximum_batching_window_in_seconds,
            response_types: input.function_response_types,
            scaling: None,
            filters: input.filter_criteria,
        };
        apply(&mut record, changes, false)?;
        let stream_changes = StreamChanges {
            parallelization_factor: input.parallelization_factor,
            bisect_on_error: input.bisect_batch_on_function_error,
            max_retry_attempts: input.maximum_retry_attempts,
            max_record_age: input.maximum_record_age_in_seconds,
            tumbling_window: input.tumbling_window_in_seconds,
            destination: input.destination_config,
            scaling: input.scaling_config,
        };
        if let Some(settings) = record.stream.as_mut() {
            stream_api::apply_stream(settings, stream_changes)?;
        }
        self.insert_mapping(record).await
    }

    pub(super) async fn update_stream_mapping(
        self: &Arc<Self>,
        ctx: &RequestContext,
        mut record: MappingRecord,
        input: wire::UpdateEventSourceMappingRequest,
    ) -> Result<MappingRecord, ServiceError> {
        refuse_unsupported(STREAMS_SOURCE, &given!(broker input))?;
        begin_update(self, ctx, &mut record, input.function_name.as_deref())?;
        let changes = Changes {
            batch_size: input.batch_size,
            batching_window: input.maximum_batching_window_in_seconds,
            response_types: input.function_response_types,
            scaling: None,
            filters: input.filter_criteria,
        };
        apply(&mut record, changes, false)?;
        let stream_changes = StreamChanges {
            parallelization_factor: input.parallelization_factor,
            bisect_on_error: input.bisect_batch_on_function_error,
            max_retry_attempts: input.maximum_retry_attempts,
            max_record_age: input.maximum_record_age_in_seconds,
            tumbling_window: input.tumbling_window_in_seconds,
            destination: input.destination_config,
            scaling: input.scaling_config,
        };
        if let Some(settings) = record.stream.as_mut() {
            stream_api::apply_stream(settings, stream_changes)?;
        }
        self.finish_update(record, input.enabled).await
    }
}

/// Parameters of queue, Kafka, MQ and DocumentDB sources, which AWS refuses for streams.
fn refuse_queue_parameters(
    input: &wire::CreateEventSourceMappingRequest,
) -> Result<(), ServiceError> {
    refuse_unsupported(
        STREAMS_SOURCE,
        &[(
            "StartingPositionTimestamp",
            input.starting_position_timestamp.is_some(),
        )],
    )?;
    refuse_unsupported(STREAMS_SOURCE, &broker_parameters(input))
}
