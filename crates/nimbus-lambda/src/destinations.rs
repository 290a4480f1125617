//! Where asynchronous events end: invocation records for OnSuccess / OnFailure destinations
//! (queues, topics, functions) and the dead-letter message, both as AWS writes them.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use nimbus_core::effects::{
    MessageAttribute, QueueMessage, QueueSender, TopicMessage, TopicPublisher,
};
use nimbus_core::{RequestContext, ServiceError, arn};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Lambda;
use crate::async_config::{DestinationKind, destination_kind};
use crate::record::parse_function_ref;

/// AWS keeps the first kilobyte of an error message in a dead-letter message.
const DLQ_ERROR_MESSAGE_BYTES: usize = 1024;

/// The services Lambda delivers records to, bound by the binary once they exist.
#[derive(Default)]
pub(crate) struct Destinations {
    pub queues: OnceLock<Arc<dyn QueueSender>>,
    pub topics: OnceLock<Arc<dyn TopicPublisher>>,
}

/// Why an event's processing ended, as `requestContext.condition` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Condition {
    Success,
    RetriesExhausted,
    EventAgeExceeded,
}

impl Condition {
    fn as_str(self) -> &'static str {
        match self {
            Condition::Success => "Success",
            Condition::RetriesExhausted => "RetriesExhausted",
            Condition::EventAgeExceeded => "EventAgeExceeded",
        }
    }
}

/// The last answer an attempt got; stored with the queued event for its record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct AttemptOutcome {
    /// 200 when the function ran (even if it failed), else the throttle or service status.
    pub status: u16,
    #[serde(default)]
    pub function_error: Option<String>,
    #[serde(default)]
    pub executed_version: Option<String>,
    /// The function's response or error document, as text.
    #[serde(default)]
    pub payload: Option<String>,
    /// Set when Lambda itself refused the attempt (throttles, service errors).
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
}

impl AttemptOutcome {
    pub fn refused(err: &ServiceError) -> Self {
        AttemptOutcome {
            status: err.status,
            error_code: Some(err.code.to_string()),
            error_message: Some(err.message.clone()),
            ..AttemptOutcome::default()
        }
    }

    /// The message a dead-letter queue gets: the function's `errorMessage` when it failed.
    fn error_message(&self) -> Option<String> {
        if let Some(message) = &self.error_message {
            return Some(message.clone());
        }
        let text = self.payload.as_deref()?;
        let parsed = serde_json::from_str::<Value>(text).ok();
        let message = parsed
            .as_ref()
            .and_then(|v| v.get("errorMessage"))
            .and_then(Value::as_str)
            .map_or_else(|| text.to_owned(), str::to_owned);
        Some(truncate(message, DLQ_ERROR_MESSAGE_BYTES))
    }
}

/// What a finished event knows about itself.
pub(crate) struct Finished<'a> {
    pub function_arn: String,
    pub request_id: &'a str,
    pub payload: &'a [u8],
    pub invoke_count: i64,
    pub condition: Condition,
    pub outcome: Option<&'a AttemptOutcome>,
    pub now_ms: i64,
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

fn json_or_text(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

pub(crate) fn iso_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// The invocation record, field for field as AWS writes it.
pub(crate) fn invocation_record(finished: &Finished<'_>) -> String {
    let mut record = json!({
        "version": "1.0",
        "timestamp": iso_ms(finished.now_ms),
        "requestContext": {
            "requestId": finished.request_id,
            "functionArn": finished.function_arn,
            "condition": finished.condition.as_str(),
            "approximateInvokeCount": finished.invoke_count,
        },
        "requestPayload": if finished.payload.is_empty() { json!({}) } else { json_or_text(finished.payload) },
    });
    // Only an attempt that reached the function has a response to report.
    if let Some(outcome) = finished.outcome.filter(|o| o.status == 200) {
        let mut context = json!({
            "statusCode": outcome.status,
            "executedVersion": outcome.executed_version.as_deref().unwrap_or("$LATEST"),
        });
        if let Some(error) = &outcome.function_error {
            context["functionError"] = json!(error);
        }
        record["responseContext"] = context;
        record["responsePayload"] =
            json_or_text(outcome.payload.as_deref().unwrap_or("").as_bytes());
    }
    record.to_string()
}

fn string_attribute(data_type: &str, value: String) -> MessageAttribute {
    MessageAttribute {
        data_type: data_type.to_owned(),
        string_value: Some(value),
        binary_value: None,
    }
}

/// The attributes of a dead-letter message: `RequestID`, `ErrorCode`, `ErrorMessage`.
pub(crate) fn dead_letter_attributes(
    finished: &Finished<'_>,
) -> BTreeMap<String, MessageAttribute> {
    let mut attributes = BTreeMap::new();
    attributes.insert(
        "RequestID".to_owned(),
        string_attribute("String", finished.request_id.to_owned()),
    );
    if let Some(outcome) = finished.outcome {
        attributes.insert(
            "ErrorCode".to_owned(),
            string_attribute("Number", outcome.status.to_string()),
        );
        if let Some(message) = outcome.error_message() {
            attributes.insert(
                "ErrorMessage".to_owned(),
                string_attribute("String", message),
            );
        }
    }
    attributes
}

impl Lambda {
    /// Binds the queue service records and dead letters are sent through.
    pub fn set_queue_sender(&self, sender: Arc<dyn QueueSender>) {
        let _ = self.destinations.queues.set(sender);
    }

    /// Binds the topic service records and dead letters are published through.
    pub fn set_topic_publisher(&self, publisher: Arc<dyn TopicPublisher>) {
        let _ = self.destinations.topics.set(publisher);
    }

    /// Sends `body` to a queue, topic or function (asynchronously invoked).
    pub(crate) async fn deliver(
        &self,
        ctx: &RequestContext,
        destination: &str,
        body: String,
        attributes: BTreeMap<String, MessageAttribute>,
    ) -> Result<(), ServiceError> {
        let unbound = || {
            nimbus_model::lambda::errors::service_exception(format!(
                "No service is bound to deliver to {destination}."
            ))
        };
        match destination_kind(destination) {
            Some(DestinationKind::Queue) => {
                let queues = self.destinations.queues.get().ok_or_else(unbound)?;
                let message = QueueMessage {
                    body,
                    attributes,
                    ..QueueMessage::default()
                };
                queues.send_to_queue(destination, message).await.map(drop)
            }
            Some(DestinationKind::Topic) => {
                let topics = self.destinations.topics.get().ok_or_else(unbound)?;
                let message = TopicMessage {
                    message: body,
                    subject: None,
                    attributes,
                };
                topics
                    .publish_to_topic(ctx, destination, message)
                    .await
                    .map(drop)
            }
            Some(DestinationKind::Function) => {
                let parts = arn::parse(destination).ok_or_else(unbound)?;
                let target_ctx =
                    RequestContext::internal(parts.account, parts.region, &ctx.base_url);
                let target = parse_function_ref(&target_ctx, destination, None)?;
                self.get_function(&target_ctx, &target.name)?;
                self.enqueue_event(&target_ctx, &target, Bytes::from(body), None)
                    .await
            }
            None => Err(crate::errors::invalid(format!(
                "The destination ARN {destination} is invalid."
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished<'a>(outcome: Option<&'a AttemptOutcome>, condition: Condition) -> Finished<'a> {
        Finished {
            function_arn: "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST".into(),
            request_id: "r-1",
            payload: br#"{"n":1}"#,
            invoke_count: 3,
            condition,
            outcome,
            now_ms: 1_573_754_165_568,
        }
    }

    #[test]
    fn failure_records_carry_the_error_response() {
        let outcome = AttemptOutcome {
            status: 200,
            function_error: Some("Unhandled".into()),
            payload: Some(r#"{"errorMessage":"boom","errorType":"Exception"}"#.into()),
            ..AttemptOutcome::default()
        };
        let text = invocation_record(&finished(Some(&outcome), Condition::RetriesExhausted));
        let record: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(record["timestamp"], "2019-11-14T17:56:05.568Z");
        assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
        assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(record["requestPayload"], json!({"n": 1}));
        assert_eq!(
            record["responseContext"],
            json!({"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"})
        );
        assert_eq!(record["responsePayload"]["errorMessage"], "boom");
        let attributes =
            dead_letter_attributes(&finished(Some(&outcome), Condition::RetriesExhausted));
        assert_eq!(attributes["ErrorCode"].string_value.as_deref(), Some("200"));
        assert_eq!(
            attributes["ErrorMessage"].string_value.as_deref(),
            Some("boom")
        );
    }

    #[test]
    fn refused_attempts_leave_no_response_context() {
        let err = ServiceError::new("TooManyRequestsException", 429, "Rate Exceeded.");
        let outcome = AttemptOutcome::refused(&err);
        let text = invocation_record(&finished(Some(&outcome), Condition::EventAgeExceeded));
        let record: Value = serde_json::from_str(&text).unwrap_or_default();
        assert!(record.get("responseContext").is_none());
        let attributes =
            dead_letter_attributes(&finished(Some(&outcome), Condition::EventAgeExceeded));
        assert_eq!(attributes["ErrorCode"].string_value.as_deref(), Some("429"));
        assert_eq!(
            attributes["ErrorMessage"].string_value.as_deref(),
            Some("Rate Exceeded.")
        );
    }
}
