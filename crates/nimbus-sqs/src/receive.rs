//! Receiving: claiming visible messages (FIFO groups respected), dead-lettering over-received
//! ones, long polling, and the counts `GetQueueAttributes` reports.

use std::collections::BTreeMap;
use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_store::{DbError, Row, Tx, TxError, params};

use crate::message::Attributes;
use crate::queue::{self, Queue};
use crate::receipt::ReceiptHandle;
use crate::{Sqs, abort, attributes, errors, md5};

const MAX_IN_FLIGHT_STANDARD: i64 = 120_000;
const MAX_IN_FLIGHT_FIFO: i64 = 20_000;
/// How long a `ReceiveRequestAttemptId` is remembered.
const ATTEMPT_WINDOW_MS: i64 = 5 * 60 * 1000;

/// Options of one receive.
#[derive(Debug, Clone, Default)]
pub struct ReceiveOptions {
    pub max_messages: Option<i64>,
    pub visibility_timeout: Option<i64>,
    pub wait_time_seconds: Option<i64>,
    /// System attribute names (`All`, `SentTimestamp`…), legacy `AttributeNames` included.
    pub system_attribute_names: Vec<String>,
    /// Message attribute names (`All`, `.*`, `prefix.*`, exact names).
    pub message_attribute_names: Vec<String>,
    /// FIFO only: a retry with the same id within five minutes gets the same messages.
    pub attempt_id: Option<String>,
}

/// A received message.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    pub attributes: BTreeMap<String, String>,
    pub message_attributes: Attributes,
    pub md5_of_message_attributes: Option<String>,
}

const SYSTEM_ATTRIBUTE_NAMES: &[&str] = &[
    "All",
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
];

impl Sqs {
    /// Receives up to `MaxNumberOfMessages`, long-polling up to `WaitTimeSeconds`.
    pub async fn receive_message(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
        options: ReceiveOptions,
    ) -> Result<Vec<ReceivedMessage>, ServiceError> {
        let max = options.max_messages.unwrap_or(1);
        if !(1..=10).contains(&max) {
            return Err(errors::invalid_parameter_value(format!(
                "Value {max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
            )));
        }
        if let Some(wait) = options.wait_time_seconds.filter(|w| !(0..=20).contains(w)) {
            return Err(errors::invalid_parameter_value(format!(
                "Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
            )));
        }
        if let Some(timeout) = options
            .visibility_timeout
            .filter(|v| !(0..=43_200).contains(v))
        {
            return Err(errors::invalid_parameter_value(format!(
                "Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided."
            )));
        }
        if let Some(attempt) = &options.attempt_id
            && (attempt.is_empty()
                || attempt.len() > 128
                || !attempt.chars().all(|c| c.is_ascii_graphic()))
        {
            return Err(errors::invalid_parameter_value(format!(
                "Value {attempt} for parameter ReceiveRequestAttemptId is invalid. Reason: ReceiveRequestAttemptId can only include alphanumeric and punctuation characters. 1 to 128 in length."
            )));
        }
        for name in &options.system_attribute_names {
            if !SYSTEM_ATTRIBUTE_NAMES.contains(&name.as_str()) && !attributes::is_known(name) {
                return Err(errors::invalid_attribute_name(format!(
                    "Unknown Attribute {name}."
                )));
            }
        }
        let queue = self.queue_by_url(ctx, queue_url)?;
        let wait_seconds = options
            .wait_time_seconds
            .unwrap_or_else(|| attributes::int(&queue.attributes, "ReceiveMessageWaitTimeSeconds"));
        let wait = std::time::Duration::from_secs(u64::try_from(wait_seconds).unwrap_or(0));
        self.receive_checked(queue, options, max, wait).await
    }

    /// Receives from a known queue with checked options, long-polling up to `wait`.
    pub(crate) async fn receive_checked(
        &self,
        queue: Arc<Queue>,
        options: ReceiveOptions,
        max: i64,
        wait: std::time::Duration,
    ) -> Result<Vec<ReceivedMessage>, ServiceError> {
        let deadline = tokio::time::Instant::now() + wait;
        let notify = self.waiters.of(queue.id);
        let options = std::sync::Arc::new(options);
        loop {
            let woken = notify.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let now = self.clock.now_ms();
            let claim_options = options.clone();
            let claim_queue = Arc::clone(&queue);
            let (messages, next_visible) = self
                .db
                // Prechecked: `claim` aborts only on the in-flight limit, before any change.
                .write_prechecked(move |tx| claim(tx, &claim_queue, &claim_options, max, now))
                .await?;
            if !messages.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(messages);
            }
            let clock_passes = async {
                match next_visible {
                    Some(at) => self.clock.sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = &mut woken => {}
                () = clock_passes => {}
                () = tokio::time::sleep_until(deadline) => return Ok(Vec::new()),
            }
        }
    }
}

const MESSAGE_COLUMNS: &str = "id, message_id, body, attributes, system_attributes, md5_body, sender_id, sent_at,
    receive_count, first_receive_at, group_id, dedup_id, sequence_number, dead_letter_source, md5_attributes, md5_system_attributes";

/// Claims up to `max` receivable messages: expired ones are dropped, over-received ones go to
/// the dead-letter queue, the rest become invisible with a fresh receipt handle. Also returns
/// when the next hidden message becomes visible, for long polls.
fn claim(
    tx: &mut dyn Tx,
    queue: &Queue,
    options: &ReceiveOptions,
    max: i64,
    now: i64,
) -> Result<(Vec<ReceivedMessage>, Option<i64>), TxError<ServiceError>> {
    let in_flight_limit = if queue.fifo {
        MAX_IN_FLIGHT_FIFO
    } else {
        MAX_IN_FLIGHT_STANDARD
    };
    let hidden = tx
        .query_one(
            "SELECT COUNT(*) FROM (SELECT 1 FROM sqs_messages WHERE queue_id = ?1 AND visible_at > ?2 AND receive_count > 0 LIMIT ?3)",
            &params![queue.id, now, in_flight_limit],
        )?
        .map(|r| r.i64(0))
        .transpose()?
        .unwrap_or(0);
    if hidden >= in_flight_limit {
        return abort(errors::over_limit(format!(
            "Too many messages in flight for queue {}: the limit is {in_flight_limit}.",
            queue.name
        )));
    }
    let timeout_ms = options
        .visibility_timeout
        .map_or_else(|| queue.visibility_timeout_ms(), |t| t * 1000);
    let attempt = options.attempt_id.as_deref().filter(|_| queue.fifo);
    if let Some(attempt) = attempt
        && let Some(replayed) = replay_attempt(tx, queue, attempt, options, now, timeout_ms)?
    {
        return Ok((replayed, None));
    }
    let redrive = queue.redrive_policy();
    let mut claimed = Vec::new();
    let retention = queue.retention_ms();
    // Expired and dead-lettered candidates do not count: look further until the page is full,
    // never returning one message twice (a zero visibility timeout leaves it receivable).
    let mut claimed_ids = std::collections::HashSet::new();
    let mut receipts: Vec<(i64, String)> = Vec::new();
    for _ in 0..8 {
        let wanted = max - i64::try_from(claimed.len()).unwrap_or(0);
        if wanted <= 0 {
            break;
        }
        let rows = candidates(
            tx,
            queue,
            now,
            wanted + i64::try_from(claimed_ids.len()).unwrap_or(0),
        )?;
        let mut dropped = false;
        for row in rows {
            let id = row.i64(0)?;
            if claimed_ids.contains(&id) || i64::try_from(claimed.len()).unwrap_or(0) >= max {
                continue;
            }
            let sent_at = row.i64(7)?;
            let receive_count = row.i64(8)?;
            if sent_at + retention <= now {
                tx.execute("DELETE FROM sqs_messages WHERE id = ?1", &params![id])?;
                dropped = true;
                continue;
            }
            if let Some(policy) = &redrive
                && receive_count >= policy.max_receive_count
                && dead_letter(tx, queue, &policy.dead_letter_target_arn, id, now)?
            {
                dropped = true;
                continue;
            }
            let nonce = nimbus_core::ids::uuid();
            let first_receive = row.opt_i64(9)?.unwrap_or(now);
            tx.execute(
                "UPDATE sqs_messages SET visible_at = ?2, receive_count = receive_count + 1, first_receive_at = ?3, receipt_nonce = ?4 WHERE id = ?1",
                &params![id, now + timeout_ms, first_receive, &nonce],
            )?;
            claimed_ids.insert(id);
            receipts.push((id, nonce.clone()));
            let handle = ReceiptHandle {
                queue_id: queue.id,
                message_row: id,
                nonce,
            }
            .encode();
            claimed.push(to_received(
                &row,
                handle,
                receive_count + 1,
                first_receive,
                options,
            )?);
        }
        if !dropped {
            break;
        }
    }
    if let Some(attempt) = attempt {
        tx.execute(
            "INSERT INTO sqs_receive_attempts (queue_id, attempt_id, created_at, receipts) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (queue_id, attempt_id) DO UPDATE SET created_at = excluded.created_at, receipts = excluded.receipts",
            &params![queue.id, attempt, now, serde_json::json!(receipts).to_string()],
        )?;
    }
    let next_visible = if claimed.is_empty() {
        tx.query_one(
            "SELECT MIN(visible_at) FROM sqs_messages WHERE queue_id = ?1 AND visible_at > ?2",
            &params![queue.id, now],
        )?
        .map(|r| r.opt_i64(0))
        .transpose()?
        .flatten()
    } else {
        None
    };
    Ok((claimed, next_visible))
}

/// A FIFO receive retried with the same `ReceiveRequestAttemptId` within five minutes gets the
/// messages (and receipt handles) of the first attempt that are still in the queue, with their
/// visibility timeout restarted, as SQS documents.
fn replay_attempt(
    tx: &mut dyn Tx,
    queue: &Queue,
    attempt: &str,
    options: &ReceiveOptions,
    now: i64,
    timeout_ms: i64,
) -> Result<Option<Vec<ReceivedMessage>>, DbError> {
    let Some(row) = tx.query_one(
        "SELECT receipts FROM sqs_receive_attempts WHERE queue_id = ?1 AND attempt_id = ?2 AND created_at > ?3",
        &params![queue.id, attempt, now - ATTEMPT_WINDOW_MS],
    )?
    else {
        return Ok(None);
    };
    let receipts: Vec<(i64, String)> = serde_json::from_str(row.str(0)?).unwrap_or_default();
    let mut replayed = Vec::with_capacity(receipts.len());
    for (id, nonce) in receipts {
        let Some(message) = tx.query_one(
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM sqs_messages WHERE id = ?1 AND receipt_nonce = ?2"
            ),
            &params![id, &nonce],
        )?
        else {
            continue;
        };
        tx.execute(
            "UPDATE sqs_messages SET visible_at = ?2 WHERE id = ?1",
            &params![id, now + timeout_ms],
        )?;
        let handle = ReceiptHandle {
            queue_id: queue.id,
            message_row: id,
            nonce,
        }
        .encode();
        let first_receive = message.opt_i64(9)?.unwrap_or(now);
        replayed.push(to_received(
            &message,
            handle,
            message.i64(8)?,
            first_receive,
            options,
        )?);
    }
    Ok(Some(replayed))
}

/// Receivable messages in order. A FIFO group with a message in flight yields nothing.
fn candidates(tx: &mut dyn Tx, queue: &Queue, now: i64, limit: i64) -> Result<Vec<Row>, DbError> {
    if queue.fifo {
        tx.query(
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM sqs_messages m WHERE m.queue_id = ?1 AND m.visible_at <= ?2
                 AND NOT EXISTS (SELECT 1 FROM sqs_messages x WHERE x.queue_id = ?1 AND x.group_id = m.group_id
                                 AND x.visible_at > ?2 AND (x.id < m.id OR x.receive_count > 0))
                 ORDER BY m.id LIMIT ?3"
            ),
            &params![queue.id, now, limit],
        )
    } else {
        tx.query(
            &format!("SELECT {MESSAGE_COLUMNS} FROM sqs_messages WHERE queue_id = ?1 AND visible_at <= ?2 ORDER BY visible_at, id LIMIT ?3"),
            &params![queue.id, now, limit],
        )
    }
}

/// Moves a message to the dead-letter queue. Returns false (keep it here) when that queue is
/// gone, as SQS does.
fn dead_letter(
    tx: &mut dyn Tx,
    source: &Queue,
    target_arn: &str,
    id: i64,
    now: i64,
) -> Result<bool, DbError> {
    let Some(target) = queue::key_from_arn(target_arn)
        .map(|k| queue::load(tx, &k))
        .transpose()?
        .flatten()
    else {
        return Ok(false);
    };
    // Standard queues keep the original enqueue time (retention runs from it); FIFO resets it.
    let sent_at = if target.fifo {
        format!("{now}")
    } else {
        "sent_at".to_owned()
    };
    tx.execute(
        &format!(
            "INSERT INTO sqs_messages (queue_id, message_id, body, attributes, system_attributes, md5_body, md5_attributes,
                md5_system_attributes, sender_id, sent_at, visible_at, group_id, dedup_id, sequence_number, dead_letter_source)
             SELECT ?2, message_id, body, attributes, system_attributes, md5_body, md5_attributes, md5_system_attributes,
                sender_id, {sent_at}, ?3, group_id, dedup_id, sequence_number, ?4 FROM sqs_messages WHERE id = ?1"
        ),
        &params![id, target.id, now, source.arn()],
    )?;
    tx.execute("DELETE FROM sqs_messages WHERE id = ?1", &params![id])?;
    Ok(true)
}

fn to_received(
    row: &Row,
    receipt_handle: String,
    receive_count: i64,
    first_receive: i64,
    options: &ReceiveOptions,
) -> Result<ReceivedMessage, DbError> {
    let wants = |name: &str| {
        options
            .system_attribute_names
            .iter()
            .any(|n| n == "All" || n == name)
    };
    let mut attributes = BTreeMap::new();
    let mut put = |name: &str, value: Option<String>| {
        if let Some(value) = value.filter(|_| wants(name)) {
            attributes.insert(name.to_owned(), value);
        }
    };
    put("SenderId", Some(row.string(6)?));
    put("SentTimestamp", Some(row.i64(7)?.to_string()));
    put("ApproximateReceiveCount", Some(receive_count.to_string()));
    put(
        "ApproximateFirstReceiveTimestamp",
        Some(first_receive.to_string()),
    );
    put("MessageGroupId", row.opt_string(10)?);
    put("MessageDeduplicationId", row.opt_string(11)?);
    put("SequenceNumber", row.opt_string(12)?);
    put("DeadLetterQueueSourceArn", row.opt_string(13)?);
    let system: Attributes = row
        .opt_string(4)?
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    put(
        "AWSTraceHeader",
        system
            .get("AWSTraceHeader")
            .and_then(|v| v.string_value.clone()),
    );
    let all: Attributes = row
        .opt_string(3)?
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    let message_attributes: Attributes = all
        .into_iter()
        .filter(|(name, _)| attribute_wanted(&options.message_attribute_names, name))
        .collect();
    Ok(ReceivedMessage {
        message_id: row.string(1)?,
        receipt_handle,
        body: row.string(2)?,
        md5_of_body: row.string(5)?,
        md5_of_message_attributes: md5::of_attributes(&message_attributes),
        attributes,
        message_attributes,
    })
}

fn attribute_wanted(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| {
        p == "All"
            || p == ".*"
            || p == name
            || p.strip_suffix(".*")
                .is_some_and(|prefix| name.starts_with(&format!("{prefix}.")))
    })
}

/// Counts of receivable, in-flight and delayed messages. Messages past the queue's retention
/// period are gone even before the sweep deletes them.
pub fn counts(tx: &mut dyn Tx, queue: &Queue, now: i64) -> Result<[i64; 3], DbError> {
    let row = tx.query_one(
        "SELECT COALESCE(SUM(visible_at <= ?2), 0), COALESCE(SUM(visible_at > ?2 AND receive_count > 0), 0),
                COALESCE(SUM(visible_at > ?2 AND receive_count = 0), 0)
         FROM sqs_messages WHERE queue_id = ?1 AND sent_at > ?3",
        &params![queue.id, now, now - queue.retention_ms()],
    )?;
    match row {
        Some(row) => Ok([row.i64(0)?, row.i64(1)?, row.i64(2)?]),
        None => Ok([0; 3]),
    }
}
