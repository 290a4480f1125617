//! Message move tasks: redrive a dead-letter queue back to its sources or to another queue,
//! at a bounded rate, cancellable, resumed after a restart.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use nimbus_core::{RequestContext, ServiceError};
use nimbus_store::{Tx, params};
use serde_json::json;

use crate::queue::{self, Queue};
use crate::{Sqs, abort, errors};

/// Moves per second when the caller sets no limit.
const DEFAULT_RATE: i64 = 500;

/// One task as `ListMessageMoveTasks` reports it.
#[derive(Debug, Clone)]
pub struct MoveTaskSummary {
    pub task_handle: Option<String>,
    pub status: String,
    pub source_arn: String,
    pub destination_arn: Option<String>,
    pub max_per_second: Option<i64>,
    pub moved: i64,
    pub to_move: i64,
    pub failure_reason: Option<String>,
    pub started_at_ms: i64,
}

impl Sqs {
    pub async fn start_message_move_task(
        self: &Arc<Self>,
        ctx: &RequestContext,
        source_arn: String,
        destination_arn: Option<String>,
        max_per_second: Option<i64>,
    ) -> Result<String, ServiceError> {
        if let Some(rate) = max_per_second.filter(|r| !(1..=500).contains(r)) {
            return Err(errors::invalid_parameter_value(format!(
                "Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and 500."
            )));
        }
        let not_found = || {
            errors::resource_not_found(
                "The resource that you specified for the SourceArn parameter doesn't exist.",
            )
        };
        let source_key = queue::key_from_arn(&source_arn).ok_or_else(not_found)?;
        let destination_key = match &destination_arn {
            Some(arn) => Some(queue::key_from_arn(arn).ok_or_else(|| {
                errors::resource_not_found("The resource that you specified for the DestinationArn parameter doesn't exist.")
            })?),
            None => None,
        };
        let handle = base64::engine::general_purpose::STANDARD.encode(
            json!({"taskId": nimbus_core::ids::uuid(), "sourceArn": source_arn}).to_string(),
        );
        let now = self.clock.now_ms();
        let (account, region) = (ctx.account_id.clone(), ctx.region.clone());
        let task_handle = handle.clone();
        self.db.write(move |tx| {
            let Some(source) = queue::load(tx, &source_key)? else { return abort(not_found()) };
            let is_dead_letter_queue = queue::load_all(tx, &source.account, &source.region)?
                .iter()
                .any(|q| q.redrive_policy().is_some_and(|p| p.dead_letter_target_arn == source.arn()));
            if !is_dead_letter_queue {
                return abort(errors::invalid_parameter_value("Source queue must be configured as a Dead Letter Queue."));
            }
            if let Some(key) = &destination_key
                && queue::load(tx, key)?.is_none()
            {
                return abort(errors::resource_not_found(
                    "The resource that you specified for the DestinationArn parameter doesn't exist.",
                ));
            }
            let running = tx.query_one(
                "SELECT 1 FROM sqs_move_tasks WHERE source_arn = ?1 AND status IN ('RUNNING', 'CANCELLING')",
                &params![&source_arn],
            )?;
            if running.is_some() {
                return abort(errors::unsupported_operation("There is already a task running. Only one active task is allowed for a source queue arn at a given time."));
            }
            let to_move = crate::receive::counts(tx, &source, now)?.iter().sum::<i64>();
            tx.execute(
                "INSERT INTO sqs_move_tasks (handle, account, region, source_arn, destination_arn, max_per_second, status, to_move, started_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'RUNNING', ?7, ?8)",
                &params![task_handle, account, region, &source_arn, destination_arn, max_per_second, to_move, now],
            )?;
            Ok(())
        })
        .await?;
        self.spawn_move_task(handle.clone());
        Ok(handle)
    }

    pub async fn cancel_message_move_task(&self, handle: String) -> Result<i64, ServiceError> {
        self.db
            .write(move |tx| {
                let row = tx.query_one(
                    "SELECT status, moved FROM sqs_move_tasks WHERE handle = ?1",
                    &params![&handle],
                )?;
                let Some(row) = row else {
                    return abort(errors::resource_not_found(
                        "The task handle that you specified doesn't exist.",
                    ));
                };
                if row.str(0)? != "RUNNING" {
                    return abort(errors::unsupported_operation(
                        "Only a running task can be cancelled.",
                    ));
                }
                tx.execute(
                    "UPDATE sqs_move_tasks SET status = 'CANCELLING' WHERE handle = ?1",
                    &params![&handle],
                )?;
                Ok(row.i64(1)?)
            })
            .await
    }

    pub fn list_message_move_tasks(
        &self,
        source_arn: &str,
        max_results: Option<i64>,
    ) -> Result<Vec<MoveTaskSummary>, ServiceError> {
        let max = max_results.unwrap_or(1);
        if !(1..=10).contains(&max) {
            return Err(errors::invalid_parameter_value(format!(
                "Value {max} for parameter MaxResults is invalid. Reason: must be between 1 and 10."
            )));
        }
        let key = queue::key_from_arn(source_arn).ok_or_else(|| {
            errors::resource_not_found(
                "The resource that you specified for the SourceArn parameter doesn't exist.",
            )
        })?;
        self.db.read(|tx| {
            if queue::load(tx, &key)?.is_none() {
                return Ok(None);
            }
            let rows = tx.query(
                "SELECT handle, status, source_arn, destination_arn, max_per_second, moved, to_move, failure_reason, started_at
                 FROM sqs_move_tasks WHERE source_arn = ?1 ORDER BY started_at DESC, rowid DESC LIMIT ?2",
                &params![source_arn, max],
            )?;
            rows.iter()
                .map(|r| {
                    let status = r.string(1)?;
                    Ok(MoveTaskSummary {
                        task_handle: (status == "RUNNING").then(|| r.string(0)).transpose()?,
                        status,
                        source_arn: r.string(2)?,
                        destination_arn: r.opt_string(3)?,
                        max_per_second: r.opt_i64(4)?,
                        moved: r.i64(5)?,
                        to_move: r.i64(6)?,
                        failure_reason: r.opt_string(7)?,
                        started_at_ms: r.i64(8)?,
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        })?
        .ok_or_else(|| errors::resource_not_found("The resource that you specified for the SourceArn parameter doesn't exist."))
    }

    /// Runs a task until it completes, is cancelled, or the server stops.
    pub(crate) fn spawn_move_task(self: &Arc<Self>, handle: String) {
        let sqs = Arc::clone(self);
        let mut shutdown = self.shutdown.get().cloned();
        tokio::spawn(async move {
            loop {
                match sqs.move_batch(handle.clone()).await {
                    Ok(true) => {
                        let stopping = async {
                            match shutdown.as_mut() {
                                Some(rx) => drop(rx.wait_for(|stop| *stop).await),
                                None => std::future::pending().await,
                            }
                        };
                        tokio::select! {
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                            () = stopping => return,
                        }
                    }
                    Ok(false) => return,
                    Err(err) => {
                        tracing::warn!(%err, "message move task stopped");
                        return;
                    }
                }
            }
        });
    }

    /// Moves one second's worth of messages. Returns whether the task goes on.
    async fn move_batch(&self, handle: String) -> Result<bool, ServiceError> {
        let now = self.clock.now_ms();
        let (more, woken) = self.db
            .write(move |tx| {
                let Some(row) = tx.query_one(
                    "SELECT status, source_arn, destination_arn, max_per_second, moved FROM sqs_move_tasks WHERE handle = ?1",
                    &params![&handle],
                )?
                else {
                    return Ok((false, Vec::new()));
                };
                match row.str(0)? {
                    "RUNNING" => {}
                    "CANCELLING" => {
                        tx.execute("UPDATE sqs_move_tasks SET status = 'CANCELLED' WHERE handle = ?1", &params![&handle])?;
                        return Ok((false, Vec::new()));
                    }
                    _ => return Ok((false, Vec::new())),
                }
                let source_arn = row.string(1)?;
                let destination_arn = row.opt_string(2)?;
                let rate = row.opt_i64(3)?.unwrap_or(DEFAULT_RATE);
                let fail = |tx: &mut dyn Tx, reason: &str| {
                    tx.execute(
                        "UPDATE sqs_move_tasks SET status = 'FAILED', failure_reason = ?2 WHERE handle = ?1",
                        &params![&handle, reason],
                    )
                };
                let Some(source) = queue::key_from_arn(&source_arn).map(|k| queue::load(tx, &k)).transpose()?.flatten() else {
                    fail(tx, "AWS.SimpleQueueService.NonExistentQueue")?;
                    return Ok((false, Vec::new()));
                };
                let (moved, woken) = move_messages(tx, &source, destination_arn.as_deref(), rate, now)?;
                tx.execute("UPDATE sqs_move_tasks SET moved = moved + ?2 WHERE handle = ?1", &params![&handle, moved])?;
                if moved < rate {
                    tx.execute("UPDATE sqs_move_tasks SET status = 'COMPLETED' WHERE handle = ?1", &params![&handle])?;
                    return Ok((false, woken));
                }
                Ok((true, woken))
            })
            .await?;
        for queue_id in woken {
            self.waiters.wake(queue_id);
        }
        Ok(more)
    }
}

/// Moves up to `limit` receivable messages out of `source`; returns how many moved and which
/// queues received some.
fn move_messages(
    tx: &mut dyn Tx,
    source: &Queue,
    destination_arn: Option<&str>,
    limit: i64,
    now: i64,
) -> Result<(i64, Vec<i64>), nimbus_store::DbError> {
    let rows = tx.query(
        "SELECT id, dead_letter_source FROM sqs_messages WHERE queue_id = ?1 AND visible_at <= ?2 ORDER BY id LIMIT ?3",
        &params![source.id, now, limit],
    )?;
    let mut moved = 0;
    let mut woken = Vec::new();
    for row in rows {
        let id = row.i64(0)?;
        let target_arn = destination_arn.map(str::to_owned).or(row.opt_string(1)?);
        let target = target_arn
            .and_then(|arn| queue::key_from_arn(&arn))
            .map(|k| queue::load(tx, &k))
            .transpose()?
            .flatten();
        let Some(target) = target else { continue };
        tx.execute(
            "INSERT INTO sqs_messages (queue_id, message_id, body, attributes, system_attributes, md5_body, md5_attributes,
                md5_system_attributes, sender_id, sent_at, visible_at, group_id, dedup_id, sequence_number)
             SELECT ?2, message_id, body, attributes, system_attributes, md5_body, md5_attributes, md5_system_attributes,
                sender_id, ?3, ?3, group_id, dedup_id, sequence_number FROM sqs_messages WHERE id = ?1",
            &params![id, target.id, now],
        )?;
        tx.execute("DELETE FROM sqs_messages WHERE id = ?1", &params![id])?;
        moved += 1;
        if !woken.contains(&target.id) {
            woken.push(target.id);
        }
    }
    Ok((moved, woken))
}
