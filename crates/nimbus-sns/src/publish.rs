//! Publish and PublishBatch: checks, FIFO deduplication and sequencing, filter policies, and
//! the outbox write — the message and one delivery per matching subscription in one commit.

use std::collections::BTreeMap;

use base64::Engine;
use nimbus_core::{RequestContext, ServiceError};
use nimbus_pattern::sns::{Attribute, FilterPolicy};
use nimbus_store::{Tx, TxError, params};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::topics::Topic;
use crate::{Sns, errors, subscriptions};

/// The largest message, body and attributes together (256 KiB).
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// How long a FIFO deduplication id is remembered.
const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;

/// A message attribute as published and stored (binary values in base64).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageAttribute {
    #[serde(rename = "DataType")]
    pub data_type: String,
    #[serde(
        rename = "StringValue",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub string_value: Option<String>,
    #[serde(
        rename = "BinaryValue",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub binary_value: Option<String>,
}

/// What a caller publishes.
#[derive(Debug, Clone, Default)]
pub struct PublishRequest {
    pub subject: Option<String>,
    pub message: String,
    /// `MessageStructure=json`: `message` is a JSON object of per-protocol messages.
    pub structured: bool,
    pub attributes: BTreeMap<String, MessageAttribute>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
}

/// The answer to one publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub message_id: String,
    pub sequence_number: Option<String>,
}

/// A request that passed its checks, ready for the outbox.
struct Checked {
    subject: Option<String>,
    body: String,
    per_protocol: Option<String>,
    attributes: BTreeMap<String, MessageAttribute>,
    group_id: Option<String>,
    dedup_id: Option<String>,
}

fn attribute_error(message: String) -> ServiceError {
    errors::invalid_parameter_value(message)
}

fn check_attribute(name: &str, a: &MessageAttribute) -> Result<(), ServiceError> {
    let valid_name = !name.is_empty()
        && name.len() <= 256
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && !name.to_ascii_lowercase().starts_with("aws.")
        && !name.to_ascii_lowercase().starts_with("amazon.");
    if !valid_name {
        return Err(attribute_error(format!(
            "The message attribute name '{name}' is invalid."
        )));
    }
    let base = a.data_type.split('.').next().unwrap_or_default();
    if !matches!(base, "String" | "Number" | "Binary") {
        return Err(attribute_error(format!(
            "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
        )));
    }
    let empty = || {
        attribute_error(format!(
            "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{}'.",
            a.data_type
        ))
    };
    if base == "Binary" {
        return a
            .binary_value
            .as_ref()
            .filter(|b| !b.is_empty())
            .map(|_| ())
            .ok_or_else(empty);
    }
    let value = a
        .string_value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(empty)?;
    if base == "Number" {
        let ok = value
            .trim()
            .parse::<f64>()
            .is_ok_and(|n| n.is_finite() && n.abs() <= 1e9);
        if !ok {
            return Err(attribute_error(format!(
                "The message attribute '{name}' with type 'Number' must have a valid numeric value between -10^9 and 10^9."
            )));
        }
    }
    if a.data_type == "String.Array" {
        let ok = matches!(serde_json::from_str::<serde_json::Value>(value), Ok(serde_json::Value::Array(items))
            if items.iter().all(|i| !i.is_array() && !i.is_object()));
        if !ok {
            return Err(attribute_error(format!(
                "The message attribute '{name}' with type 'String.Array' must be a JSON array of strings, numbers, true, false or null."
            )));
        }
    }
    Ok(())
}

fn check(topic: &Topic, req: PublishRequest) -> Result<Checked, ServiceError> {
    if req.message.is_empty() {
        return Err(errors::invalid_parameter("Empty message"));
    }
    let attribute_bytes: usize = req
        .attributes
        .iter()
        .map(|(k, v)| {
            k.len()
                + v.data_type.len()
                + v.string_value.as_ref().map_or(0, String::len)
                + v.binary_value.as_ref().map_or(0, |b| b.len() * 3 / 4)
        })
        .sum();
    if req.message.len() + attribute_bytes > MAX_MESSAGE_BYTES {
        return Err(errors::invalid_parameter("Message too long"));
    }
    if let Some(subject) = &req.subject {
        let ok = !subject.is_empty()
            && subject.len() <= 100
            && subject
                .chars()
                .all(|c| c.is_ascii() && !c.is_ascii_control());
        if !ok {
            return Err(errors::invalid_parameter("Subject"));
        }
    }
    for (name, attribute) in &req.attributes {
        check_attribute(name, attribute)?;
    }
    let (body, per_protocol) = if req.structured {
        let parsed: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&req.message)
            .map_err(|_| {
                errors::invalid_parameter("Message Structure - JSON message body failed to parse")
            })?;
        let Some(serde_json::Value::String(default)) = parsed.get("default") else {
            return Err(errors::invalid_parameter(
                "Message Structure - No default entry in JSON message body",
            ));
        };
        (default.clone(), Some(req.message.clone()))
    } else {
        (req.message.clone(), None)
    };
    let (group_id, dedup_id) = if topic.fifo {
        let group = req.group_id.filter(|g| !g.is_empty()).ok_or_else(|| {
            errors::invalid_parameter("The MessageGroupId parameter is required for FIFO topics")
        })?;
        let dedup = match req.dedup_id.filter(|d| !d.is_empty()) {
            Some(d) => d,
            None if topic.content_based_dedup() => {
                hex::encode(sha2::Sha256::digest(body.as_bytes()))
            }
            None => {
                return Err(errors::invalid_parameter(
                    "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                ));
            }
        };
        for (name, value) in [
            ("MessageGroupId", &group),
            ("MessageDeduplicationId", &dedup),
        ] {
            let ok = value.len() <= 128 && value.chars().all(|c| c.is_ascii_graphic());
            if !ok {
                return Err(errors::invalid_parameter(format!(
                    "{name} Reason: invalid value"
                )));
            }
        }
        (Some(group), Some(dedup))
    } else {
        if req.dedup_id.is_some() {
            return Err(errors::invalid_parameter(
                "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type",
            ));
        }
        (req.group_id, None)
    };
    Ok(Checked {
        subject: req.subject,
        body,
        per_protocol,
        attributes: req.attributes,
        group_id,
        dedup_id,
    })
}

/// Whether a subscription wants a message, per its filter policy.
fn wanted(policy: Option<&FilterPolicy>, m: &Checked) -> bool {
    let Some(policy) = policy else { return true };
    let attributes: Vec<Attribute<'_>> = m
        .attributes
        .iter()
        .map(|(name, a)| Attribute {
            name,
            data_type: &a.data_type,
            string_value: a.string_value.as_deref(),
        })
        .collect();
    policy.matches(&m.body, &attributes)
}

impl Sns {
    /// Publishes one message; the delivery rows are committed before this returns.
    pub async fn publish(
        &self,
        ctx: &RequestContext,
        topic_arn: &str,
        req: PublishRequest,
    ) -> Result<Published, ServiceError> {
        self.publish_batch(ctx, topic_arn, vec![req])
            .await?
            .remove(0)
    }

    /// Publishes several messages in one commit; each entry succeeds or fails on its own.
    pub async fn publish_batch(
        &self,
        ctx: &RequestContext,
        topic_arn: &str,
        requests: Vec<PublishRequest>,
    ) -> Result<Vec<Result<Published, ServiceError>>, ServiceError> {
        crate::topics::check_arn(topic_arn, "TopicArn")?;
        let fanout = self.fanout(topic_arn)?;
        let checked: Vec<Result<Checked, ServiceError>> = requests
            .into_iter()
            .map(|r| check(&fanout.topic, r))
            .collect();
        let now = self.clock.now_ms();
        let base_url = ctx.base_url.clone();
        let trace_header = ctx.trace_header.clone();
        // Prechecked: a message that fails its checks fails alone; the job never aborts.
        let (results, queued) = self
            .db
            .write_prechecked(move |tx| {
                let topic_arn = &fanout.topic.arn;
                let mut queued = 0usize;
                let mut results = Vec::with_capacity(checked.len());
                for item in checked {
                    let m = match item {
                        Ok(m) => m,
                        Err(err) => {
                            results.push(Err(err));
                            continue;
                        }
                    };
                    let outcome = outbox_one(
                        tx,
                        topic_arn,
                        &fanout.subscriptions,
                        &fanout.policies,
                        &m,
                        now,
                        &base_url,
                        trace_header.as_deref(),
                    )?;
                    queued += outcome.1;
                    results.push(Ok(outcome.0));
                }
                Ok::<_, TxError<ServiceError>>((results, queued))
            })
            .await?;
        if queued > 0 {
            self.outbox_ready.notify_one();
        }
        Ok(results)
    }
}

/// Writes one checked message and its deliveries; returns the answer and how many deliveries
/// were queued.
#[allow(clippy::too_many_arguments)]
fn outbox_one(
    tx: &mut dyn Tx,
    topic_arn: &str,
    subs: &[subscriptions::Subscription],
    policies: &[Option<FilterPolicy>],
    m: &Checked,
    now: i64,
    base_url: &str,
    trace_header: Option<&str>,
) -> Result<(Published, usize), TxError<ServiceError>> {
    if let Some(dedup) = &m.dedup_id {
        let seen = tx.query_one(
            "SELECT message_id, sequence_number FROM sns_dedup
             WHERE topic_arn = ?1 AND dedup_id = ?2 AND expires_at > ?3",
            &params![topic_arn, dedup, now],
        )?;
        if let Some(seen) = seen {
            return Ok((
                Published {
                    message_id: seen.string(0)?,
                    sequence_number: seen.opt_string(1)?,
                },
                0,
            ));
        }
    }
    let message_id = nimbus_core::ids::uuid();
    let sequence_number = if m.dedup_id.is_some() {
        let row = tx.query_one(
            "UPDATE sns_topics SET next_sequence = next_sequence + 1 WHERE arn = ?1 RETURNING next_sequence",
            &params![topic_arn],
        )?;
        let n = row.map(|r| r.i64(0)).transpose()?.unwrap_or(0);
        Some(format!("{:020}", 10_000_000_000_000_000i64 + n))
    } else {
        None
    };
    if let Some(dedup) = &m.dedup_id {
        tx.execute(
            "INSERT INTO sns_dedup (topic_arn, dedup_id, message_id, sequence_number, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (topic_arn, dedup_id) DO UPDATE SET message_id = excluded.message_id,
               sequence_number = excluded.sequence_number, expires_at = excluded.expires_at",
            &params![
                topic_arn,
                dedup,
                &message_id,
                &sequence_number,
                now + DEDUP_WINDOW_MS
            ],
        )?;
    }
    let targets: Vec<&subscriptions::Subscription> = subs
        .iter()
        .zip(policies)
        .filter(|(s, _)| s.confirmed)
        .filter(|(_, p)| wanted(p.as_ref(), m))
        .map(|(s, _)| s)
        .collect();
    let confirmed = subs.iter().filter(|s| s.confirmed).count();
    let filtered_out = confirmed - targets.len();
    tx.execute(
        "UPDATE sns_topics SET published = published + 1, filtered_out = filtered_out + ?2 WHERE arn = ?1",
        &params![topic_arn, filtered_out as i64],
    )?;
    if !targets.is_empty() {
        let row = tx.query_one(
            "INSERT INTO sns_messages (message_id, topic_arn, subject, body, per_protocol, attributes,
               group_id, dedup_id, sequence_number, published_at, trace_header, base_url, pending)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING id",
            &params![
                &message_id, topic_arn, &m.subject, &m.body, &m.per_protocol,
                serde_json::to_string(&m.attributes).unwrap_or_default(),
                &m.group_id, &m.dedup_id, &sequence_number, now, trace_header, base_url,
                targets.len() as i64
            ],
        )?;
        let row_id = row.map(|r| r.i64(0)).transpose()?.unwrap_or(0);
        for s in &targets {
            // FIFO deliveries of one group to one subscription form a lane, delivered in order.
            let lane = m
                .dedup_id
                .as_ref()
                .map(|_| format!("{}\n{}", s.arn, m.group_id.as_deref().unwrap_or("")));
            tx.execute(
                "INSERT INTO sns_deliveries (message_row, subscription_arn, kind, lane, due_at)
                 VALUES (?1, ?2, 'notification', ?3, ?4)",
                &params![row_id, &s.arn, lane, now],
            )?;
        }
    }
    Ok((
        Published {
            message_id,
            sequence_number,
        },
        targets.len(),
    ))
}

/// Decodes the base64 binary value of an attribute.
pub fn binary_bytes(a: &MessageAttribute) -> Option<Vec<u8>> {
    a.binary_value
        .as_ref()
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
}

impl Sns {
    /// `Publish` with `PhoneNumber`: the SMS is kept, not sent.
    pub async fn publish_sms(
        &self,
        ctx: &RequestContext,
        phone: String,
        message: String,
    ) -> Result<String, ServiceError> {
        let digits = phone.strip_prefix('+').unwrap_or(&phone);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 15 {
            return Err(errors::invalid_parameter(format!(
                "PhoneNumber Reason: {phone} is not valid to publish to"
            )));
        }
        if message.is_empty() {
            return Err(errors::invalid_parameter("Empty message"));
        }
        let message_id = nimbus_core::ids::uuid();
        let (account, region, now) = (
            ctx.account_id.clone(),
            ctx.region.clone(),
            self.clock.now_ms(),
        );
        self.db.write(move |tx| {
            tx.execute(
                "INSERT INTO sns_notifications (account, region, subscription_arn, protocol, endpoint, body, created_at)
                 VALUES (?1, ?2, NULL, 'sms', ?3, ?4, ?5)",
                &params![account, region, phone, message, now],
            )?;
            Ok(())
        })
        .await?;
        Ok(message_id)
    }
}
