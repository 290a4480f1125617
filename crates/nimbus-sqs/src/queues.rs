//! Queue management: create, delete, look up, list, attributes, tags, permissions, purge.

use std::collections::BTreeMap;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_store::{Tx, TxError, params};
use serde_json::{Value, json};

use crate::attributes::{self, RedriveAllow};
use crate::queue::{self, Queue, QueueKey};
use crate::{Sqs, abort, errors};

/// How long a deleted queue's name stays reserved, and how often a queue may be purged.
const NAME_REUSE_WAIT_MS: i64 = 60_000;
const PURGE_INTERVAL_MS: i64 = 60_000;
const MAX_TAGS: usize = 50;

impl Sqs {
    pub async fn create_queue(
        &self,
        ctx: &RequestContext,
        name: String,
        requested: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Result<String, ServiceError> {
        let fifo = match requested.get("FifoQueue").map(|v| v.to_ascii_lowercase()) {
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(_) => {
                return Err(errors::invalid_attribute_value(
                    "Invalid value for the parameter FifoQueue.",
                ));
            }
            None => false,
        };
        queue::check_name(&name, fifo)?;
        let settings = attributes::validate(&requested, fifo, true)?;
        check_tags(&tags)?;
        let key = QueueKey {
            account: ctx.account_id.clone(),
            region: ctx.region.clone(),
            name,
        };
        let now = self.clock.now_ms();
        let queue = self.db
            .write(move |tx| {
                if let Some(existing) = queue::load(tx, &key)? {
                    for (attr, value) in &settings {
                        if existing.attributes.get(attr).map(String::as_str).unwrap_or("") != value.as_str() {
                            return abort(errors::queue_name_exists(format!(
                                "A queue already exists with the same name and a different value for attribute {attr}"
                            )));
                        }
                    }
                    return Ok(existing);
                }
                let deleted_at = tx
                    .query_one(
                        "SELECT deleted_at FROM sqs_deleted_queues WHERE account = ?1 AND region = ?2 AND name = ?3",
                        &params![&key.account, &key.region, &key.name],
                    )?
                    .map(|row| row.i64(0))
                    .transpose()?;
                if deleted_at.is_some_and(|at| now - at < NAME_REUSE_WAIT_MS) {
                    return abort(errors::queue_deleted_recently(&key.name));
                }
                let mut attributes = attributes::defaults(fifo);
                attributes.extend(settings);
                let mut queue = Queue {
                    id: 0,
                    account: key.account.clone(),
                    region: key.region.clone(),
                    name: key.name.clone(),
                    fifo,
                    attributes,
                    tags,
                    created_at_ms: now,
                    modified_at_ms: now,
                    purged_at_ms: None,
                };
                check_redrive_target(tx, &queue)?;
                tx.execute(
                    "INSERT INTO sqs_queues (account, region, name, fifo, attributes, tags, retention_ms, created_at, modified_at)
                     VALUES (?1, ?2, ?3, ?4, '{}', '{}', 0, ?5, ?5)",
                    &params![&key.account, &key.region, &key.name, fifo, now],
                )?;
                queue.id = tx
                    .query_one("SELECT id FROM sqs_queues WHERE account = ?1 AND region = ?2 AND name = ?3", &params![&key.account, &key.region, &key.name])?
                    .map(|row| row.i64(0))
                    .transpose()?
                    .unwrap_or_default();
                queue::save_settings(tx, &queue)?;
                tx.execute(
                    "DELETE FROM sqs_deleted_queues WHERE account = ?1 AND region = ?2 AND name = ?3",
                    &params![&key.account, &key.region, &key.name],
                )?;
                Ok(queue)
            })
            .await?;
        self.forget_queue(&queue.key());
        Ok(queue.url(&ctx.base_url))
    }

    pub async fn delete_queue(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
    ) -> Result<(), ServiceError> {
        let key = queue::key_from_url(ctx, queue_url)?;
        let now = self.clock.now_ms();
        let forget = key.clone();
        let queue_id = self.db
            .write(move |tx| {
                let Some(queue) = queue::load(tx, &key)? else {
                    return abort(errors::queue_does_not_exist());
                };
                for sql in [
                    "DELETE FROM sqs_messages WHERE queue_id = ?1",
                    "DELETE FROM sqs_dedup WHERE queue_id = ?1",
                    "DELETE FROM sqs_queues WHERE id = ?1",
                ] {
                    tx.execute(sql, &params![queue.id])?;
                }
                tx.execute(
                    "UPDATE sqs_move_tasks SET status = 'CANCELLED' WHERE status IN ('RUNNING', 'CANCELLING')
                     AND (source_arn = ?1 OR destination_arn = ?1)",
                    &params![queue.arn()],
                )?;
                tx.execute(
                    "INSERT INTO sqs_deleted_queues (account, region, name, deleted_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (account, region, name) DO UPDATE SET deleted_at = excluded.deleted_at",
                    &params![&key.account, &key.region, &key.name, now],
                )?;
                Ok(queue.id)
            })
            .await?;
        self.forget_queue(&forget);
        self.waiters.wake(queue_id);
        Ok(())
    }

    pub fn get_queue_url(
        &self,
        ctx: &RequestContext,
        name: &str,
        owner: Option<&str>,
    ) -> Result<String, ServiceError> {
        let key = QueueKey {
            account: owner.unwrap_or(&ctx.account_id).to_owned(),
            region: ctx.region.clone(),
            name: name.to_owned(),
        };
        let queue = self
            .db
            .read(|tx| queue::load(tx, &key))?
            .ok_or_else(errors::queue_does_not_exist)?;
        Ok(queue.url(&ctx.base_url))
    }

    /// Queue URLs by name, from `prefix`, at most `max_results` per page; returns the next token.
    pub fn list_queues(
        &self,
        ctx: &RequestContext,
        prefix: Option<&str>,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), ServiceError> {
        check_max_results(max_results)?;
        let after = match next_token {
            Some(token) => Some(decode_token(token)?),
            None => None,
        };
        let prefix = prefix.unwrap_or("");
        let limit = max_results.unwrap_or(1000);
        let names: Vec<String> = self.db.read(|tx| {
            tx.query(
                "SELECT name FROM sqs_queues WHERE account = ?1 AND region = ?2 AND substr(name, 1, length(?3)) = ?3
                 AND name > ?4 ORDER BY name LIMIT ?5",
                &params![&ctx.account_id, &ctx.region, prefix, after.as_deref().unwrap_or(""), limit + 1],
            )?
            .iter()
            .map(|row| row.string(0))
            .collect()
        })?;
        let more = usize::try_from(limit).is_ok_and(|l| names.len() > l);
        let page: Vec<String> = names
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(1000))
            .collect();
        let token = (more && max_results.is_some())
            .then(|| page.last().map(|n| encode_token(n)))
            .flatten();
        let urls = page
            .iter()
            .map(|n| format!("{}/{}/{n}", ctx.base_url, ctx.account_id))
            .collect();
        Ok((urls, token))
    }

    pub fn get_queue_attributes(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
        names: &[String],
    ) -> Result<BTreeMap<String, String>, ServiceError> {
        for name in names {
            if !attributes::is_known(name) {
                return Err(errors::invalid_attribute_name(format!(
                    "Unknown Attribute {name}."
                )));
            }
        }
        let key = queue::key_from_url(ctx, queue_url)?;
        let now = self.clock.now_ms();
        let wanted = |n: &str| names.iter().any(|w| w == "All" || w == n);
        let (queue, counts) = self.db.read(|tx| {
            let Some(queue) = queue::load(tx, &key)? else {
                return Ok((None, [0; 3]));
            };
            let counts = if wanted("ApproximateNumberOfMessages")
                || wanted("ApproximateNumberOfMessagesNotVisible")
                || wanted("ApproximateNumberOfMessagesDelayed")
            {
                crate::receive::counts(tx, &queue, now)?
            } else {
                [0; 3]
            };
            Ok((Some(queue), counts))
        })?;
        let queue = queue.ok_or_else(errors::queue_does_not_exist)?;
        let mut out = BTreeMap::new();
        for (name, value) in &queue.attributes {
            if wanted(name) && !value.is_empty() {
                out.insert(name.clone(), value.clone());
            }
        }
        let computed = [
            ("ApproximateNumberOfMessages", counts[0].to_string()),
            (
                "ApproximateNumberOfMessagesNotVisible",
                counts[1].to_string(),
            ),
            ("ApproximateNumberOfMessagesDelayed", counts[2].to_string()),
            ("CreatedTimestamp", (queue.created_at_ms / 1000).to_string()),
            (
                "LastModifiedTimestamp",
                (queue.modified_at_ms / 1000).to_string(),
            ),
            ("QueueArn", queue.arn()),
        ];
        for (name, value) in computed {
            if wanted(name) {
                out.insert(name.to_owned(), value);
            }
        }
        Ok(out)
    }

    pub async fn set_queue_attributes(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
        requested: BTreeMap<String, String>,
    ) -> Result<(), ServiceError> {
        let key = queue::key_from_url(ctx, queue_url)?;
        let now = self.clock.now_ms();
        let forget = key.clone();
        let queue_id = self
            .db
            .write(move |tx| {
                let Some(mut queue) = queue::load(tx, &key)? else {
                    return abort(errors::queue_does_not_exist());
                };
                let settings =
                    attributes::validate(&requested, queue.fifo, false).map_err(TxError::Abort)?;
                queue.attributes.extend(settings);
                queue.modified_at_ms = now;
                check_redrive_target(tx, &queue)?;
                queue::save_settings(tx, &queue)?;
                Ok(queue.id)
            })
            .await?;
        self.forget_queue(&forget);
        // A shorter delay or retention may make messages receivable now.
        self.waiters.wake(queue_id);
        Ok(())
    }

    pub async fn tag_queue(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(), ServiceError> {
        check_tags(&tags)?;
        self.update_queue(ctx, queue_url, move |queue| {
            queue.tags.extend(tags);
            if queue.tags.len() > MAX_TAGS {
                return Err(errors::invalid_parameter_value(format!(
                    "Too many tags added for queue {}.",
                    queue.name
                )));
            }
            Ok(())
        })
        .await
    }

    pub async fn untag_queue(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
        keys: Vec<String>,
    ) -> Result<(), ServiceError> {
        if keys.is_empty() {
            return Err(errors::invalid_parameter_value(
                "Tag keys must not be empty.",
            ));
        }
        self.update_queue(ctx, queue_url, move |queue| {
            for key in &keys {
                queue.tags.remove(key);
            }
            Ok(())
        })
        .await
    }

    pub fn list_queue_tags(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
    ) -> Result<BTreeMap<String, String>, ServiceError> {
        Ok(self.load_queue(ctx, queue_url)?.tags)
    }

    pub async fn add_permission(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
        label: String,
        accounts: Vec<String>,
        actions: Vec<String>,
    ) -> Result<(), ServiceError> {
        check_label(&label)?;
        if accounts.is_empty() || actions.is_empty() {
            return Err(errors::missing_parameter(if accounts.is_empty() {
                "AWSAccountIds"
            } else {
                "Actions"
            }));
        }
        for action in &actions {
            if !PERMISSION_ACTIONS.contains(&action.as_str()) {
                return Err(errors::invalid_parameter_value(format!(
                    "Value SQS:{action} for parameter ActionName is invalid. Reason: Please refer to the appropriate WSDL for a list of valid actions."
                )));
            }
        }
        self.update_queue(ctx, queue_url, move |queue| {
            let arn = queue.arn();
            let mut policy = current_policy(queue, &arn);
            let statements = policy["Statement"].as_array_mut().ok_or_else(ServiceError::internal)?;
            if statements.iter().any(|s| s["Sid"] == label.as_str()) {
                return Err(errors::invalid_parameter_value(format!(
                    "Value {label} for parameter Label is invalid. Reason: Already exists."
                )));
            }
            let principals: Vec<Value> =
                accounts.iter().map(|a| json!(format!("arn:aws:iam::{a}:root"))).collect();
            let actions: Vec<Value> = actions.iter().map(|a| json!(format!("SQS:{a}"))).collect();
            statements.push(json!({
                "Sid": label,
                "Effect": "Allow",
                "Principal": {"AWS": if principals.len() == 1 { principals[0].clone() } else { Value::Array(principals) }},
                "Action": if actions.len() == 1 { actions[0].clone() } else { Value::Array(actions) },
                "Resource": arn,
            }));
            queue.attributes.insert("Policy".into(), policy.to_string());
            Ok(())
        })
        .await
    }

    pub async fn remove_permission(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
        label: String,
    ) -> Result<(), ServiceError> {
        self.update_queue(ctx, queue_url, move |queue| {
            let arn = queue.arn();
            let mut policy = current_policy(queue, &arn);
            let statements = policy["Statement"].as_array_mut().ok_or_else(ServiceError::internal)?;
            let before = statements.len();
            statements.retain(|s| s["Sid"] != label.as_str());
            if statements.len() == before {
                return Err(errors::invalid_parameter_value(format!(
                    "Value {label} for parameter Label is invalid. Reason: can't find label on existing policy."
                )));
            }
            let value = if statements.is_empty() { String::new() } else { policy.to_string() };
            queue.attributes.insert("Policy".into(), value);
            Ok(())
        })
        .await
    }

    pub async fn purge_queue(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
    ) -> Result<(), ServiceError> {
        let key = queue::key_from_url(ctx, queue_url)?;
        let now = self.clock.now_ms();
        self.db
            .write(move |tx| {
                let Some(queue) = queue::load(tx, &key)? else {
                    return abort(errors::queue_does_not_exist());
                };
                if queue
                    .purged_at_ms
                    .is_some_and(|at| now - at < PURGE_INTERVAL_MS)
                {
                    return abort(errors::purge_queue_in_progress(&queue.name));
                }
                tx.execute(
                    "DELETE FROM sqs_messages WHERE queue_id = ?1 AND sent_at <= ?2",
                    &params![queue.id, now],
                )?;
                tx.execute(
                    "UPDATE sqs_queues SET purged_at = ?2 WHERE id = ?1",
                    &params![queue.id, now],
                )?;
                Ok(())
            })
            .await
    }

    /// Queues whose redrive policy names this queue as their dead-letter queue.
    pub fn list_dead_letter_source_queues(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), ServiceError> {
        check_max_results(max_results)?;
        let after = next_token.map(decode_token).transpose()?;
        let target = self.load_queue(ctx, queue_url)?;
        let target_arn = target.arn();
        let all = self
            .db
            .read(|tx| queue::load_all(tx, &target.account, &target.region))?;
        let sources: Vec<&Queue> = all
            .iter()
            .filter(|q| {
                q.redrive_policy()
                    .is_some_and(|p| p.dead_letter_target_arn == target_arn)
            })
            .filter(|q| {
                after
                    .as_ref()
                    .is_none_or(|after| q.name.as_str() > after.as_str())
            })
            .collect();
        let limit = usize::try_from(max_results.unwrap_or(1000)).unwrap_or(1000);
        let token = (max_results.is_some() && sources.len() > limit)
            .then(|| encode_token(&sources[limit - 1].name));
        let urls = sources
            .iter()
            .take(limit)
            .map(|q| q.url(&ctx.base_url))
            .collect();
        Ok((urls, token))
    }

    /// Loads the queue a URL names, or answers `QueueDoesNotExist`.
    pub(crate) fn load_queue(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
    ) -> Result<Queue, ServiceError> {
        let key = queue::key_from_url(ctx, queue_url)?;
        self.db
            .read(|tx| queue::load(tx, &key))?
            .ok_or_else(errors::queue_does_not_exist)
    }

    async fn update_queue(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
        change: impl FnOnce(&mut Queue) -> Result<(), ServiceError> + Send + 'static,
    ) -> Result<(), ServiceError> {
        let key = queue::key_from_url(ctx, queue_url)?;
        let forget = key.clone();
        self.db
            .write(move |tx| {
                let Some(mut queue) = queue::load(tx, &key)? else {
                    return abort(errors::queue_does_not_exist());
                };
                change(&mut queue).map_err(TxError::Abort)?;
                queue::save_settings(tx, &queue)?;
                Ok(())
            })
            .await?;
        self.forget_queue(&forget);
        Ok(())
    }
}

const PERMISSION_ACTIONS: &[&str] = &[
    "*",
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "PurgeQueue",
    "ListQueueTags",
];

fn check_max_results(max_results: Option<i64>) -> Result<(), ServiceError> {
    match max_results {
        Some(max) if !(1..=1000).contains(&max) => Err(errors::invalid_parameter_value(format!(
            "Value {max} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000."
        ))),
        _ => Ok(()),
    }
}

fn current_policy(queue: &Queue, arn: &str) -> Value {
    attributes::text(&queue.attributes, "Policy")
        .and_then(|p| serde_json::from_str::<Value>(p).ok())
        .filter(|p| p["Statement"].is_array())
        .unwrap_or_else(|| json!({"Version": "2012-10-17", "Id": format!("{arn}/SQSDefaultPolicy"), "Statement": []}))
}

fn check_label(label: &str) -> Result<(), ServiceError> {
    let ok = !label.is_empty()
        && label.len() <= 80
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(errors::invalid_parameter_value(format!(
            "Value {label} for parameter Label is invalid. Reason: Must be alphanumeric, hyphen or underscore, 1 to 80 characters."
        )))
    }
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), ServiceError> {
    if tags.len() > MAX_TAGS {
        return Err(errors::invalid_parameter_value(
            "Too many tags. A queue can have at most 50 tags.",
        ));
    }
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(errors::invalid_parameter_value(format!(
                "Tag {key} is invalid: keys are 1 to 128 characters, values at most 256."
            )));
        }
    }
    Ok(())
}

/// A redrive policy must name an existing queue of the same type that allows this source.
fn check_redrive_target(tx: &mut dyn Tx, queue: &Queue) -> Result<(), TxError<ServiceError>> {
    let Some(policy) = queue.redrive_policy() else {
        return Ok(());
    };
    let invalid = |why: &str| {
        TxError::Abort(errors::invalid_attribute_value(format!(
            "Value {{\"deadLetterTargetArn\":\"{}\",\"maxReceiveCount\":{}}} for parameter RedrivePolicy is invalid. Reason: {why}",
            policy.dead_letter_target_arn, policy.max_receive_count
        )))
    };
    let Some(target_key) = queue::key_from_arn(&policy.dead_letter_target_arn) else {
        return Err(invalid("Dead-letter target ARN is not a queue ARN."));
    };
    let Some(target) = queue::load(tx, &target_key)? else {
        return Err(invalid("Dead-letter target does not exist."));
    };
    if target.fifo != queue.fifo {
        return Err(invalid(
            "Dead-letter queue must be same type of queue as the source.",
        ));
    }
    if !RedriveAllow::parse(attributes::text(&target.attributes, "RedriveAllowPolicy"))
        .allows(&queue.arn())
    {
        return Err(invalid(
            "The dead-letter queue does not allow this queue to use it as a dead-letter queue.",
        ));
    }
    Ok(())
}

fn encode_token(name: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(json!({"after": name}).to_string())
}

fn decode_token(token: &str) -> Result<String, ServiceError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|v| v["after"].as_str().map(str::to_owned))
        .ok_or_else(|| errors::invalid_parameter_value("Invalid NextToken value."))
}
