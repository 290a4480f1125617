//! The delivery worker: drains the outbox, one task per lane (a FIFO lane is one subscription
//! and message group, delivered in order; every standard delivery is its own lane), retries on
//! the protocol's schedule read from the server clock, and sends exhausted deliveries to the
//! subscription's dead-letter queue.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use nimbus_core::effects::{InvocationType, QueueMessage};
use nimbus_core::{RequestContext, ServiceError};
use nimbus_store::{DbError, Row, Tx, params};
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use crate::envelope::{self, Confirmation, Signed, StoredMessage};
use crate::http::HttpOutcome;
use crate::retry::{self, RetryPolicy};
use crate::subscriptions::{self, Subscription};
use crate::{Sns, topics};

/// Deliveries read per pass.
const BATCH: i64 = 512;
/// Lanes delivering at once.
const MAX_LANES: usize = 128;
/// Signatures remembered for messages still being delivered.
const SIGNATURE_CACHE: usize = 4096;
/// A safety tick, in case a wake-up is missed.
const IDLE_TICK: Duration = Duration::from_secs(1);

/// A kept email, email-json or SMS notification (`GET /_nimbus/sns/notifications`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub account: String,
    pub region: String,
    pub subscription_arn: Option<String>,
    pub protocol: String,
    pub endpoint: String,
    pub body: String,
    pub timestamp: String,
}

/// One outbox row that is due.
#[derive(Debug, Clone)]
struct Due {
    id: i64,
    message_row: Option<i64>,
    subscription_arn: String,
    kind: String,
    lane: Option<String>,
    attempt: i64,
}

/// How one attempt ended.
enum Outcome {
    Delivered,
    /// Retry later, if the policy allows; the text says why it failed.
    Retry(String),
    /// Give up now (client error): dead-letter queue if any.
    GiveUp(String),
    /// The subscription or message no longer exists.
    Gone,
}

/// Drops pending deliveries of a subscription (unsubscribe, topic deletion).
pub fn drop_deliveries_of(tx: &mut dyn Tx, subscription_arn: &str) -> Result<(), DbError> {
    let rows = tx.query(
        "SELECT message_row FROM sns_deliveries WHERE subscription_arn = ?1 AND message_row IS NOT NULL",
        &params![subscription_arn],
    )?;
    for row in rows {
        release_message(tx, row.i64(0)?)?;
    }
    tx.execute(
        "DELETE FROM sns_deliveries WHERE subscription_arn = ?1",
        &params![subscription_arn],
    )?;
    Ok(())
}

/// One delivery of a message is settled; the message goes with its last one.
fn release_message(tx: &mut dyn Tx, row: i64) -> Result<(), DbError> {
    tx.execute(
        "UPDATE sns_messages SET pending = pending - 1 WHERE id = ?1",
        &params![row],
    )?;
    tx.execute(
        "DELETE FROM sns_messages WHERE id = ?1 AND pending <= 0",
        &params![row],
    )?;
    Ok(())
}

fn due_from_row(r: &Row) -> Result<Due, DbError> {
    Ok(Due {
        id: r.i64(0)?,
        message_row: r.opt_i64(1)?,
        subscription_arn: r.string(2)?,
        kind: r.string(3)?,
        lane: r.opt_string(4)?,
        attempt: r.i64(5)?,
    })
}

fn message_from_row(r: &Row) -> Result<StoredMessage, DbError> {
    Ok(StoredMessage {
        row_id: r.i64(0)?,
        message_id: r.string(1)?,
        topic_arn: r.string(2)?,
        subject: r.opt_string(3)?,
        body: r.string(4)?,
        per_protocol: r.opt_string(5)?,
        attributes: serde_json::from_str(r.str(6)?).unwrap_or_default(),
        group_id: r.opt_string(7)?,
        dedup_id: r.opt_string(8)?,
        sequence_number: r.opt_string(9)?,
        published_at: r.i64(10)?,
        trace_header: r.opt_string(11)?,
        base_url: r.string(12)?,
    })
}

impl Sns {
    /// Starts the delivery worker; it stops when `shutdown` turns true. Deliveries in flight
    /// at shutdown stay in the outbox and run again after a restart.
    pub fn spawn_workers(self: &Arc<Self>, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let sns = Arc::clone(self);
        vec![tokio::spawn(async move { sns.run_outbox(shutdown).await })]
    }

    async fn run_outbox(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
        let lanes = Arc::new(Semaphore::new(MAX_LANES));
        let mut clock_moved = self.clock.moved();
        while !*shutdown.borrow() {
            let now = self.clock.now_ms();
            match self.due(now) {
                Ok(due) => self.start_lanes(due, &in_flight, &lanes),
                Err(err) => tracing::warn!(%err, "sns outbox read failed"),
            }
            let next = self.next_due(now).ok().flatten();
            let clock = self.clock.clone();
            tokio::select! {
                _ = shutdown.changed() => {}
                () = self.outbox_ready.notified() => {}
                _ = clock_moved.changed() => {}
                () = async move {
                    match next {
                        Some(at) => clock.sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => {}
                () = tokio::time::sleep(IDLE_TICK) => {}
            }
        }
    }

    fn due(&self, now: i64) -> Result<Vec<Due>, ServiceError> {
        self.read(|tx| {
            tx.query(
                "SELECT d.id, d.message_row, d.subscription_arn, d.kind, d.lane, d.attempt
                 FROM sns_deliveries d
                 WHERE d.due_at <= ?1 AND (d.lane IS NULL OR NOT EXISTS (
                     SELECT 1 FROM sns_deliveries e WHERE e.lane = d.lane AND e.id < d.id AND e.due_at > ?1))
                 ORDER BY d.id LIMIT ?2",
                &params![now, BATCH],
            )?
            .iter()
            .map(due_from_row)
            .collect()
        })
    }

    fn next_due(&self, now: i64) -> Result<Option<i64>, ServiceError> {
        self.read(|tx| {
            tx.query_one(
                "SELECT MIN(due_at) FROM sns_deliveries WHERE due_at > ?1",
                &params![now],
            )?
            .map(|r| r.opt_i64(0))
            .transpose()
            .map(Option::flatten)
        })
    }

    fn start_lanes(
        self: &Arc<Self>,
        due: Vec<Due>,
        in_flight: &Arc<Mutex<HashSet<String>>>,
        lanes: &Arc<Semaphore>,
    ) {
        let mut grouped: BTreeMap<String, Vec<Due>> = BTreeMap::new();
        {
            // A lane still delivering keeps its later rows waiting, so a FIFO group never has
            // two deliveries under way at once.
            let busy = in_flight.lock();
            for d in due {
                let key = d.lane.clone().unwrap_or_else(|| format!("#{}", d.id));
                if !busy.contains(&key) {
                    grouped.entry(key).or_default().push(d);
                }
            }
        }
        for (key, lane) in grouped {
            let Ok(permit) = Arc::clone(lanes).try_acquire_owned() else {
                return;
            };
            in_flight.lock().insert(key.clone());
            let sns = Arc::clone(self);
            let in_flight = Arc::clone(in_flight);
            tokio::spawn(async move {
                sns.run_lane(lane).await;
                in_flight.lock().remove(&key);
                drop(permit);
                sns.outbox_ready.notify_one();
            });
        }
    }

    /// Delivers a lane in order, stopping at the first failure so later messages of a FIFO
    /// group never overtake it.
    async fn run_lane(&self, lane: Vec<Due>) {
        for d in lane {
            let ok = match self.deliver_one(&d).await {
                Ok(ok) => ok,
                Err(err) => {
                    tracing::warn!(%err, delivery = d.id, "sns delivery could not be settled");
                    false
                }
            };
            if !ok {
                break;
            }
        }
    }

    /// Attempts one delivery and records the outcome; true when the lane may go on.
    async fn deliver_one(&self, d: &Due) -> Result<bool, ServiceError> {
        let (subscription, message, topic) = self.read(|tx| {
            let s = subscriptions::load(tx, &d.subscription_arn)?;
            let m = match d.message_row {
                Some(row) => tx
                    .query_one(
                        "SELECT id, message_id, topic_arn, subject, body, per_protocol, attributes, group_id,
                                dedup_id, sequence_number, published_at, trace_header, base_url
                         FROM sns_messages WHERE id = ?1",
                        &params![row],
                    )?
                    .map(|r| message_from_row(&r))
                    .transpose()?,
                None => None,
            };
            let t = match &s {
                Some(s) => topics::load(tx, &s.topic_arn)?,
                None => None,
            };
            Ok((s, m, t))
        })?;
        let outcome = match (&subscription, &topic) {
            (Some(s), Some(t)) => {
                let version = t.attribute("SignatureVersion").unwrap_or("1");
                match d.kind.as_str() {
                    "confirmation" => self.confirm_handshake(s, version).await,
                    _ => match &message {
                        Some(m) => self.notify(s, m, version).await,
                        None => Outcome::Gone,
                    },
                }
            }
            _ => Outcome::Gone,
        };
        let policy = match subscription.as_ref().map(|s| s.protocol.as_str()) {
            Some("http" | "https") => retry::http_policy(
                topic.as_ref().and_then(|t| t.attribute("DeliveryPolicy")),
                subscription
                    .as_ref()
                    .and_then(|s| s.attribute("DeliveryPolicy")),
            ),
            Some("sqs" | "lambda") => retry::MANAGED,
            _ => retry::NOTIFICATION,
        };
        self.settle(d, outcome, &policy, subscription.as_ref(), message.as_ref())
            .await
    }

    /// The signature of a message's notification. The signed fields do not depend on the
    /// subscription, so every delivery of one message text shares one signature.
    fn signed_notification(&self, m: &StoredMessage, text: &str, version: &str) -> Signed {
        let key = (m.row_id, version.to_owned(), text.to_owned());
        if let Some(signature) = self.signatures.lock().get(&key) {
            return Signed {
                version: version.to_owned(),
                signature: signature.clone(),
            };
        }
        let signature = self
            .signer
            .sign(version, &envelope::notification_string_to_sign(m, text));
        let mut cache = self.signatures.lock();
        if cache.len() >= SIGNATURE_CACHE {
            cache.clear();
        }
        cache.insert(key, signature.clone());
        Signed {
            version: version.to_owned(),
            signature,
        }
    }

    async fn notify(&self, s: &Subscription, m: &StoredMessage, version: &str) -> Outcome {
        let text = m.text_for(&s.protocol);
        let signed = &self.signed_notification(m, &text, version);
        match s.protocol.as_str() {
            "sqs" => {
                let Some(queues) = &self.endpoints.queues else {
                    return Outcome::Retry("no queue service".into());
                };
                let fifo_queue = s.endpoint.ends_with(".fifo");
                let message = QueueMessage {
                    body: if s.raw() {
                        text.clone()
                    } else {
                        envelope::notification(m, s, &text, signed)
                    },
                    attributes: if s.raw() {
                        envelope::sqs_attributes(m)
                    } else {
                        BTreeMap::new()
                    },
                    group_id: m.group_id.clone().filter(|_| fifo_queue),
                    deduplication_id: m.dedup_id.clone().filter(|_| fifo_queue),
                    trace_header: m.trace_header.clone(),
                };
                match queues.send_to_queue(&s.endpoint, message).await {
                    Ok(_) => Outcome::Delivered,
                    Err(err) if err.status < 500 => {
                        Outcome::GiveUp(format!("{}: {}", err.code, err.message))
                    }
                    Err(err) => Outcome::Retry(err.message),
                }
            }
            "lambda" => {
                let Some(functions) = &self.endpoints.functions else {
                    return Outcome::Retry("the function service is not available".into());
                };
                let (account, region) = arn_scope(&s.arn);
                let ctx = RequestContext::internal(&account, &region, &m.base_url);
                let event = envelope::lambda_event(m, s, &text, signed);
                match functions
                    .invoke(
                        &ctx,
                        &s.endpoint,
                        event.to_string().into_bytes(),
                        InvocationType::Event,
                    )
                    .await
                {
                    Ok(_) => Outcome::Delivered,
                    Err(err) if err.status < 500 && err.status != 429 => {
                        Outcome::GiveUp(format!("{}: {}", err.code, err.message))
                    }
                    Err(err) => Outcome::Retry(err.message),
                }
            }
            "http" | "https" => {
                let body = if s.raw() {
                    text.clone()
                } else {
                    envelope::notification(m, s, &text, signed)
                };
                let headers = [
                    ("x-amz-sns-message-type", "Notification".to_owned()),
                    ("x-amz-sns-message-id", m.message_id.clone()),
                    ("x-amz-sns-topic-arn", m.topic_arn.clone()),
                    ("x-amz-sns-subscription-arn", s.arn.clone()),
                    ("x-amz-sns-rawdelivery", s.raw().to_string()),
                    ("content-type", "text/plain; charset=UTF-8".to_owned()),
                    (
                        "user-agent",
                        "Amazon Simple Notification Service Agent".to_owned(),
                    ),
                ];
                http_outcome(self.http.post(&s.endpoint, &headers, body).await)
            }
            _ => {
                let body = if s.protocol == "email-json" {
                    envelope::notification(m, s, &text, signed)
                } else {
                    text
                };
                self.keep_notification(s, body).await
            }
        }
    }

    /// Sends the subscription-confirmation request of an HTTP/S or email subscription.
    async fn confirm_handshake(&self, s: &Subscription, version: &str) -> Outcome {
        if s.confirmed {
            return Outcome::Delivered;
        }
        let confirmation = Confirmation::for_subscription(s, self.clock.now_ms());
        let signed = Signed {
            version: version.to_owned(),
            signature: self.signer.sign(
                version,
                &envelope::confirmation_string_to_sign(&confirmation),
            ),
        };
        let body = confirmation.to_json(&s.base_url, &signed);
        match s.protocol.as_str() {
            "http" | "https" => {
                let headers = [
                    (
                        "x-amz-sns-message-type",
                        "SubscriptionConfirmation".to_owned(),
                    ),
                    ("x-amz-sns-message-id", confirmation.message_id.clone()),
                    ("x-amz-sns-topic-arn", s.topic_arn.clone()),
                    ("content-type", "text/plain; charset=UTF-8".to_owned()),
                    (
                        "user-agent",
                        "Amazon Simple Notification Service Agent".to_owned(),
                    ),
                ];
                http_outcome(self.http.post(&s.endpoint, &headers, body).await)
            }
            _ => self.keep_notification(s, body).await,
        }
    }

    async fn keep_notification(&self, s: &Subscription, body: String) -> Outcome {
        let (account, region) = arn_scope(&s.arn);
        let (arn, protocol, endpoint) = (s.arn.clone(), s.protocol.clone(), s.endpoint.clone());
        let now = self.clock.now_ms();
        let kept = self
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO sns_notifications (account, region, subscription_arn, protocol, endpoint, body, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    &params![account, region, arn, protocol, endpoint, body, now],
                )?;
                Ok(())
            })
            .await;
        match kept {
            Ok(()) => Outcome::Delivered,
            Err(err) => Outcome::Retry(err.message),
        }
    }

    /// Records an attempt's outcome: done, retry later, or dead-lettered.
    async fn settle(
        &self,
        d: &Due,
        outcome: Outcome,
        policy: &RetryPolicy,
        s: Option<&Subscription>,
        m: Option<&StoredMessage>,
    ) -> Result<bool, ServiceError> {
        let now = self.clock.now_ms();
        let retry_at = match &outcome {
            Outcome::Retry(_) => u32::try_from(d.attempt + 1)
                .ok()
                .and_then(|n| policy.delay_ms(n))
                .map(|delay| now + delay),
            _ => None,
        };
        let failure = match &outcome {
            Outcome::Retry(why) if retry_at.is_none() => Some(why.clone()),
            Outcome::GiveUp(why) => Some(why.clone()),
            _ => None,
        };
        if let (Some(why), Some(s), Some(m)) = (&failure, s, m) {
            self.dead_letter(s, m, why).await;
        }
        let (id, row, delivered) = (d.id, d.message_row, matches!(outcome, Outcome::Delivered));
        let topic_arn = s.map(|s| s.topic_arn.clone());
        let is_notification = d.kind == "notification";
        self.write(move |tx| {
            if let Some(at) = retry_at {
                tx.execute(
                    "UPDATE sns_deliveries SET attempt = attempt + 1, due_at = ?2 WHERE id = ?1",
                    &params![id, at],
                )?;
                return Ok(());
            }
            if tx.execute("DELETE FROM sns_deliveries WHERE id = ?1", &params![id])? == 0 {
                return Ok(());
            }
            if let Some(row) = row {
                release_message(tx, row)?;
            }
            if let (Some(topic), true) = (topic_arn, is_notification) {
                let column = if delivered { "delivered" } else { "failed" };
                tx.execute(
                    &format!("UPDATE sns_topics SET {column} = {column} + 1 WHERE arn = ?1"),
                    &params![topic],
                )?;
            }
            Ok(())
        })
        .await?;
        Ok(delivered)
    }

    /// Sends an undeliverable message to the subscription's `RedrivePolicy` queue, with the
    /// `RequestID`, `ErrorCode` and `ErrorMessage` attributes AWS adds.
    async fn dead_letter(&self, s: &Subscription, m: &StoredMessage, why: &str) {
        let Some(policy) = s.attribute("RedrivePolicy") else {
            tracing::info!(subscription = %s.arn, why, "sns delivery failed for good; no dead-letter queue");
            return;
        };
        let (Ok(target), Some(queues)) = (
            crate::attributes::dead_letter_target(policy),
            &self.endpoints.queues,
        ) else {
            return;
        };
        let text = m.text_for(&s.protocol);
        let signed = self.signed_notification(m, &text, "1");
        let mut attributes = if s.raw() {
            envelope::sqs_attributes(m)
        } else {
            BTreeMap::new()
        };
        for (name, value) in [
            ("RequestID", nimbus_core::ids::request_id()),
            ("ErrorCode", "EndpointUnavailable".to_owned()),
            ("ErrorMessage", why.chars().take(256).collect()),
        ] {
            attributes.insert(
                name.to_owned(),
                nimbus_core::effects::MessageAttribute {
                    data_type: "String".into(),
                    string_value: Some(value),
                    binary_value: None,
                },
            );
        }
        let fifo_queue = target.ends_with(".fifo");
        let message = QueueMessage {
            body: if s.raw() {
                text.clone()
            } else {
                envelope::notification(m, s, &text, &signed)
            },
            attributes,
            group_id: m.group_id.clone().filter(|_| fifo_queue),
            deduplication_id: m.dedup_id.clone().filter(|_| fifo_queue),
            trace_header: m.trace_header.clone(),
        };
        if let Err(err) = queues.send_to_queue(&target, message).await {
            tracing::warn!(%err, subscription = %s.arn, "sns dead-letter queue refused the message");
        }
    }

    /// Every kept email, email-json and SMS notification, oldest first.
    pub fn notifications(&self) -> Result<Vec<Notification>, ServiceError> {
        self.read(|tx| {
            tx.query(
                "SELECT subscription_arn, protocol, endpoint, body, created_at, account, region
                 FROM sns_notifications ORDER BY id",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(Notification {
                    account: r.string(5)?,
                    region: r.string(6)?,
                    subscription_arn: r.opt_string(0)?,
                    protocol: r.string(1)?,
                    endpoint: r.string(2)?,
                    body: r.string(3)?,
                    timestamp: envelope::timestamp(r.i64(4)?),
                })
            })
            .collect()
        })
    }
}

fn http_outcome(outcome: HttpOutcome) -> Outcome {
    match outcome {
        HttpOutcome::Delivered => Outcome::Delivered,
        HttpOutcome::Rejected(status) => Outcome::GiveUp(format!("HTTP {status}")),
        HttpOutcome::Failed(why) => Outcome::Retry(why),
    }
}

/// The account and region of an SNS ARN.
fn arn_scope(arn: &str) -> (String, String) {
    nimbus_core::arn::parse(arn).map_or_else(
        || {
            (
                nimbus_core::DEFAULT_ACCOUNT.to_owned(),
                nimbus_core::DEFAULT_REGION.to_owned(),
            )
        },
        |a| (a.account.to_owned(), a.region.to_owned()),
    )
}
