//! What subscribers receive: the JSON envelope (HTTP/S, SQS without raw delivery, email-json),
//! the raw body with SQS message attributes, and the Lambda event record — field for field as
//! AWS sends them, with AWS's canonical strings for signing.
//!
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html>

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, SecondsFormat};
use nimbus_core::effects;
use serde_json::{Value, json};

use crate::publish::{MessageAttribute, binary_bytes};
use crate::subscriptions::Subscription;

/// Where nimbus serves its signing certificate, below the server's base URL.
pub const CERT_PATH: &str = "/_nimbus/sns/SimpleNotificationService-nimbus.pem";

/// A published message as the delivery worker reads it back.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub message_id: String,
    pub topic_arn: String,
    pub subject: Option<String>,
    pub body: String,
    pub per_protocol: Option<String>,
    pub attributes: BTreeMap<String, MessageAttribute>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    pub sequence_number: Option<String>,
    pub published_at: i64,
    pub trace_header: Option<String>,
    pub base_url: String,
}

impl StoredMessage {
    /// The message text for a protocol: its own entry under `MessageStructure=json`, else the
    /// default.
    pub fn text_for(&self, protocol: &str) -> String {
        self.per_protocol
            .as_deref()
            .and_then(|p| serde_json::from_str::<Value>(p).ok())
            .and_then(|v| v.get(protocol).and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| self.body.clone())
    }
}

/// ISO-8601 with milliseconds and `Z`, as in every SNS timestamp.
pub fn timestamp(epoch_ms: i64) -> String {
    DateTime::from_timestamp_millis(epoch_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn unsubscribe_url(base_url: &str, subscription_arn: &str) -> String {
    format!("{base_url}/?Action=Unsubscribe&SubscriptionArn={subscription_arn}")
}

pub fn subscribe_url(base_url: &str, topic_arn: &str, token: &str) -> String {
    format!("{base_url}/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}")
}

pub fn cert_url(base_url: &str) -> String {
    format!("{base_url}{CERT_PATH}")
}

/// The string AWS signs for a notification (keys in byte order, `Subject` only when set).
pub fn notification_string_to_sign(m: &StoredMessage, text: &str) -> String {
    let mut s = String::new();
    let _ = write!(s, "Message\n{text}\nMessageId\n{}\n", m.message_id);
    if let Some(subject) = &m.subject {
        let _ = write!(s, "Subject\n{subject}\n");
    }
    let _ = write!(
        s,
        "Timestamp\n{}\nTopicArn\n{}\nType\nNotification\n",
        timestamp(m.published_at),
        m.topic_arn
    );
    s
}

/// The string AWS signs for a subscription confirmation.
pub fn confirmation_string_to_sign(c: &Confirmation) -> String {
    format!(
        "Message\n{}\nMessageId\n{}\nSubscribeURL\n{}\nTimestamp\n{}\nToken\n{}\nTopicArn\n{}\nType\n{}\n",
        c.message, c.message_id, c.subscribe_url, c.timestamp, c.token, c.topic_arn, c.kind
    )
}

/// A signature and the version it was made with.
#[derive(Debug, Clone, Default)]
pub struct Signed {
    pub version: String,
    pub signature: String,
}

fn attributes_json(attributes: &BTreeMap<String, MessageAttribute>) -> Value {
    attributes
        .iter()
        .map(|(name, a)| {
            let value = a
                .string_value
                .clone()
                .or_else(|| a.binary_value.clone())
                .unwrap_or_default();
            (name.clone(), json!({"Type": a.data_type, "Value": value}))
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Writes a JSON object with members in the given order (AWS's order, which serde_json's
/// sorted map would lose).
fn ordered(members: &[(&str, Value)]) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}:{}", Value::from(*name), value);
    }
    out.push('}');
    out
}

/// The notification envelope for one subscription.
pub fn notification(m: &StoredMessage, s: &Subscription, text: &str, signed: &Signed) -> String {
    let mut members = vec![
        ("Type", json!("Notification")),
        ("MessageId", json!(m.message_id)),
    ];
    if let Some(seq) = &m.sequence_number {
        members.push(("SequenceNumber", json!(seq)));
    }
    members.push(("TopicArn", json!(m.topic_arn)));
    if let Some(subject) = &m.subject {
        members.push(("Subject", json!(subject)));
    }
    members.extend([
        ("Message", json!(text)),
        ("Timestamp", json!(timestamp(m.published_at))),
        ("SignatureVersion", json!(signed.version)),
        ("Signature", json!(signed.signature)),
        ("SigningCertURL", json!(cert_url(&m.base_url))),
        (
            "UnsubscribeURL",
            json!(unsubscribe_url(&m.base_url, &s.arn)),
        ),
    ]);
    if !m.attributes.is_empty() {
        members.push(("MessageAttributes", attributes_json(&m.attributes)));
    }
    ordered(&members)
}

/// A `SubscriptionConfirmation` (or `UnsubscribeConfirmation`) request.
#[derive(Debug, Clone)]
pub struct Confirmation {
    pub kind: &'static str,
    pub message_id: String,
    pub token: String,
    pub topic_arn: String,
    pub message: String,
    pub subscribe_url: String,
    pub timestamp: String,
}

impl Confirmation {
    pub fn for_subscription(s: &Subscription, now_ms: i64) -> Confirmation {
        Confirmation {
            kind: "SubscriptionConfirmation",
            message_id: nimbus_core::ids::uuid(),
            token: s.token.clone(),
            topic_arn: s.topic_arn.clone(),
            message: format!(
                "You have chosen to subscribe to the topic {}.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
                s.topic_arn
            ),
            subscribe_url: subscribe_url(&s.base_url, &s.topic_arn, &s.token),
            timestamp: timestamp(now_ms),
        }
    }

    pub fn to_json(&self, base_url: &str, signed: &Signed) -> String {
        ordered(&[
            ("Type", json!(self.kind)),
            ("MessageId", json!(self.message_id)),
            ("Token", json!(self.token)),
            ("TopicArn", json!(self.topic_arn)),
            ("Message", json!(self.message)),
            ("SubscribeURL", json!(self.subscribe_url)),
            ("Timestamp", json!(self.timestamp)),
            ("SignatureVersion", json!(signed.version)),
            ("Signature", json!(signed.signature)),
            ("SigningCertURL", json!(cert_url(base_url))),
        ])
    }
}

/// The SNS event a function receives (one record per invocation).
pub fn lambda_event(m: &StoredMessage, s: &Subscription, text: &str, signed: &Signed) -> Value {
    json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": s.arn,
        "Sns": {
            "Type": "Notification",
            "MessageId": m.message_id,
            "TopicArn": m.topic_arn,
            "Subject": m.subject,
            "Message": text,
            "Timestamp": timestamp(m.published_at),
            "SignatureVersion": signed.version,
            "Signature": signed.signature,
            "SigningCertUrl": cert_url(&m.base_url),
            "UnsubscribeUrl": unsubscribe_url(&m.base_url, &s.arn),
            "MessageAttributes": attributes_json(&m.attributes),
        }
    }]})
}

/// Raw delivery to SQS: message attributes become SQS message attributes; `String.Array`
/// travels as a `String` holding the JSON array, since SQS has no array type.
pub fn sqs_attributes(m: &StoredMessage) -> BTreeMap<String, effects::MessageAttribute> {
    m.attributes
        .iter()
        .map(|(name, a)| {
            let data_type = if a.data_type.starts_with("String.Array") {
                "String".to_owned()
            } else {
                a.data_type.clone()
            };
            let attribute = effects::MessageAttribute {
                data_type,
                string_value: a.string_value.clone(),
                binary_value: binary_bytes(a),
            };
            (name.clone(), attribute)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        assert_eq!(timestamp(1_566_326_833_322), "2019-08-20T18:47:13.322Z");
        assert_eq!(timestamp(1_566_326_833_000), "2019-08-20T18:47:13.000Z");
    }

    #[test]
    fn members_keep_their_order() {
        assert_eq!(
            ordered(&[("b", json!(1)), ("a", json!("x"))]),
            r#"{"b":1,"a":"x"}"#
        );
    }
}
