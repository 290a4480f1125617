//! Queue attributes: which exist, their ranges and defaults, and how they are validated.
//!
//! A queue keeps every settable attribute as the string AWS returns for it, defaults filled in,
//! so `GetQueueAttributes` is a lookup and `CreateQueue`'s "same attributes?" rule a comparison.

use std::collections::BTreeMap;

use nimbus_core::ServiceError;
use serde_json::Value;

use crate::errors;

pub type AttributeMap = BTreeMap<String, String>;

/// Settable integer attributes: name, minimum, maximum, default.
const RANGES: &[(&str, i64, i64, i64)] = &[
    ("DelaySeconds", 0, 900, 0),
    ("MaximumMessageSize", 1024, 1_048_576, 1_048_576),
    ("MessageRetentionPeriod", 60, 1_209_600, 345_600),
    ("ReceiveMessageWaitTimeSeconds", 0, 20, 0),
    ("VisibilityTimeout", 0, 43_200, 30),
    ("KmsDataKeyReusePeriodSeconds", 60, 86_400, 300),
];

const FIFO_ONLY: &[&str] = &[
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// Attributes that are computed, never set.
pub const COMPUTED: &[&str] = &[
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
];

/// Every settable attribute name.
const SETTABLE: &[&str] = &[
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "SqsManagedSseEnabled",
    "Policy",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// The attributes of a new queue before the caller's are applied.
pub fn defaults(fifo: bool) -> AttributeMap {
    // The KMS reuse period is shown only once a KMS key is set.
    let mut map: AttributeMap = RANGES
        .iter()
        .filter(|(name, ..)| *name != "KmsDataKeyReusePeriodSeconds")
        .map(|(name, _, _, default)| ((*name).to_owned(), default.to_string()))
        .collect();
    map.insert("SqsManagedSseEnabled".into(), "true".into());
    if fifo {
        map.insert("FifoQueue".into(), "true".into());
        map.insert("ContentBasedDeduplication".into(), "false".into());
        map.insert("DeduplicationScope".into(), "queue".into());
        map.insert("FifoThroughputLimit".into(), "perQueue".into());
    }
    map
}

/// Whether `name` may be asked for in `GetQueueAttributes` / `ReceiveMessage`-style lists.
pub fn is_known(name: &str) -> bool {
    name == "All" || SETTABLE.contains(&name) || COMPUTED.contains(&name)
}

/// A validated change to a queue's attributes. `RedrivePolicy` needs the target queue checked
/// by the caller (it lives in the store); everything else is checked here.
pub fn validate(
    requested: &BTreeMap<String, String>,
    fifo: bool,
    creating: bool,
) -> Result<AttributeMap, ServiceError> {
    let mut out = AttributeMap::new();
    for (name, value) in requested {
        if !SETTABLE.contains(&name.as_str()) || (!fifo && FIFO_ONLY.contains(&name.as_str())) {
            return Err(errors::invalid_attribute_name(format!(
                "Unknown Attribute {name}."
            )));
        }
        if name == "FifoQueue" && !creating {
            return Err(errors::invalid_attribute_name(format!(
                "Unknown Attribute {name}."
            )));
        }
        let invalid =
            || errors::invalid_attribute_value(format!("Invalid value for the parameter {name}."));
        let normalized = if let Some((_, min, max, _)) = RANGES.iter().find(|(n, ..)| n == name) {
            let parsed: i64 = value.trim().parse().map_err(|_| invalid())?;
            if parsed < *min || parsed > *max {
                return Err(invalid());
            }
            parsed.to_string()
        } else {
            match name.as_str() {
                "SqsManagedSseEnabled" | "ContentBasedDeduplication" | "FifoQueue" => {
                    parse_bool(value).ok_or_else(invalid)?.to_string()
                }
                "DeduplicationScope" if matches!(value.as_str(), "messageGroup" | "queue") => {
                    value.clone()
                }
                "FifoThroughputLimit"
                    if matches!(value.as_str(), "perQueue" | "perMessageGroupId") =>
                {
                    value.clone()
                }
                "DeduplicationScope" | "FifoThroughputLimit" => return Err(invalid()),
                "Policy" => normalize_json_or_empty(value).ok_or_else(invalid)?,
                "RedrivePolicy" => normalize_redrive_policy(value)?,
                "RedriveAllowPolicy" => normalize_redrive_allow_policy(value)?,
                _ => value.clone(),
            }
        };
        out.insert(name.clone(), normalized);
    }
    if out.get("FifoThroughputLimit").map(String::as_str) == Some("perMessageGroupId")
        && out.get("DeduplicationScope").map(String::as_str) == Some("queue")
    {
        return Err(errors::invalid_attribute_value(
            "The perMessageGroupId value is allowed only when the value for DeduplicationScope is messageGroup.",
        ));
    }
    Ok(out)
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn normalize_json_or_empty(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some(String::new());
    }
    serde_json::from_str::<Value>(value)
        .ok()
        .filter(Value::is_object)
        .map(|_| value.to_owned())
}

/// A dead-letter policy: where messages go and after how many receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedrivePolicy {
    pub dead_letter_target_arn: String,
    pub max_receive_count: i64,
}

impl RedrivePolicy {
    pub fn parse(stored: &str) -> Option<RedrivePolicy> {
        let value: Value = serde_json::from_str(stored).ok()?;
        let arn = value.get("deadLetterTargetArn")?.as_str()?.to_owned();
        let count = match value.get("maxReceiveCount")? {
            Value::Number(n) => n.as_i64()?,
            Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        Some(RedrivePolicy {
            dead_letter_target_arn: arn,
            max_receive_count: count,
        })
    }
}

fn normalize_redrive_policy(value: &str) -> Result<String, ServiceError> {
    if value.is_empty() {
        return Ok(String::new());
    }
    let invalid = |why: &str| {
        errors::invalid_attribute_value(format!(
            "Value {value} for parameter RedrivePolicy is invalid. Reason: {why}"
        ))
    };
    let parsed: Value =
        serde_json::from_str(value).map_err(|_| invalid("Invalid JSON in the RedrivePolicy."))?;
    if parsed
        .get("deadLetterTargetArn")
        .and_then(Value::as_str)
        .is_none()
    {
        return Err(invalid(
            "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.",
        ));
    }
    if parsed.get("maxReceiveCount").is_none() {
        return Err(invalid(
            "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
        ));
    }
    let policy =
        RedrivePolicy::parse(value).ok_or_else(|| invalid("Invalid value for maxReceiveCount."))?;
    if !(1..=1000).contains(&policy.max_receive_count) {
        return Err(invalid(
            "Invalid value for maxReceiveCount: must be between 1 and 1000.",
        ));
    }
    Ok(serde_json::json!({
        "deadLetterTargetArn": policy.dead_letter_target_arn,
        "maxReceiveCount": policy.max_receive_count,
    })
    .to_string())
}

/// Which source queues may use a queue as their dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedriveAllow {
    All,
    None,
    ByQueue(Vec<String>),
}

impl RedriveAllow {
    pub fn parse(stored: Option<&str>) -> RedriveAllow {
        let Some(value) = stored.and_then(|s| serde_json::from_str::<Value>(s).ok()) else {
            return RedriveAllow::All;
        };
        match value.get("redrivePermission").and_then(Value::as_str) {
            Some("denyAll") => RedriveAllow::None,
            Some("byQueue") => RedriveAllow::ByQueue(
                value
                    .get("sourceQueueArns")
                    .and_then(Value::as_array)
                    .map(|arns| {
                        arns.iter()
                            .filter_map(|a| a.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            _ => RedriveAllow::All,
        }
    }

    pub fn allows(&self, source_arn: &str) -> bool {
        match self {
            RedriveAllow::All => true,
            RedriveAllow::None => false,
            RedriveAllow::ByQueue(arns) => arns.iter().any(|a| a == source_arn),
        }
    }
}

fn normalize_redrive_allow_policy(value: &str) -> Result<String, ServiceError> {
    if value.is_empty() {
        return Ok(String::new());
    }
    let invalid = |why: &str| {
        errors::invalid_attribute_value(format!(
            "Value {value} for parameter RedriveAllowPolicy is invalid. Reason: {why}"
        ))
    };
    let parsed: Value = serde_json::from_str(value).map_err(|_| invalid("Invalid JSON."))?;
    let permission = parsed
        .get("redrivePermission")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("Redrive permission is missing."))?;
    let arns = parsed.get("sourceQueueArns").and_then(Value::as_array);
    match permission {
        "allowAll" | "denyAll" if arns.is_some_and(|a| !a.is_empty()) => Err(invalid(
            "Source queue ARNs are allowed only with the byQueue redrive permission.",
        )),
        "allowAll" | "denyAll" => Ok(value.to_owned()),
        "byQueue" => match arns {
            Some(a) if (1..=10).contains(&a.len()) && a.iter().all(Value::is_string) => {
                Ok(value.to_owned())
            }
            _ => Err(invalid(
                "The byQueue redrive permission needs 1 to 10 source queue ARNs.",
            )),
        },
        _ => Err(invalid("Invalid redrive permission.")),
    }
}

/// Reads an integer attribute (always present: defaults are filled in).
pub fn int(map: &AttributeMap, name: &str) -> i64 {
    map.get(name)
        .and_then(|v| v.parse().ok())
        .or_else(|| RANGES.iter().find(|(n, ..)| *n == name).map(|r| r.3))
        .unwrap_or(0)
}

/// Reads a boolean attribute.
pub fn flag(map: &AttributeMap, name: &str) -> bool {
    map.get(name).is_some_and(|v| v == "true")
}

/// A non-empty string attribute.
pub fn text<'a>(map: &'a AttributeMap, name: &str) -> Option<&'a str> {
    map.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str, value: &str) -> BTreeMap<String, String> {
        [(name.to_owned(), value.to_owned())].into()
    }

    #[test]
    fn ranges_are_enforced() {
        assert_eq!(
            validate(&one("DelaySeconds", "900"), false, true).unwrap()["DelaySeconds"],
            "900"
        );
        for (name, bad) in [
            ("DelaySeconds", "901"),
            ("VisibilityTimeout", "-1"),
            ("MaximumMessageSize", "1023"),
            ("MessageRetentionPeriod", "x"),
        ] {
            assert_eq!(
                validate(&one(name, bad), false, true).unwrap_err().code,
                "InvalidAttributeValue",
                "{name}={bad}"
            );
        }
    }

    #[test]
    fn fifo_attributes_only_on_fifo_queues() {
        assert_eq!(
            validate(&one("ContentBasedDeduplication", "true"), false, true)
                .unwrap_err()
                .code,
            "InvalidAttributeName"
        );
        assert!(validate(&one("ContentBasedDeduplication", "true"), true, true).is_ok());
        assert_eq!(
            validate(&one("FifoQueue", "true"), true, false)
                .unwrap_err()
                .code,
            "InvalidAttributeName"
        );
        assert_eq!(
            validate(&one("Bogus", "1"), false, true).unwrap_err().code,
            "InvalidAttributeName"
        );
    }

    #[test]
    fn redrive_policy_accepts_string_counts_and_normalizes() {
        let arn = "arn:aws:sqs:us-east-1:000000000000:dlq";
        let out = validate(
            &one(
                "RedrivePolicy",
                &format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"3"}}"#),
            ),
            false,
            true,
        )
        .unwrap();
        let policy = RedrivePolicy::parse(&out["RedrivePolicy"]).unwrap();
        assert_eq!(policy.max_receive_count, 3);
        assert!(
            validate(
                &one("RedrivePolicy", r#"{"maxReceiveCount":3}"#),
                false,
                true
            )
            .is_err()
        );
        assert!(
            validate(
                &one(
                    "RedrivePolicy",
                    &format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":0}}"#)
                ),
                false,
                true
            )
            .is_err()
        );
    }

    #[test]
    fn redrive_allow_policy() {
        assert!(!RedriveAllow::parse(Some(r#"{"redrivePermission":"denyAll"}"#)).allows("x"));
        assert!(
            RedriveAllow::parse(Some(
                r#"{"redrivePermission":"byQueue","sourceQueueArns":["a"]}"#
            ))
            .allows("a")
        );
        assert!(RedriveAllow::parse(None).allows("x"));
        assert!(
            validate(
                &one("RedriveAllowPolicy", r#"{"redrivePermission":"byQueue"}"#),
                false,
                true
            )
            .is_err()
        );
    }
}
