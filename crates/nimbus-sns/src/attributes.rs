//! Checks topic and subscription attributes as AWS does; returns the value to store.

use nimbus_core::{ServiceError, arn};
use nimbus_pattern::sns::{FilterPolicy, Scope};
use serde_json::Value;

use crate::{errors, retry};

fn is_bool(value: &str) -> bool {
    value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
}

/// A topic attribute on create or set.
pub fn check_topic_attribute(name: &str, value: &str, fifo: bool) -> Result<String, ServiceError> {
    let bad = || errors::invalid_parameter(format!("Attributes Reason: Invalid value for {name}"));
    match name {
        "DisplayName" if value.len() > 100 => Err(bad()),
        "DisplayName" | "KmsMasterKeyId" | "DataProtectionPolicy" | "ArchivePolicy" => {
            Ok(value.to_owned())
        }
        "Policy" => match serde_json::from_str::<Value>(value) {
            Ok(Value::Object(_)) => Ok(value.to_owned()),
            _ => Err(errors::invalid_parameter(
                "Policy Error: failed to parse JSON policy document",
            )),
        },
        "DeliveryPolicy" => {
            if !value.is_empty() {
                retry::check_topic_policy(value)?;
            }
            Ok(value.to_owned())
        }
        "TracingConfig" if matches!(value, "PassThrough" | "Active") => Ok(value.to_owned()),
        "SignatureVersion" if matches!(value, "1" | "2") => Ok(value.to_owned()),
        "FifoTopic" if is_bool(value) => Ok(value.to_ascii_lowercase()),
        "ContentBasedDeduplication" if !fifo => Err(errors::invalid_parameter(
            "Attributes Reason: Content-based deduplication can only be set for FIFO topics",
        )),
        "ContentBasedDeduplication" if is_bool(value) => Ok(value.to_ascii_lowercase()),
        "FifoThroughputScope" if fifo && matches!(value, "Topic" | "MessageGroup") => {
            Ok(value.to_owned())
        }
        "TracingConfig"
        | "SignatureVersion"
        | "FifoTopic"
        | "ContentBasedDeduplication"
        | "FifoThroughputScope" => Err(bad()),
        feedback
            if feedback.ends_with("FeedbackRoleArn")
                || feedback.ends_with("FeedbackSampleRate") =>
        {
            Ok(value.to_owned())
        }
        _ => Err(errors::invalid_parameter(format!(
            "Attributes Reason: Unknown attribute {name}"
        ))),
    }
    .map_err(|err| {
        if name.is_empty() {
            errors::attribute_name(name)
        } else {
            err
        }
    })
}

/// A subscription attribute on subscribe or set. `scope` is the filter scope in effect, for
/// checking a `FilterPolicy`.
pub fn check_subscription_attribute(
    name: &str,
    value: &str,
    protocol: &str,
    scope: Scope,
) -> Result<String, ServiceError> {
    match name {
        "RawMessageDelivery" if is_bool(value) => {
            if matches!(protocol, "sqs" | "http" | "https" | "firehose") {
                Ok(value.to_ascii_lowercase())
            } else {
                Err(errors::invalid_parameter(
                    "Attributes Reason: RawMessageDelivery: Invalid value [true]. Must be false.",
                ))
            }
        }
        "RawMessageDelivery" => Err(errors::invalid_parameter(
            "Attributes Reason: RawMessageDelivery: Invalid value. Must be true or false.",
        )),
        "FilterPolicy" => {
            if !value.is_empty() {
                FilterPolicy::parse(value, scope)
                    .map_err(|e| errors::invalid_parameter(format!("FilterPolicy: {e}")))?;
            }
            Ok(value.to_owned())
        }
        "FilterPolicyScope" => match Scope::parse(value) {
            Some(_) => Ok(value.to_owned()),
            None => Err(errors::invalid_parameter(
                "Attributes Reason: FilterPolicyScope: Invalid value [".to_owned()
                    + value
                    + "]. Please use either MessageBody or MessageAttributes",
            )),
        },
        "RedrivePolicy" => {
            if value.is_empty() {
                return Ok(String::new());
            }
            dead_letter_target(value)?;
            Ok(value.to_owned())
        }
        "DeliveryPolicy" => {
            if !value.is_empty() {
                retry::check_subscription_policy(value)?;
            }
            Ok(value.to_owned())
        }
        "SubscriptionRoleArn" | "ReplayPolicy" => Ok(value.to_owned()),
        _ => Err(errors::invalid_parameter(format!("AttributeName {name}"))),
    }
}

/// The queue ARN of a `RedrivePolicy`.
pub fn dead_letter_target(policy: &str) -> Result<String, ServiceError> {
    let invalid = |why: &str| errors::invalid_parameter(format!("RedrivePolicy: {why}"));
    let parsed: Value =
        serde_json::from_str(policy).map_err(|_| invalid("failed to parse JSON."))?;
    let target = parsed
        .get("deadLetterTargetArn")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("deadLetterTargetArn is missing"))?;
    match arn::parse(target) {
        Some(a) if a.service == "sqs" && !a.resource.is_empty() => Ok(target.to_owned()),
        _ => Err(invalid("Invalid deadLetterTargetArn")),
    }
}
