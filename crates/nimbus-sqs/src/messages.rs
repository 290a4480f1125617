//! The message lifecycle: send, receive (claim), delete, change visibility, dead-lettering.

use std::collections::HashMap;
use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_store::{DbError, Tx, TxError, params};

use crate::message::{self, Attributes};
use crate::queue::{self, Queue};
use crate::receipt::ReceiptHandle;
use crate::{Sqs, abort, attributes, errors, md5};

/// How long a deduplication id is remembered.
const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;
/// Longest total visibility timeout from the first receive.
const MAX_VISIBILITY_MS: i64 = 12 * 60 * 60 * 1000;

/// A message to send.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    pub body: String,
    pub delay_seconds: Option<i64>,
    pub attributes: Attributes,
    pub system_attributes: Attributes,
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
}

/// What `SendMessage` answers.
#[derive(Debug, Clone)]
pub struct SentMessage {
    pub message_id: String,
    pub md5_of_body: String,
    pub md5_of_attributes: Option<String>,
    pub md5_of_system_attributes: Option<String>,
    pub sequence_number: Option<String>,
}

impl Sqs {
    /// Sends one message; see [`Sqs::send_messages`].
    pub async fn send_message(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
        message: NewMessage,
    ) -> Result<SentMessage, ServiceError> {
        self.send_messages(ctx, queue_url, vec![message], false)
            .await?
            .pop()
            .unwrap_or_else(|| Err(ServiceError::internal()))
    }

    /// Sends messages in one commit; each gets its own result. With `batch`, the total size is
    /// checked against the batch limit first.
    pub async fn send_messages(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
        messages: Vec<NewMessage>,
        batch: bool,
    ) -> Result<Vec<Result<SentMessage, ServiceError>>, ServiceError> {
        let queue = self.queue_by_url(ctx, queue_url)?;
        if batch {
            let total: usize = messages
                .iter()
                .map(|m| m.body.len() + message::check_attributes(&m.attributes).unwrap_or(0))
                .sum();
            let limit = queue.max_message_size();
            if total > limit {
                return Err(errors::batch_request_too_long(limit));
            }
        }
        let sender_id = ctx
            .access_key_id
            .clone()
            .unwrap_or_else(|| ctx.account_id.clone());
        // Everything that needs no stored state happens here, off the single writer.
        let prepared: Vec<_> = messages
            .into_iter()
            .map(|m| prepare(&queue, &m).map(|p| (m, p)))
            .collect();
        let now = self.clock.now_ms();
        let writer_queue = Arc::clone(&queue);
        // Prechecked: the only abort (a deleted queue) comes before the first insert.
        let (results, wake) = self
            .db
            .write_prechecked(move |tx| {
                let queue = writer_queue;
                if !queue::exists(tx, queue.id)? {
                    return abort(errors::queue_does_not_exist());
                }
                let mut results = Vec::with_capacity(prepared.len());
                let mut wake = false;
                for entry in prepared {
                    let result = match entry {
                        Ok((message, prepared)) => {
                            insert(tx, &queue, message, prepared, &sender_id, now)?
                        }
                        Err(err) => Err(err),
                    };
                    wake |= matches!(&result, Ok((_, visible_now)) if *visible_now);
                    results.push(result.map(|(sent, _)| sent));
                }
                Ok((results, wake))
            })
            .await
            .inspect_err(|err| self.forget_if_gone(queue_url, ctx, err))?;
        if wake {
            self.waiters.wake(queue.id);
        }
        Ok(results)
    }

    /// Sends messages bound for several queues in one commit, for deliveries made on behalf
    /// of other services. Each message gets its own result; a queue that is missing fails
    /// only its own messages.
    pub async fn send_across_queues(
        &self,
        sends: Vec<(RequestContext, String, NewMessage)>,
    ) -> Vec<Result<SentMessage, ServiceError>> {
        // Nothing to send costs no commit (an SNS lane without queue deliveries asks so).
        if sends.is_empty() {
            return Vec::new();
        }
        let count = sends.len();
        let prepared: Vec<_> = sends
            .into_iter()
            .map(|(ctx, url, message)| {
                let queue = self.queue_by_url(&ctx, &url)?;
                let prepared = prepare(&queue, &message)?;
                let sender_id = ctx.access_key_id.unwrap_or(ctx.account_id);
                Ok((queue, message, prepared, sender_id))
            })
            .collect();
        let now = self.clock.now_ms();
        // Prechecked: a missing queue fails its own messages without aborting the job.
        let written = self
            .db
            .write_prechecked(move |tx| {
                let mut existing: HashMap<i64, bool> = HashMap::new();
                let mut results = Vec::with_capacity(prepared.len());
                let mut woken = Vec::new();
                for entry in prepared {
                    let (queue, message, prepared, sender_id) = match entry {
                        Ok(entry) => entry,
                        Err(err) => {
                            results.push(Err(err));
                            continue;
                        }
                    };
                    let exists = match existing.get(&queue.id) {
                        Some(&known) => known,
                        None => *existing
                            .entry(queue.id)
                            .or_insert(queue::exists(tx, queue.id)?),
                    };
                    if !exists {
                        results.push(Err(errors::queue_does_not_exist()));
                        continue;
                    }
                    let result = insert(tx, &queue, message, prepared, &sender_id, now)?;
                    if matches!(&result, Ok((_, true))) && !woken.contains(&queue.id) {
                        woken.push(queue.id);
                    }
                    results.push(result.map(|(sent, _)| sent));
                }
                Ok((results, woken))
            })
            .await;
        match written {
            Ok((results, woken)) => {
                for id in woken {
                    self.waiters.wake(id);
                }
                results
            }
            Err(err) => vec![Err(err); count],
        }
    }

    /// Deletes a message by receipt handle. A stale handle (the message was received again
    /// since) succeeds without deleting, as AWS documents.
    pub async fn delete_message(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
        receipt_handle: &str,
    ) -> Result<(), ServiceError> {
        let results = self
            .delete_messages(ctx, queue_url, vec![receipt_handle.to_owned()])
            .await?;
        results.into_iter().next().unwrap_or(Ok(()))
    }

    /// Deletes messages in one commit; each handle gets its own result.
    pub async fn delete_messages(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
        handles: Vec<String>,
    ) -> Result<Vec<Result<(), ServiceError>>, ServiceError> {
        let queue = self.queue_by_url(ctx, queue_url)?;
        self.delete_in(queue, handles).await
    }

    /// Deletes messages of a known queue in one commit.
    pub(crate) async fn delete_in(
        &self,
        queue: Arc<Queue>,
        handles: Vec<String>,
    ) -> Result<Vec<Result<(), ServiceError>>, ServiceError> {
        // Prechecked: a bad handle fails only its own entry; the job never aborts.
        self.db.write_prechecked(move |tx| {
            let mut results = Vec::with_capacity(handles.len());
            for handle in &handles {
                results.push(match ReceiptHandle::decode(handle, queue.id) {
                    Ok(h) => {
                        tx.execute(
                            "DELETE FROM sqs_messages WHERE id = ?1 AND queue_id = ?2 AND receipt_nonce = ?3",
                            &params![h.message_row, queue.id, h.nonce],
                        )?;
                        Ok(())
                    }
                    Err(err) => Err(err),
                });
            }
            Ok(results)
        })
        .await
    }

    /// Changes the visibility timeout of received messages, measured from now.
    pub async fn change_visibility(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
        changes: Vec<(String, i64)>,
    ) -> Result<Vec<Result<(), ServiceError>>, ServiceError> {
        let queue = self.queue_by_url(ctx, queue_url)?;
        self.change_visibility_in(queue, changes).await
    }

    /// Changes visibility timeouts of messages of a known queue in one commit.
    pub(crate) async fn change_visibility_in(
        &self,
        queue: Arc<Queue>,
        changes: Vec<(String, i64)>,
    ) -> Result<Vec<Result<(), ServiceError>>, ServiceError> {
        let queue_id = queue.id;
        let now = self.clock.now_ms();
        // Prechecked: each change fails only its own entry; the job never aborts.
        let (results, wake) = self
            .db
            .write_prechecked(move |tx| {
                let mut results = Vec::with_capacity(changes.len());
                let mut wake = false;
                for (handle, timeout) in &changes {
                    let result = change_one(tx, &queue, handle, *timeout, now)?;
                    wake |= result.is_ok() && *timeout == 0;
                    results.push(result);
                }
                Ok((results, wake))
            })
            .await?;
        if wake {
            self.waiters.wake(queue_id);
        }
        Ok(results)
    }
}

fn change_one(
    tx: &mut dyn Tx,
    queue: &Queue,
    handle: &str,
    timeout: i64,
    now: i64,
) -> Result<Result<(), ServiceError>, DbError> {
    if !(0..=43_200).contains(&timeout) {
        return Ok(Err(errors::invalid_parameter_value(format!(
            "Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided."
        ))));
    }
    let h = match ReceiptHandle::decode(handle, queue.id) {
        Ok(h) => h,
        Err(err) => return Ok(Err(err)),
    };
    let row = tx.query_one(
        "SELECT first_receive_at, visible_at FROM sqs_messages WHERE id = ?1 AND queue_id = ?2 AND receipt_nonce = ?3",
        &params![h.message_row, queue.id, h.nonce],
    )?;
    let Some(row) = row else {
        return Ok(Err(errors::invalid_parameter_value(format!(
            "Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change."
        ))));
    };
    if row.i64(1)? <= now {
        return Ok(Err(errors::message_not_inflight()));
    }
    let first_receive = row.opt_i64(0)?.unwrap_or(now);
    let visible_at = now + timeout * 1000;
    if visible_at - first_receive > MAX_VISIBILITY_MS {
        return Ok(Err(errors::invalid_parameter_value(format!(
            "Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]"
        ))));
    }
    tx.execute(
        "UPDATE sqs_messages SET visible_at = ?2 WHERE id = ?1",
        &params![h.message_row, visible_at],
    )?;
    Ok(Ok(()))
}

/// Checks done before a message touches the store.
struct Prepared {
    attributes_json: Option<String>,
    system_json: Option<String>,
    md5_body: String,
    md5_attributes: Option<String>,
    md5_system: Option<String>,
    delay_ms: i64,
}

fn prepare(queue: &Queue, message: &NewMessage) -> Result<Prepared, ServiceError> {
    message::check_body(&message.body)?;
    let attributes_size = message::check_attributes(&message.attributes)?;
    message::check_system_attributes(&message.system_attributes)?;
    let limit = queue.max_message_size();
    if message.body.len() + attributes_size > limit {
        return Err(errors::invalid_parameter_value(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
        )));
    }
    check_fifo_fields(queue, message)?;
    let delay_ms = match message.delay_seconds {
        Some(d) if !(0..=900).contains(&d) => {
            return Err(errors::invalid_parameter_value(format!(
                "Value {d} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."
            )));
        }
        Some(d) => d * 1000,
        None => queue.delay_ms(),
    };
    let to_json =
        |a: &Attributes| (!a.is_empty()).then(|| serde_json::to_string(a).unwrap_or_default());
    Ok(Prepared {
        attributes_json: to_json(&message.attributes),
        system_json: to_json(&message.system_attributes),
        md5_body: md5::of_body(&message.body),
        md5_attributes: md5::of_attributes(&message.attributes),
        md5_system: md5::of_attributes(&message.system_attributes),
        delay_ms,
    })
}

fn check_fifo_fields(queue: &Queue, message: &NewMessage) -> Result<(), ServiceError> {
    let not_for_this_queue = |name: &str| {
        errors::invalid_parameter_value(format!(
            "The request include parameter {name} that is not valid for this queue type"
        ))
    };
    for (name, value) in [
        ("MessageGroupId", &message.group_id),
        ("MessageDeduplicationId", &message.deduplication_id),
    ] {
        if let Some(value) = value {
            let valid = !value.is_empty()
                && value.len() <= 128
                && value.chars().all(|c| c.is_ascii_graphic());
            if !valid {
                return Err(errors::invalid_parameter_value(format!(
                    "Value {value} for parameter {name} is invalid. Reason: {name} can only include alphanumeric and punctuation characters. 1 to 128 in length."
                )));
            }
        }
    }
    if queue.fifo {
        if message.group_id.is_none() {
            return Err(errors::missing_parameter("MessageGroupId"));
        }
        if message.delay_seconds.is_some_and(|d| d != 0) {
            return Err(errors::invalid_parameter_value(format!(
                "Value {} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.",
                message.delay_seconds.unwrap_or_default()
            )));
        }
        if message.deduplication_id.is_none()
            && !attributes::flag(&queue.attributes, "ContentBasedDeduplication")
        {
            return Err(errors::invalid_parameter_value(
                "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
            ));
        }
    } else if message.deduplication_id.is_some() {
        return Err(not_for_this_queue("MessageDeduplicationId"));
    }
    Ok(())
}

/// Stores one message (or finds its duplicate). Returns the answer and whether it is
/// receivable right away.
fn insert(
    tx: &mut dyn Tx,
    queue: &Queue,
    message: NewMessage,
    prepared: Prepared,
    sender_id: &str,
    now: i64,
) -> Result<Result<(SentMessage, bool), ServiceError>, TxError<ServiceError>> {
    let message_id = nimbus_core::ids::uuid();
    let mut sequence_number = None;
    let dedup_id = if queue.fifo {
        message
            .deduplication_id
            .clone()
            .or_else(|| Some(sha256_hex(&message.body)))
    } else {
        None
    };
    if let Some(dedup_id) = &dedup_id {
        let scope = if queue
            .attributes
            .get("DeduplicationScope")
            .map(String::as_str)
            == Some("messageGroup")
        {
            message.group_id.clone().unwrap_or_default()
        } else {
            String::new()
        };
        let existing = tx.query_one(
            "SELECT message_id, sequence_number FROM sqs_dedup WHERE queue_id = ?1 AND scope = ?2 AND dedup_id = ?3 AND expires_at > ?4",
            &params![queue.id, &scope, dedup_id, now],
        )?;
        if let Some(row) = existing {
            return Ok(Ok((
                SentMessage {
                    message_id: row.string(0)?,
                    md5_of_body: prepared.md5_body,
                    md5_of_attributes: prepared.md5_attributes,
                    md5_of_system_attributes: prepared.md5_system,
                    sequence_number: row.opt_string(1)?,
                },
                false,
            )));
        }
        let next = tx
            .query_one("UPDATE sqs_queues SET next_sequence = next_sequence + 1 WHERE id = ?1 RETURNING next_sequence", &params![queue.id])?
            .map(|row| row.i64(0))
            .transpose()?
            .unwrap_or_default();
        sequence_number = Some(format!(
            "{}",
            18_000_000_000_000_000_000_u128 + u128::try_from(next).unwrap_or(0)
        ));
        tx.execute(
            "INSERT INTO sqs_dedup (queue_id, scope, dedup_id, message_id, sequence_number, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (queue_id, scope, dedup_id) DO UPDATE SET message_id = excluded.message_id,
             sequence_number = excluded.sequence_number, expires_at = excluded.expires_at",
            &params![queue.id, scope, dedup_id, &message_id, &sequence_number, now + DEDUP_WINDOW_MS],
        )?;
    }
    let visible_at = now + prepared.delay_ms;
    tx.execute(
        "INSERT INTO sqs_messages (queue_id, message_id, body, attributes, system_attributes, md5_body, md5_attributes,
            md5_system_attributes, sender_id, sent_at, visible_at, group_id, dedup_id, sequence_number)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        &params![
            queue.id,
            &message_id,
            message.body,
            prepared.attributes_json,
            prepared.system_json,
            &prepared.md5_body,
            &prepared.md5_attributes,
            &prepared.md5_system,
            sender_id,
            now,
            visible_at,
            message.group_id,
            dedup_id,
            &sequence_number
        ],
    )?;
    Ok(Ok((
        SentMessage {
            message_id,
            md5_of_body: prepared.md5_body,
            md5_of_attributes: prepared.md5_attributes,
            md5_of_system_attributes: prepared.md5_system,
            sequence_number,
        },
        prepared.delay_ms == 0,
    )))
}

fn sha256_hex(body: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(body.as_bytes()))
}
