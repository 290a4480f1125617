//! Delivery retry schedules: AWS's fixed one for queue and function endpoints, and the
//! delivery policy (`healthyRetryPolicy`) for HTTP/S endpoints.
//!
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html>

use nimbus_core::ServiceError;
use serde_json::{Value, json};

use crate::errors;

/// How delays grow through the backoff phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    Linear,
    Arithmetic,
    Geometric,
    Exponential,
}

/// A healthy-retry policy in AWS's four phases: immediate retries, retries at the minimum
/// delay, a backoff from minimum to maximum, and retries at the maximum delay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub min_delay_secs: u32,
    pub max_delay_secs: u32,
    pub num_retries: u32,
    pub num_no_delay_retries: u32,
    pub num_min_delay_retries: u32,
    pub num_max_delay_retries: u32,
    pub backoff: Backoff,
}

/// AWS-managed endpoints (SQS, Lambda): 3 immediate, 2 at 1 s, 10 backing off to 20 s,
/// 100,000 at 20 s — 100,015 retries over about 23 days. Not configurable.
pub const MANAGED: RetryPolicy = RetryPolicy {
    min_delay_secs: 1,
    max_delay_secs: 20,
    num_retries: 100_015,
    num_no_delay_retries: 3,
    num_min_delay_retries: 2,
    num_max_delay_retries: 100_000,
    backoff: Backoff::Exponential,
};

/// HTTP/S without a delivery policy: 3 retries, 20 s apart.
pub const HTTP_DEFAULT: RetryPolicy = RetryPolicy {
    min_delay_secs: 20,
    max_delay_secs: 20,
    num_retries: 3,
    num_no_delay_retries: 0,
    num_min_delay_retries: 0,
    num_max_delay_retries: 0,
    backoff: Backoff::Linear,
};

/// Email, email-json and SMS: 2 at 10 s, 10 backing off to 600 s, 38 at 600 s.
pub const NOTIFICATION: RetryPolicy = RetryPolicy {
    min_delay_secs: 10,
    max_delay_secs: 600,
    num_retries: 50,
    num_no_delay_retries: 0,
    num_min_delay_retries: 2,
    num_max_delay_retries: 38,
    backoff: Backoff::Exponential,
};

impl RetryPolicy {
    /// The delay before retry number `retry` (1-based), or `None` once retries are exhausted.
    pub fn delay_ms(&self, retry: u32) -> Option<i64> {
        if retry == 0 || retry > self.num_retries {
            return None;
        }
        let (min, max) = (
            f64::from(self.min_delay_secs),
            f64::from(self.max_delay_secs),
        );
        let backoff_count = self.num_retries.saturating_sub(
            self.num_no_delay_retries + self.num_min_delay_retries + self.num_max_delay_retries,
        );
        let secs = if retry <= self.num_no_delay_retries {
            0.0
        } else if retry <= self.num_no_delay_retries + self.num_min_delay_retries {
            min
        } else if retry <= self.num_no_delay_retries + self.num_min_delay_retries + backoff_count {
            let step = retry - self.num_no_delay_retries - self.num_min_delay_retries;
            let fraction = f64::from(step) / f64::from(backoff_count.max(1));
            match self.backoff {
                Backoff::Linear => min + (max - min) * fraction,
                Backoff::Arithmetic => min + (max - min) * fraction * fraction,
                Backoff::Geometric | Backoff::Exponential => {
                    min * (max / min.max(1.0)).powf(fraction)
                }
            }
        } else {
            max
        };
        Some((secs * 1000.0).round() as i64)
    }

    fn from_json(value: &Value) -> Result<RetryPolicy, String> {
        let field = |name: &str, default: u32| -> Result<u32, String> {
            match value.get(name) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => v
                    .as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| format!("{name} must be a non-negative integer")),
            }
        };
        let policy = RetryPolicy {
            min_delay_secs: field("minDelayTarget", 20)?,
            max_delay_secs: field("maxDelayTarget", 20)?,
            num_retries: field("numRetries", 3)?,
            num_no_delay_retries: field("numNoDelayRetries", 0)?,
            num_min_delay_retries: field("numMinDelayRetries", 0)?,
            num_max_delay_retries: field("numMaxDelayRetries", 0)?,
            backoff: match value.get("backoffFunction").and_then(Value::as_str) {
                None | Some("linear") => Backoff::Linear,
                Some("arithmetic") => Backoff::Arithmetic,
                Some("geometric") => Backoff::Geometric,
                Some("exponential") => Backoff::Exponential,
                Some(other) => return Err(format!("backoffFunction {other} is not supported")),
            },
        };
        if policy.min_delay_secs == 0 || policy.min_delay_secs > policy.max_delay_secs {
            return Err("minDelayTarget must be between 1 and maxDelayTarget".into());
        }
        if policy.max_delay_secs > 3600 {
            return Err("maxDelayTarget must be at most 3600".into());
        }
        if policy.num_retries > 100
            || policy.num_no_delay_retries
                + policy.num_min_delay_retries
                + policy.num_max_delay_retries
                > policy.num_retries
        {
            return Err("numRetries must be between 0 and 100 and cover the other phases".into());
        }
        let total: i64 = (1..=policy.num_retries)
            .filter_map(|r| policy.delay_ms(r))
            .sum();
        if total > 3_600_000 {
            return Err("the total retry time must not exceed 3600 seconds".into());
        }
        Ok(policy)
    }

    fn to_json(self) -> Value {
        json!({
            "minDelayTarget": self.min_delay_secs,
            "maxDelayTarget": self.max_delay_secs,
            "numRetries": self.num_retries,
            "numMaxDelayRetries": self.num_max_delay_retries,
            "numNoDelayRetries": self.num_no_delay_retries,
            "numMinDelayRetries": self.num_min_delay_retries,
            "backoffFunction": match self.backoff {
                Backoff::Linear => "linear",
                Backoff::Arithmetic => "arithmetic",
                Backoff::Geometric => "geometric",
                Backoff::Exponential => "exponential",
            },
        })
    }
}

fn invalid(why: impl std::fmt::Display) -> ServiceError {
    errors::invalid_parameter(format!("DeliveryPolicy: {why}"))
}

fn parse_json(text: &str) -> Result<Value, ServiceError> {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(invalid("failed to parse JSON.")),
    }
}

/// Checks a topic `DeliveryPolicy` (`{"http": {"defaultHealthyRetryPolicy": …}}`).
pub fn check_topic_policy(text: &str) -> Result<(), ServiceError> {
    let value = parse_json(text)?;
    if let Some(retry) = value.pointer("/http/defaultHealthyRetryPolicy") {
        RetryPolicy::from_json(retry).map_err(invalid)?;
    }
    Ok(())
}

/// Checks a subscription `DeliveryPolicy` (`{"healthyRetryPolicy": …}`).
pub fn check_subscription_policy(text: &str) -> Result<(), ServiceError> {
    let value = parse_json(text)?;
    if let Some(retry) = value.get("healthyRetryPolicy") {
        RetryPolicy::from_json(retry).map_err(invalid)?;
    }
    Ok(())
}

/// The HTTP retry policy in force: the subscription's, unless the topic disables overrides,
/// then the topic's default, then AWS's.
pub fn http_policy(topic_policy: Option<&str>, subscription_policy: Option<&str>) -> RetryPolicy {
    let topic: Value = topic_policy
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    let overrides_disabled = topic
        .pointer("/http/disableSubscriptionOverrides")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let from_subscription = (!overrides_disabled)
        .then(|| {
            subscription_policy
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
                .and_then(|v| v.get("healthyRetryPolicy").cloned())
        })
        .flatten();
    from_subscription
        .or_else(|| topic.pointer("/http/defaultHealthyRetryPolicy").cloned())
        .and_then(|v| RetryPolicy::from_json(&v).ok())
        .unwrap_or(HTTP_DEFAULT)
}

/// `EffectiveDeliveryPolicy` of a topic.
pub fn effective_topic_policy(topic_policy: Option<&str>) -> String {
    let policy = http_policy(topic_policy, None);
    json!({"http": {
        "defaultHealthyRetryPolicy": policy.to_json(),
        "disableSubscriptionOverrides": false,
        "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"}
    }})
    .to_string()
}

/// `EffectiveDeliveryPolicy` of an HTTP/S subscription.
pub fn effective_subscription_policy(
    topic_policy: Option<&str>,
    subscription_policy: Option<&str>,
) -> String {
    json!({
        "healthyRetryPolicy": http_policy(topic_policy, subscription_policy).to_json(),
        "requestPolicy": {"headerContentType": "text/plain; charset=UTF-8"}
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_schedule_matches_the_documented_phases() {
        let delays: Vec<i64> = (1..=16).map(|r| MANAGED.delay_ms(r).unwrap()).collect();
        assert_eq!(&delays[..5], &[0, 0, 0, 1000, 1000]);
        assert!(delays[5] > 1000 && delays[5] < 20_000);
        assert_eq!(delays[14], 20_000, "backoff ends at the maximum");
        assert_eq!(delays[15], 20_000);
        assert_eq!(MANAGED.delay_ms(100_015), Some(20_000));
        assert_eq!(MANAGED.delay_ms(100_016), None);
    }

    #[test]
    fn http_default_is_three_retries_twenty_seconds_apart() {
        let p = http_policy(None, None);
        assert_eq!(
            (1..=3).map(|r| p.delay_ms(r)).collect::<Vec<_>>(),
            vec![Some(20_000); 3]
        );
        assert_eq!(p.delay_ms(4), None);
    }

    #[test]
    fn subscription_policy_overrides_unless_disabled() {
        let sub =
            r#"{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":1,"numRetries":1}}"#;
        assert_eq!(http_policy(None, Some(sub)).delay_ms(1), Some(1000));
        let topic = r#"{"http":{"disableSubscriptionOverrides":true,"defaultHealthyRetryPolicy":{"minDelayTarget":5,"maxDelayTarget":5,"numRetries":2}}}"#;
        assert_eq!(http_policy(Some(topic), Some(sub)).delay_ms(2), Some(5000));
        assert!(
            check_subscription_policy(
                r#"{"healthyRetryPolicy":{"minDelayTarget":30,"maxDelayTarget":10}}"#
            )
            .is_err()
        );
        assert!(check_subscription_policy("nope").is_err());
    }
}
