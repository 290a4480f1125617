//! AWS's checks for DynamoDB stream sources of event source mappings: starting position,
//! retries, record age, bisection and the on-failure destination.

use nimbus_core::ServiceError;
use nimbus_model::lambda as wire;

use super::StreamSettings;
use crate::async_config::{DestinationKind, destination_kind};
use crate::errors;

pub(crate) const DEFAULT_BATCH_SIZE: u32 = 100;
const MAX_PARALLELIZATION: i32 = 10;
const MAX_RETRY_ATTEMPTS: i32 = 10_000;
const MIN_RECORD_AGE: i32 = 60;
const MAX_RECORD_AGE: i32 = 604_800;

/// Whether an ARN names a DynamoDB table stream.
pub(crate) fn is_stream_arn(arn: &str) -> bool {
    nimbus_core::arn::parse(arn).is_some_and(|a| {
        a.service == "dynamodb"
            && a.resource
                .strip_prefix("table/")
                .is_some_and(|rest| rest.contains("/stream/"))
    })
}

/// The stream settings a create or an update may change.
#[derive(Default)]
pub(crate) struct StreamChanges {
    pub parallelization_factor: Option<i32>,
    pub bisect_on_error: Option<bool>,
    pub max_retry_attempts: Option<i32>,
    pub max_record_age: Option<i32>,
    pub tumbling_window: Option<i32>,
    pub destination: Option<wire::DestinationConfig>,
    pub scaling: Option<wire::ScalingConfig>,
}

/// The starting position of a new stream mapping; AWS requires one.
pub(crate) fn starting_position(given: Option<&str>) -> Result<String, ServiceError> {
    match given {
        None => Err(errors::invalid(
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null",
        )),
        Some(position @ ("TRIM_HORIZON" | "LATEST")) => Ok(position.to_owned()),
        Some("AT_TIMESTAMP") => Err(errors::invalid(
            "Unsupported starting position AT_TIMESTAMP for an Amazon DynamoDB Streams event source.",
        )),
        Some(other) => Err(ServiceError::validation(
            "ValidationException",
            format!(
                "1 validation error detected: Value '{other}' at 'startingPosition' failed to satisfy constraint: Member must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]"
            ),
        )),
    }
}

fn out_of_range(name: &str, value: i32, range: &str) -> ServiceError {
    errors::invalid(format!(
        "{name} {value} is out of range: it must be {range}."
    ))
}

/// Applies changes to a stream mapping's settings, with AWS's ranges.
pub(crate) fn apply_stream(
    settings: &mut StreamSettings,
    changes: StreamChanges,
) -> Result<(), ServiceError> {
    if changes.scaling.is_some() {
        return Err(errors::invalid(
            "Unsupported ScalingConfig parameter for an Amazon DynamoDB Streams event source.",
        ));
    }
    if let Some(window) = changes.tumbling_window
        && window != 0
    {
        return Err(errors::invalid(
            "TumblingWindowInSeconds is not supported by nimbus: only 0 (no tumbling window) is accepted.",
        ));
    }
    if let Some(factor) = changes.parallelization_factor {
        if !(1..=MAX_PARALLELIZATION).contains(&factor) {
            return Err(out_of_range(
                "ParallelizationFactor",
                factor,
                "between 1 and 10",
            ));
        }
        settings.parallelization_factor = u32::try_from(factor).unwrap_or(1);
    }
    if let Some(bisect) = changes.bisect_on_error {
        settings.bisect_on_error = bisect;
    }
    if let Some(attempts) = changes.max_retry_attempts {
        if !(-1..=MAX_RETRY_ATTEMPTS).contains(&attempts) {
            return Err(out_of_range(
                "MaximumRetryAttempts",
                attempts,
                "-1 or between 0 and 10000",
            ));
        }
        settings.max_retry_attempts = attempts;
    }
    if let Some(age) = changes.max_record_age {
        if age != -1 && !(MIN_RECORD_AGE..=MAX_RECORD_AGE).contains(&age) {
            return Err(out_of_range(
                "MaximumRecordAgeInSeconds",
                age,
                "-1 or between 60 and 604800",
            ));
        }
        settings.max_record_age_secs = age;
    }
    if let Some(config) = changes.destination {
        if config.on_success.and_then(|s| s.destination).is_some() {
            return Err(errors::invalid(
                "Unsupported OnSuccess destination for an Amazon DynamoDB Streams event source.",
            ));
        }
        settings.on_failure = match config.on_failure.and_then(|f| f.destination) {
            None => None,
            Some(arn) if arn.is_empty() => None,
            Some(arn) => match destination_kind(&arn) {
                Some(DestinationKind::Queue | DestinationKind::Topic) => Some(arn),
                _ => {
                    return Err(errors::invalid(format!(
                        "The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination={arn})) is invalid: the on-failure destination must be an Amazon SQS queue or an Amazon SNS topic."
                    )));
                }
            },
        };
    }
    Ok(())
}

/// The stream fields of a mapping as the API answers them.
pub(crate) fn describe(
    settings: &StreamSettings,
    config: &mut wire::EventSourceMappingConfiguration,
) {
    config.starting_position = Some(settings.starting_position.clone());
    config.parallelization_factor = i32::try_from(settings.parallelization_factor).ok();
    config.bisect_batch_on_function_error = Some(settings.bisect_on_error);
    config.maximum_retry_attempts = Some(settings.max_retry_attempts);
    config.maximum_record_age_in_seconds = Some(settings.max_record_age_secs);
    config.tumbling_window_in_seconds = Some(0);
    config.destination_config = Some(wire::DestinationConfig {
        on_success: None,
        on_failure: Some(wire::OnFailure {
            destination: settings.on_failure.clone(),
        }),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_arns() {
        assert!(is_stream_arn(
            "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2024-01-01T00:00:00.000"
        ));
        assert!(!is_stream_arn(
            "arn:aws:dynamodb:us-east-1:000000000000:table/t"
        ));
        assert!(!is_stream_arn("arn:aws:sqs:us-east-1:000000000000:q"));
    }

    #[test]
    fn record_age_range() {
        let mut settings = StreamSettings {
            starting_position: "LATEST".into(),
            parallelization_factor: 1,
            bisect_on_error: false,
            max_retry_attempts: -1,
            max_record_age_secs: -1,
            on_failure: None,
            checkpoint: None,
        };
        let age = |a| StreamChanges {
            max_record_age: Some(a),
            ..StreamChanges::default()
        };
        assert!(apply_stream(&mut settings, age(59)).is_err());
        assert!(apply_stream(&mut settings, age(-1)).is_ok());
        assert!(apply_stream(&mut settings, age(60)).is_ok());
        assert_eq!(settings.max_record_age_secs, 60);
    }
}
