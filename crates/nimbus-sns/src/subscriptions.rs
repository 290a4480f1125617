//! Subscriptions: subscribe (with the confirmation handshake for HTTP/S and email),
//! confirm, unsubscribe, list, attributes.

use std::collections::BTreeMap;

use nimbus_core::{RequestContext, ServiceError, arn};
use nimbus_pattern::sns::Scope;
use nimbus_store::{DbError, Row, Tx, params};

use crate::topics::{self, PAGE_SIZE};
use crate::{Sns, abort, attributes, errors, retry};

/// Protocols whose subscriptions need no confirmation.
const SELF_CONFIRMING: &[&str] = &["sqs", "lambda", "sms", "firehose"];
/// Every protocol nimbus accepts.
const PROTOCOLS: &[&str] = &[
    "sqs",
    "lambda",
    "http",
    "https",
    "email",
    "email-json",
    "sms",
];

/// A subscription as stored.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub arn: String,
    pub topic_arn: String,
    pub account: String,
    pub protocol: String,
    pub endpoint: String,
    pub attributes: BTreeMap<String, String>,
    pub confirmed: bool,
    pub token: String,
    pub base_url: String,
}

impl Subscription {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn raw(&self) -> bool {
        self.attribute("RawMessageDelivery") == Some("true")
    }

    pub fn scope(&self) -> Scope {
        self.attribute("FilterPolicyScope")
            .and_then(Scope::parse)
            .unwrap_or(Scope::MessageAttributes)
    }
}

/// A row of `ListSubscriptions`.
#[derive(Debug, Clone)]
pub struct Listed {
    pub arn: String,
    pub owner: String,
    pub protocol: String,
    pub endpoint: String,
    pub topic_arn: String,
}

pub const COLUMNS: &str =
    "arn, topic_arn, account, protocol, endpoint, attributes, confirmed, token, base_url";

pub fn from_row(row: &Row) -> Result<Subscription, DbError> {
    Ok(Subscription {
        arn: row.string(0)?,
        topic_arn: row.string(1)?,
        account: row.string(2)?,
        protocol: row.string(3)?,
        endpoint: row.string(4)?,
        attributes: serde_json::from_str(row.str(5)?)
            .map_err(|e| DbError::Engine(e.to_string()))?,
        confirmed: row.bool(6)?,
        token: row.string(7)?,
        base_url: row.string(8)?,
    })
}

pub fn load(tx: &mut dyn Tx, subscription_arn: &str) -> Result<Option<Subscription>, DbError> {
    tx.query_one(
        &format!("SELECT {COLUMNS} FROM sns_subscriptions WHERE arn = ?1"),
        &params![subscription_arn],
    )?
    .map(|r| from_row(&r))
    .transpose()
}

/// Every subscription of a topic.
pub fn of_topic(tx: &mut dyn Tx, topic_arn: &str) -> Result<Vec<Subscription>, DbError> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM sns_subscriptions WHERE topic_arn = ?1 ORDER BY arn"),
        &params![topic_arn],
    )?
    .iter()
    .map(from_row)
    .collect()
}

fn check_endpoint(protocol: &str, endpoint: &str) -> Result<(), ServiceError> {
    let ok = match protocol {
        "sqs" => arn::parse(endpoint).is_some_and(|a| a.service == "sqs" && !a.resource.is_empty()),
        "lambda" => arn::parse(endpoint).is_some_and(|a| a.service == "lambda"),
        "http" => endpoint.starts_with("http://") && endpoint.len() > 7,
        "https" => endpoint.starts_with("https://") && endpoint.len() > 8,
        "email" | "email-json" => endpoint
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.')),
        "sms" => {
            let digits = endpoint.strip_prefix('+').unwrap_or(endpoint);
            !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == '-')
        }
        _ => false,
    };
    match (ok, protocol) {
        (true, _) => Ok(()),
        (false, "sqs") => Err(errors::invalid_parameter("SQS endpoint ARN")),
        (false, "lambda") => Err(errors::invalid_parameter("Lambda endpoint ARN")),
        (false, "sms") => Err(errors::invalid_parameter("Invalid SMS endpoint")),
        (false, "email" | "email-json") => Err(errors::invalid_parameter("Email address")),
        (false, _) => Err(errors::invalid_parameter(
            "Endpoint must match the specified protocol",
        )),
    }
}

/// Checks a whole attribute map in an order where `FilterPolicyScope` is known before the
/// policy it governs.
fn check_attributes(
    given: &BTreeMap<String, String>,
    protocol: &str,
) -> Result<BTreeMap<String, String>, ServiceError> {
    let scope = given
        .get("FilterPolicyScope")
        .and_then(|s| Scope::parse(s))
        .unwrap_or(Scope::MessageAttributes);
    given
        .iter()
        .map(|(k, v)| {
            attributes::check_subscription_attribute(k, v, protocol, scope).map(|v| (k.clone(), v))
        })
        .collect()
}

impl Sns {
    pub(crate) fn subscription(
        &self,
        subscription_arn: &str,
    ) -> Result<Subscription, ServiceError> {
        let valid = arn::parse(subscription_arn)
            .is_some_and(|a| a.service == "sns" && a.resource.contains(':'));
        if !valid {
            return Err(errors::invalid_parameter("SubscriptionArn"));
        }
        self.db
            .read(|tx| load(tx, subscription_arn))?
            .ok_or_else(errors::subscription_not_found)
    }

    /// `Subscribe`: returns the subscription ARN, or `pending confirmation` for endpoints that
    /// must confirm first (unless `return_arn`).
    pub async fn subscribe(
        &self,
        ctx: &RequestContext,
        topic_arn: String,
        protocol: String,
        endpoint: Option<String>,
        given: BTreeMap<String, String>,
        return_arn: bool,
    ) -> Result<String, ServiceError> {
        let topic = self.topic(&topic_arn)?;
        if !PROTOCOLS.contains(&protocol.as_str()) {
            return Err(errors::invalid_parameter(format!(
                "Amazon SNS does not support this protocol string: {protocol}"
            )));
        }
        let endpoint = endpoint
            .filter(|e| !e.is_empty())
            .ok_or_else(|| errors::invalid_parameter("Endpoint"))?;
        check_endpoint(&protocol, &endpoint)?;
        if topic.fifo && protocol != "sqs" {
            return Err(errors::invalid_parameter(
                "Invalid protocol type: FIFO topics only support SQS subscriptions",
            ));
        }
        let attributes = check_attributes(&given, &protocol)?;
        let confirmed = SELF_CONFIRMING.contains(&protocol.as_str());
        let arn = format!("{}:{}", topic.arn, nimbus_core::ids::uuid());
        let token = hex::encode(uuid::Uuid::new_v4().as_bytes())
            + &hex::encode(uuid::Uuid::new_v4().as_bytes());
        let now = self.clock.now_ms();
        let (account, region, base_url) = (
            ctx.account_id.clone(),
            ctx.region.clone(),
            ctx.base_url.clone(),
        );
        let (result, handshake) = self.db
            .write(move |tx| {
                let existing = tx.query_one(
                    &format!(
                        "SELECT {COLUMNS} FROM sns_subscriptions
                         WHERE topic_arn = ?1 AND protocol = ?2 AND endpoint = ?3"
                    ),
                    &params![&topic_arn, &protocol, &endpoint],
                )?;
                if let Some(existing) = existing {
                    let existing = from_row(&existing)?;
                    let differs = attributes
                        .iter()
                        .any(|(k, v)| existing.attributes.get(k).map_or(!v.is_empty(), |e| e != v));
                    if differs {
                        return abort(errors::invalid_parameter(
                            "Attributes Reason: Subscription already exists with different attributes",
                        ));
                    }
                    return Ok((existing.arn, existing.confirmed, false));
                }
                tx.execute(
                    "INSERT INTO sns_subscriptions
                       (arn, topic_arn, account, region, protocol, endpoint, attributes, confirmed, token, base_url, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    &params![
                        &arn, &topic_arn, account, region, &protocol, &endpoint,
                        serde_json::to_string(&attributes).unwrap_or_default(),
                        confirmed, token, base_url, now
                    ],
                )?;
                if !confirmed {
                    // The confirmation request travels through the outbox like a message.
                    tx.execute(
                        "INSERT INTO sns_deliveries (message_row, subscription_arn, kind, due_at)
                         VALUES (NULL, ?1, 'confirmation', ?2)",
                        &params![&arn, now],
                    )?;
                }
                Ok((arn, confirmed, !confirmed))
            })
            .await
            .map(|(arn, confirmed, handshake)| ((arn, confirmed), handshake))?;
        self.fanouts.forget(&topic.arn);
        if handshake {
            self.outbox_ready.notify_one();
        }
        let (arn, confirmed) = result;
        Ok(if confirmed || return_arn {
            arn
        } else {
            "pending confirmation".to_owned()
        })
    }

    /// `ConfirmSubscription` (also what a SubscribeURL calls).
    pub async fn confirm_subscription(
        &self,
        topic_arn: String,
        token: String,
    ) -> Result<String, ServiceError> {
        topics::check_arn(&topic_arn, "TopicArn")?;
        self.topic(&topic_arn)?;
        let forget = topic_arn.clone();
        let arn = self
            .db
            .write(move |tx| {
                let row = tx.query_one(
                    "SELECT arn FROM sns_subscriptions WHERE topic_arn = ?1 AND token = ?2",
                    &params![&topic_arn, &token],
                )?;
                let Some(row) = row else {
                    return abort(errors::invalid_parameter("Token"));
                };
                let arn = row.string(0)?;
                tx.execute(
                    "UPDATE sns_subscriptions SET confirmed = 1 WHERE arn = ?1",
                    &params![&arn],
                )?;
                Ok(arn)
            })
            .await?;
        self.fanouts.forget(&forget);
        Ok(arn)
    }

    /// `Unsubscribe`: the subscription and its pending deliveries go.
    pub async fn unsubscribe(&self, subscription_arn: String) -> Result<(), ServiceError> {
        let subscription = self.subscription(&subscription_arn)?;
        let forget = subscription.topic_arn.clone();
        self.db.write(move |tx| {
            crate::deliver::drop_deliveries_of(tx, &subscription.arn)?;
            let gone = tx.execute("DELETE FROM sns_subscriptions WHERE arn = ?1", &params![&subscription.arn])?;
            if gone > 0 {
                tx.execute(
                    "UPDATE sns_topics SET subscriptions_deleted = subscriptions_deleted + 1 WHERE arn = ?1",
                    &params![&subscription.topic_arn],
                )?;
            }
            Ok(())
        })
        .await?;
        self.fanouts.forget(&forget);
        Ok(())
    }

    /// One page of subscriptions, of the caller or of one topic.
    pub fn list_subscriptions(
        &self,
        ctx: &RequestContext,
        topic_arn: Option<String>,
        next_token: Option<String>,
    ) -> Result<(Vec<Listed>, Option<String>), ServiceError> {
        if let Some(topic_arn) = &topic_arn {
            self.topic(topic_arn)?;
        }
        let after = next_token.unwrap_or_default();
        let (account, region) = (ctx.account_id.clone(), ctx.region.clone());
        let limit = (PAGE_SIZE + 1) as i64;
        let mut rows = self.db.read(|tx| {
            let rows = match &topic_arn {
                Some(topic) => tx.query(
                    "SELECT arn, account, protocol, endpoint, topic_arn, confirmed FROM sns_subscriptions
                     WHERE topic_arn = ?1 AND arn > ?2 ORDER BY arn LIMIT ?3",
                    &params![topic, after, limit],
                )?,
                None => tx.query(
                    "SELECT arn, account, protocol, endpoint, topic_arn, confirmed FROM sns_subscriptions
                     WHERE account = ?1 AND region = ?2 AND arn > ?3 ORDER BY arn LIMIT ?4",
                    &params![account, region, after, limit],
                )?,
            };
            rows.iter()
                .map(|r| {
                    let arn = r.string(0)?;
                    Ok((
                        arn.clone(),
                        Listed {
                            arn: if r.bool(5)? { arn } else { "PendingConfirmation".to_owned() },
                            owner: r.string(1)?,
                            protocol: r.string(2)?,
                            endpoint: r.string(3)?,
                            topic_arn: r.string(4)?,
                        },
                    ))
                })
                .collect::<Result<Vec<_>, DbError>>()
        })?;
        let next = (rows.len() > PAGE_SIZE).then(|| {
            rows.truncate(PAGE_SIZE);
            rows.last().map(|(arn, _)| arn.clone()).unwrap_or_default()
        });
        Ok((rows.into_iter().map(|(_, l)| l).collect(), next))
    }

    /// `GetSubscriptionAttributes`.
    pub fn subscription_attributes(
        &self,
        subscription_arn: &str,
    ) -> Result<BTreeMap<String, String>, ServiceError> {
        let s = self.subscription(subscription_arn)?;
        let topic = self.db.read(|tx| topics::load(tx, &s.topic_arn))?;
        let mut out: BTreeMap<String, String> = s
            .attributes
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.insert("SubscriptionArn".into(), s.arn.clone());
        out.insert("TopicArn".into(), s.topic_arn.clone());
        out.insert("Owner".into(), s.account.clone());
        out.insert("Protocol".into(), s.protocol.clone());
        out.insert("Endpoint".into(), s.endpoint.clone());
        out.insert("PendingConfirmation".into(), (!s.confirmed).to_string());
        out.insert(
            "ConfirmationWasAuthenticated".into(),
            s.confirmed.to_string(),
        );
        out.entry("RawMessageDelivery".into())
            .or_insert_with(|| "false".into());
        if out.contains_key("FilterPolicy") {
            out.entry("FilterPolicyScope".into())
                .or_insert_with(|| "MessageAttributes".into());
        }
        if matches!(s.protocol.as_str(), "http" | "https") {
            let topic_policy = topic.as_ref().and_then(|t| t.attribute("DeliveryPolicy"));
            out.insert(
                "EffectiveDeliveryPolicy".into(),
                retry::effective_subscription_policy(topic_policy, s.attribute("DeliveryPolicy")),
            );
        }
        Ok(out)
    }

    /// `SetSubscriptionAttributes`; an empty value removes an attribute.
    pub async fn set_subscription_attribute(
        &self,
        subscription_arn: String,
        name: String,
        value: String,
    ) -> Result<(), ServiceError> {
        let s = self.subscription(&subscription_arn)?;
        let scope = if name == "FilterPolicy" {
            s.scope()
        } else {
            Scope::MessageAttributes
        };
        let value = attributes::check_subscription_attribute(&name, &value, &s.protocol, scope)?;
        let forget = subscription_arn.clone();
        if name == "FilterPolicyScope"
            && let (Some(policy), Some(new_scope)) =
                (s.attribute("FilterPolicy"), Scope::parse(&value))
        {
            nimbus_pattern::sns::FilterPolicy::parse(policy, new_scope)
                .map_err(|e| errors::invalid_parameter(format!("FilterPolicy: {e}")))?;
        }
        self.db
            .write(move |tx| {
                let Some(mut s) = load(tx, &subscription_arn)? else {
                    return abort(errors::subscription_not_found());
                };
                if value.is_empty() {
                    s.attributes.remove(&name);
                } else {
                    s.attributes.insert(name, value);
                }
                tx.execute(
                    "UPDATE sns_subscriptions SET attributes = ?2 WHERE arn = ?1",
                    &params![
                        subscription_arn,
                        serde_json::to_string(&s.attributes).unwrap_or_default()
                    ],
                )?;
                Ok(())
            })
            .await?;
        self.fanouts.forget(crate::fanout::topic_of(&forget));
        Ok(())
    }
}
