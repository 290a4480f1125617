//! Topics: create, delete, list, attributes, tags and permissions.

use std::collections::BTreeMap;

use nimbus_core::{RequestContext, ServiceError, arn};
use nimbus_store::{DbError, Row, Tx, TxError, params};
use serde_json::{Value, json};

use crate::{Sns, abort, attributes, errors};

/// Topics and subscriptions listed per page, as AWS does.
pub const PAGE_SIZE: usize = 100;
/// Tags per resource.
const MAX_TAGS: usize = 50;

/// A topic as stored.
#[derive(Debug, Clone)]
pub struct Topic {
    pub arn: String,
    pub account: String,
    pub fifo: bool,
    /// Settable attributes as the caller gave them (`DisplayName`, `Policy`…).
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

impl Topic {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    pub fn content_based_dedup(&self) -> bool {
        self.attribute("ContentBasedDeduplication") == Some("true")
    }
}

/// What a topic has seen, kept for the CloudWatch metrics SNS emits
/// (NumberOfMessagesPublished, NumberOfNotificationsDelivered, …Failed, …FilteredOut).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TopicCounters {
    pub published: i64,
    pub delivered: i64,
    pub failed: i64,
    pub filtered_out: i64,
}

const TOPIC_COLUMNS: &str = "arn, account, fifo, attributes, tags";

fn topic_from_row(row: &Row) -> Result<Topic, DbError> {
    let parse = |i: usize| -> Result<BTreeMap<String, String>, DbError> {
        serde_json::from_str(row.str(i)?).map_err(|e| DbError::Engine(e.to_string()))
    };
    Ok(Topic {
        arn: row.string(0)?,
        account: row.string(1)?,
        fifo: row.bool(2)?,
        attributes: parse(3)?,
        tags: parse(4)?,
    })
}

/// Loads a topic by ARN.
pub fn load(tx: &mut dyn Tx, topic_arn: &str) -> Result<Option<Topic>, DbError> {
    tx.query_one(
        &format!("SELECT {TOPIC_COLUMNS} FROM sns_topics WHERE arn = ?1"),
        &params![topic_arn],
    )?
    .map(|r| topic_from_row(&r))
    .transpose()
}

/// Checks that `topic_arn` is a well-formed SNS topic ARN.
pub fn check_arn(topic_arn: &str, parameter: &str) -> Result<(), ServiceError> {
    match arn::parse(topic_arn) {
        Some(a) if a.service == "sns" && !a.resource.is_empty() && !a.resource.contains(':') => {
            Ok(())
        }
        _ => Err(errors::invalid_parameter(parameter)),
    }
}

fn valid_name(name: &str) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    !base.is_empty()
        && name.len() <= 256
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn default_policy(topic_arn: &str, account: &str) -> String {
    json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                "SNS:ListSubscriptionsByTopic", "SNS:Publish"
            ],
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account}}
        }]
    })
    .to_string()
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), ServiceError> {
    for (key, value) in tags {
        if key.is_empty() || key.len() > 128 || value.len() > 256 || key.starts_with("aws:") {
            return Err(nimbus_model::sns::errors::invalid_parameter_exception(
                "Invalid parameter: Tags Reason: invalid tag key or value",
            ));
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(nimbus_model::sns::errors::tag_limit_exceeded_exception(
            "Could not complete request: tag quota of per resource exceeded",
        ));
    }
    Ok(())
}

impl Sns {
    /// Loads a topic or fails with `NotFound`.
    pub(crate) fn topic(&self, topic_arn: &str) -> Result<Topic, ServiceError> {
        check_arn(topic_arn, "TopicArn")?;
        self.db
            .read(|tx| load(tx, topic_arn))?
            .ok_or_else(errors::topic_not_found)
    }

    /// Creates a topic, or returns the existing one when its attributes agree.
    pub async fn create_topic(
        &self,
        ctx: &RequestContext,
        name: String,
        mut given: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Result<String, ServiceError> {
        let fifo = given
            .get("FifoTopic")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if !valid_name(&name) || fifo != name.ends_with(".fifo") {
            return Err(errors::invalid_parameter(
                if fifo || name.ends_with(".fifo") {
                    "Fifo Topic names must end with .fifo and they must be between 1 and 256 characters long."
                } else {
                    "Topic Name"
                },
            ));
        }
        for (key, value) in &mut given {
            *value = attributes::check_topic_attribute(key, value, fifo)?;
        }
        check_tags(&tags)?;
        let topic_arn = arn::build("sns", &ctx.region, &ctx.account_id, &name);
        given
            .entry("Policy".to_owned())
            .or_insert_with(|| default_policy(&topic_arn, &ctx.account_id));
        let now = self.clock.now_ms();
        let (account, region, result_arn) = (
            ctx.account_id.clone(),
            ctx.region.clone(),
            topic_arn.clone(),
        );
        self.db.write(move |tx| {
            if let Some(existing) = load(tx, &topic_arn)? {
                let differs = given
                    .iter()
                    .any(|(k, v)| k != "Policy" && existing.attributes.get(k) != Some(v));
                if differs {
                    return abort(errors::invalid_parameter(
                        "Attributes Reason: Topic already exists with different attributes",
                    ));
                }
                let tags_differ = tags.iter().any(|(k, v)| existing.tags.get(k) != Some(v));
                if tags_differ {
                    return abort(errors::invalid_parameter(
                        "Tags Reason: Topic already exists with different tags",
                    ));
                }
                return Ok(());
            }
            tx.execute(
                "INSERT INTO sns_topics (arn, account, region, name, fifo, attributes, tags, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                &params![
                    &topic_arn,
                    account,
                    region,
                    name,
                    fifo,
                    serde_json::to_string(&given).unwrap_or_default(),
                    serde_json::to_string(&tags).unwrap_or_default(),
                    now
                ],
            )?;
            Ok(())
        })
        .await?;
        Ok(result_arn)
    }

    /// Deletes a topic, its subscriptions and their pending deliveries. Deleting a missing
    /// topic succeeds, as on AWS.
    pub async fn delete_topic(&self, topic_arn: String) -> Result<(), ServiceError> {
        check_arn(&topic_arn, "TopicArn")?;
        let forget = topic_arn.clone();
        self.db
            .write(move |tx| {
                tx.execute(
                    "DELETE FROM sns_deliveries WHERE subscription_arn IN
                   (SELECT arn FROM sns_subscriptions WHERE topic_arn = ?1)",
                    &params![&topic_arn],
                )?;
                tx.execute(
                    "DELETE FROM sns_messages WHERE topic_arn = ?1",
                    &params![&topic_arn],
                )?;
                tx.execute(
                    "DELETE FROM sns_subscriptions WHERE topic_arn = ?1",
                    &params![&topic_arn],
                )?;
                tx.execute(
                    "DELETE FROM sns_dedup WHERE topic_arn = ?1",
                    &params![&topic_arn],
                )?;
                tx.execute(
                    "DELETE FROM sns_topics WHERE arn = ?1",
                    &params![&topic_arn],
                )?;
                Ok(())
            })
            .await?;
        self.fanouts.forget(&forget);
        Ok(())
    }

    /// One page of the caller's topics; the token is the last ARN of the previous page.
    pub fn list_topics(
        &self,
        ctx: &RequestContext,
        next_token: Option<String>,
    ) -> Result<(Vec<String>, Option<String>), ServiceError> {
        let after = next_token.unwrap_or_default();
        let (account, region) = (ctx.account_id.clone(), ctx.region.clone());
        let mut arns = self.db.read(|tx| {
            tx.query(
                "SELECT arn FROM sns_topics WHERE account = ?1 AND region = ?2 AND arn > ?3
                 ORDER BY arn LIMIT ?4",
                &params![account, region, after, (PAGE_SIZE + 1) as i64],
            )?
            .iter()
            .map(|r| r.string(0))
            .collect::<Result<Vec<_>, _>>()
        })?;
        let next = (arns.len() > PAGE_SIZE).then(|| {
            arns.truncate(PAGE_SIZE);
            arns.last().cloned().unwrap_or_default()
        });
        Ok((arns, next))
    }

    /// `GetTopicAttributes`: the stored attributes plus the computed ones.
    pub fn topic_attributes(
        &self,
        topic_arn: &str,
    ) -> Result<BTreeMap<String, String>, ServiceError> {
        let topic = self.topic(topic_arn)?;
        let arn_owned = topic.arn.clone();
        let (confirmed, pending, deleted) = self.db.read(|tx| {
            let row = tx.query_one(
                "SELECT COALESCE(SUM(confirmed), 0), COUNT(*) - COALESCE(SUM(confirmed), 0),
                        (SELECT subscriptions_deleted FROM sns_topics WHERE arn = ?1)
                 FROM sns_subscriptions WHERE topic_arn = ?1",
                &params![arn_owned],
            )?;
            match row {
                Some(r) => Ok((r.i64(0)?, r.i64(1)?, r.opt_i64(2)?.unwrap_or(0))),
                None => Ok((0, 0, 0)),
            }
        })?;
        let mut out = topic.attributes.clone();
        out.insert("TopicArn".into(), topic.arn.clone());
        out.insert("Owner".into(), topic.account.clone());
        out.insert("SubscriptionsConfirmed".into(), confirmed.to_string());
        out.insert("SubscriptionsPending".into(), pending.to_string());
        out.insert("SubscriptionsDeleted".into(), deleted.to_string());
        out.insert(
            "EffectiveDeliveryPolicy".into(),
            crate::retry::effective_topic_policy(topic.attribute("DeliveryPolicy")),
        );
        if topic.fifo {
            out.insert("FifoTopic".into(), "true".into());
            out.entry("ContentBasedDeduplication".into())
                .or_insert_with(|| "false".into());
        }
        Ok(out)
    }

    /// `SetTopicAttributes`; an empty value removes an attribute.
    pub async fn set_topic_attribute(
        &self,
        topic_arn: String,
        name: String,
        value: String,
    ) -> Result<(), ServiceError> {
        let topic = self.topic(&topic_arn)?;
        if name == "FifoTopic" {
            return Err(errors::invalid_parameter("AttributeName"));
        }
        let value = attributes::check_topic_attribute(&name, &value, topic.fifo)?;
        let forget = topic_arn.clone();
        self.db
            .write(move |tx| {
                let Some(mut topic) = load(tx, &topic_arn)? else {
                    return abort(errors::topic_not_found());
                };
                if value.is_empty() && name != "DisplayName" {
                    topic.attributes.remove(&name);
                } else {
                    topic.attributes.insert(name, value);
                }
                tx.execute(
                    "UPDATE sns_topics SET attributes = ?2 WHERE arn = ?1",
                    &params![
                        topic_arn,
                        serde_json::to_string(&topic.attributes).unwrap_or_default()
                    ],
                )?;
                Ok(())
            })
            .await?;
        self.fanouts.forget(&forget);
        Ok(())
    }

    /// Per-topic delivery counters.
    pub fn topic_counters(&self, topic_arn: &str) -> Result<TopicCounters, ServiceError> {
        let arn = topic_arn.to_owned();
        self.db
            .read(|tx| {
                let row = tx.query_one(
                "SELECT published, delivered, failed, filtered_out FROM sns_topics WHERE arn = ?1",
                &params![arn],
            )?;
                row.map(|r| {
                    Ok(TopicCounters {
                        published: r.i64(0)?,
                        delivered: r.i64(1)?,
                        failed: r.i64(2)?,
                        filtered_out: r.i64(3)?,
                    })
                })
                .transpose()
            })?
            .ok_or_else(errors::topic_not_found)
    }

    /// Adds or replaces tags on a topic.
    pub async fn tag_topic(
        &self,
        resource_arn: String,
        tags: BTreeMap<String, String>,
    ) -> Result<(), ServiceError> {
        self.update_tags(resource_arn, move |current| {
            current.extend(tags);
            check_tags(current)
        })
        .await
    }

    /// Removes tags from a topic.
    pub async fn untag_topic(
        &self,
        resource_arn: String,
        keys: Vec<String>,
    ) -> Result<(), ServiceError> {
        self.update_tags(resource_arn, move |current| {
            keys.iter().for_each(|k| {
                current.remove(k);
            });
            Ok(())
        })
        .await
    }

    async fn update_tags(
        &self,
        resource_arn: String,
        change: impl FnOnce(&mut BTreeMap<String, String>) -> Result<(), ServiceError> + Send + 'static,
    ) -> Result<(), ServiceError> {
        check_arn(&resource_arn, "ResourceArn").map_err(|_| errors::resource_not_found())?;
        self.db
            .write(move |tx| {
                let Some(mut topic) = load(tx, &resource_arn)? else {
                    return abort(errors::resource_not_found());
                };
                if let Err(err) = change(&mut topic.tags) {
                    return abort(err);
                }
                tx.execute(
                    "UPDATE sns_topics SET tags = ?2 WHERE arn = ?1",
                    &params![
                        resource_arn,
                        serde_json::to_string(&topic.tags).unwrap_or_default()
                    ],
                )?;
                Ok(())
            })
            .await
    }

    /// A topic's tags.
    pub fn topic_tags(&self, resource_arn: &str) -> Result<BTreeMap<String, String>, ServiceError> {
        check_arn(resource_arn, "ResourceArn").map_err(|_| errors::resource_not_found())?;
        let arn = resource_arn.to_owned();
        self.db
            .read(|tx| load(tx, &arn))?
            .map(|t| t.tags)
            .ok_or_else(errors::resource_not_found)
    }

    /// `AddPermission`: a statement labelled `label` in the topic policy.
    pub async fn add_permission(
        &self,
        topic_arn: String,
        label: String,
        accounts: Vec<String>,
        actions: Vec<String>,
    ) -> Result<(), ServiceError> {
        if accounts.is_empty() || actions.is_empty() {
            return Err(errors::invalid_parameter(
                "Policy statement action out of service scope!",
            ));
        }
        let principals: Vec<String> = accounts
            .iter()
            .map(|a| format!("arn:aws:iam::{a}:root"))
            .collect();
        let actions: Vec<String> = actions.iter().map(|a| format!("SNS:{a}")).collect();
        self.update_policy(topic_arn, move |arn, statements| {
            if statements.iter().any(|s| s["Sid"] == label.as_str()) {
                return Err(errors::invalid_parameter("Statement already exists"));
            }
            statements.push(json!({
                "Sid": label,
                "Effect": "Allow",
                "Principal": {"AWS": principals},
                "Action": actions,
                "Resource": arn,
            }));
            Ok(())
        })
        .await
    }

    /// `RemovePermission`: drops the statement labelled `label`.
    pub async fn remove_permission(
        &self,
        topic_arn: String,
        label: String,
    ) -> Result<(), ServiceError> {
        self.update_policy(topic_arn, move |_, statements| {
            statements.retain(|s| s["Sid"] != label.as_str());
            Ok(())
        })
        .await
    }

    async fn update_policy(
        &self,
        topic_arn: String,
        change: impl FnOnce(&str, &mut Vec<Value>) -> Result<(), ServiceError> + Send + 'static,
    ) -> Result<(), ServiceError> {
        self.topic(&topic_arn)?;
        let forget = topic_arn.clone();
        self.db
            .write(move |tx| {
                let Some(mut topic) = load(tx, &topic_arn)? else {
                    return abort(errors::topic_not_found());
                };
                let mut policy: Value = topic
                    .attribute("Policy")
                    .and_then(|p| serde_json::from_str(p).ok())
                    .unwrap_or_else(|| json!({"Version": "2008-10-17", "Statement": []}));
                let mut statements = policy["Statement"].as_array().cloned().unwrap_or_default();
                if let Err(err) = change(&topic_arn, &mut statements) {
                    return abort(err);
                }
                policy["Statement"] = Value::Array(statements);
                topic.attributes.insert("Policy".into(), policy.to_string());
                tx.execute(
                    "UPDATE sns_topics SET attributes = ?2 WHERE arn = ?1",
                    &params![
                        topic_arn,
                        serde_json::to_string(&topic.attributes).unwrap_or_default()
                    ],
                )?;
                Ok::<(), TxError<ServiceError>>(())
            })
            .await?;
        self.fanouts.forget(&forget);
        Ok(())
    }
}
