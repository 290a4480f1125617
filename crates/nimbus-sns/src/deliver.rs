//! The delivery worker: drains the outbox, one task per lane (a FIFO lane is one subscription
//! and message group, delivered in order; every standard delivery is its own lane), retries on
//! the protocol's schedule read from the server clock, and sends exhausted deliveries to the
//! subscription's dead-letter queue.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use nimbus_core::ServiceError;
use nimbus_store::{DbError, Row, Tx, params};
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use crate::Sns;
use crate::envelope::{self, StoredMessage};
use crate::fanout::Fanout;
use crate::retry;
use crate::subscriptions::Subscription;

/// Deliveries read per pass.
const BATCH: i64 = 512;
/// Lanes delivering at once.
const MAX_LANES: usize = 128;
/// Standard deliveries one lane task carries: each finished lane makes the worker read the
/// outbox again, so lanes of one delivery would rescan it once per delivery.
const STANDARD_LANE_SIZE: usize = 32;
/// Signatures remembered for messages still being delivered.
pub(crate) const SIGNATURE_CACHE: usize = 4096;
/// How often expired FIFO deduplication ids are dropped (clock time).
const DEDUP_SWEEP_MS: i64 = 60_000;
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

/// The lanes under way, by key (a FIFO lane's name, or `#id` of a standard delivery).
#[derive(Default)]
struct Lanes {
    busy: HashSet<String>,
    /// Keys of lanes that have settled, still counted busy until the next outbox read.
    finished: Vec<String>,
}

impl Lanes {
    fn release_finished(&mut self) {
        for key in std::mem::take(&mut self.finished) {
            self.busy.remove(&key);
        }
    }
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

/// What a delivery is made against: the stored message and the topic's subscriptions as the
/// attempt saw them (none once the topic is gone).
struct Target {
    fanout: Option<Arc<Fanout>>,
    message: Option<StoredMessage>,
}

impl Target {
    fn subscription(&self, d: &Due) -> Option<&Subscription> {
        self.fanout
            .as_ref()
            .and_then(|f| f.subscription(&d.subscription_arn))
    }

    /// The topic's `SignatureVersion`.
    fn version(&self) -> &str {
        self.fanout
            .as_ref()
            .and_then(|f| f.topic.attribute("SignatureVersion"))
            .unwrap_or("1")
    }
}

/// How an attempt changes its outbox row.
struct Settlement {
    id: i64,
    message_row: Option<i64>,
    /// Set when the delivery is tried again at this time.
    retry_at: Option<i64>,
    delivered: bool,
    /// The topic whose delivered/failed counter this notification counts toward.
    counted_topic: Option<String>,
}

/// When settled deliveries are written.
enum Urgency {
    /// A FIFO lane waits for the settlement before its next delivery.
    Now,
    /// Standard deliveries: lost in a crash, a delivery is only made again (at least once,
    /// as on AWS), so the settlement rides along with the next commit.
    WithNextCommit,
}

/// How one attempt ended.
pub(crate) enum Outcome {
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
        let in_flight: Arc<Mutex<Lanes>> = Arc::default();
        let lanes = Arc::new(Semaphore::new(MAX_LANES));
        let mut clock_moved = self.clock.moved();
        let mut next_sweep = 0;
        while !*shutdown.borrow() {
            let now = self.clock.now_ms();
            if now >= next_sweep {
                self.forget_expired_dedup_ids(now).await;
                next_sweep = now + DEDUP_SWEEP_MS;
            }
            // Lanes that finished since the last read are released only now, before the
            // next read: a read taken while a lane was still settling could otherwise return
            // its rows again once the lane is gone, and start them a second time.
            in_flight.lock().release_finished();
            let next = match self.due(now) {
                Ok((due, next)) => {
                    self.start_lanes(due, &in_flight, &lanes);
                    next
                }
                Err(err) => {
                    tracing::warn!(%err, "sns outbox read failed");
                    None
                }
            };
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

    /// FIFO deduplication ids are kept for five minutes; older ones are dropped here.
    async fn forget_expired_dedup_ids(&self, now: i64) {
        let swept = self
            .db
            .write(move |tx| {
                tx.execute(
                    "DELETE FROM sns_dedup WHERE expires_at <= ?1",
                    &params![now],
                )?;
                Ok(())
            })
            .await;
        if let Err(err) = swept {
            tracing::warn!(%err, "sns deduplication sweep failed");
        }
    }

    /// The deliveries due now, and when the next later one falls due: one read for both.
    fn due(&self, now: i64) -> Result<(Vec<Due>, Option<i64>), ServiceError> {
        self.db.read(|tx| {
            let due = tx
                .query(
                    "SELECT d.id, d.message_row, d.subscription_arn, d.kind, d.lane, d.attempt
                     FROM sns_deliveries d
                     WHERE d.due_at <= ?1 AND (d.lane IS NULL OR NOT EXISTS (
                         SELECT 1 FROM sns_deliveries e WHERE e.lane = d.lane AND e.id < d.id AND e.due_at > ?1))
                     ORDER BY d.id LIMIT ?2",
                    &params![now, BATCH],
                )?
                .iter()
                .map(due_from_row)
                .collect::<Result<Vec<_>, _>>()?;
            let next = tx
                .query_one(
                    "SELECT MIN(due_at) FROM sns_deliveries WHERE due_at > ?1",
                    &params![now],
                )?
                .map(|r| r.opt_i64(0))
                .transpose()?
                .flatten();
            Ok((due, next))
        })
    }

    fn start_lanes(
        self: &Arc<Self>,
        due: Vec<Due>,
        in_flight: &Arc<Mutex<Lanes>>,
        lanes: &Arc<Semaphore>,
    ) {
        let mut grouped: BTreeMap<String, Vec<Due>> = BTreeMap::new();
        {
            // A lane still delivering keeps its later rows waiting, so a FIFO group never has
            // two deliveries under way at once.
            let busy = &in_flight.lock().busy;
            let mut standard: Vec<Due> = Vec::new();
            for d in due {
                match &d.lane {
                    Some(lane) if !busy.contains(lane) => {
                        grouped.entry(lane.clone()).or_default().push(d);
                    }
                    Some(_) => {}
                    None if !busy.contains(&format!("#{}", d.id)) => standard.push(d),
                    None => {}
                }
            }
            // Standard deliveries have no order among them: a lane carries several, named by
            // their row ids so none is started twice while it runs.
            for chunk in standard.chunks(STANDARD_LANE_SIZE) {
                let key = chunk
                    .iter()
                    .map(|d| format!("#{}", d.id))
                    .collect::<Vec<_>>()
                    .join(",");
                grouped.insert(key, chunk.to_vec());
            }
        }
        for (key, lane) in grouped {
            let Ok(permit) = Arc::clone(lanes).try_acquire_owned() else {
                return;
            };
            let keys: Vec<String> = if key.starts_with('#') {
                key.split(',').map(str::to_owned).collect()
            } else {
                vec![key]
            };
            in_flight.lock().busy.extend(keys.iter().cloned());
            let sns = Arc::clone(self);
            let in_flight = Arc::clone(in_flight);
            tokio::spawn(async move {
                sns.run_lane(lane).await;
                in_flight.lock().finished.extend(keys);
                drop(permit);
                sns.outbox_ready.notify_one();
            });
        }
    }

    /// Delivers a lane. A FIFO lane goes in order and stops at the first failure, so later
    /// messages of the group never overtake it; standard deliveries go out together and are
    /// settled in one write.
    async fn run_lane(&self, lane: Vec<Due>) {
        let ordered = lane.first().is_some_and(|d| d.lane.is_some());
        if !ordered {
            self.run_standard_lane(&lane).await;
            return;
        }
        for d in lane {
            let settled = match self.attempt(&d).await {
                Ok((target, outcome)) => {
                    let settlement = self.settlement(&d, &target, outcome).await;
                    let delivered = settlement.delivered;
                    self.record(vec![settlement], Urgency::Now)
                        .await
                        .map(|()| delivered)
                }
                Err(err) => Err(err),
            };
            match settled {
                Ok(true) => {}
                Ok(false) => break,
                Err(err) => {
                    tracing::warn!(%err, delivery = d.id, "sns delivery could not be settled");
                    break;
                }
            }
        }
    }

    /// Delivers standard deliveries together: notifications for queues go out in one send,
    /// the others concurrently; all are settled in one write.
    async fn run_standard_lane(&self, lane: &[Due]) {
        let mut targets = Vec::with_capacity(lane.len());
        for d in lane {
            match self.target(d) {
                Ok(target) => targets.push((d, target)),
                Err(err) => {
                    tracing::warn!(%err, delivery = d.id, "sns delivery could not be attempted");
                }
            }
        }
        let mut outcomes: Vec<Option<Outcome>> = targets.iter().map(|_| None).collect();
        if let Some(queues) = &self.endpoints.queues {
            let mut batch = Vec::new();
            let mut batched = Vec::new();
            for (i, (d, target)) in targets.iter().enumerate() {
                if let (Some(s), Some(m), "notification") =
                    (target.subscription(d), &target.message, d.kind.as_str())
                    && s.protocol == "sqs"
                {
                    batch.push((
                        s.endpoint.clone(),
                        self.queue_message(s, m, target.version()),
                    ));
                    batched.push(i);
                }
            }
            for (i, sent) in batched.into_iter().zip(queues.send_many(batch).await) {
                outcomes[i] = Some(crate::send::queue_outcome(sent));
            }
        }
        let rest = futures_util::future::join_all(
            targets
                .iter()
                .zip(outcomes.iter())
                .filter(|(_, outcome)| outcome.is_none())
                .map(|((d, target), _)| self.outcome(d, target)),
        )
        .await;
        let mut rest = rest.into_iter();
        let mut settlements = Vec::with_capacity(targets.len());
        for ((d, target), outcome) in targets.into_iter().zip(outcomes) {
            let outcome = outcome.or_else(|| rest.next()).unwrap_or(Outcome::Gone);
            settlements.push(self.settlement(d, &target, outcome).await);
        }
        if let Err(err) = self.record(settlements, Urgency::WithNextCommit).await {
            tracing::warn!(%err, "sns deliveries could not be settled");
        }
    }

    /// Attempts one delivery.
    async fn attempt(&self, d: &Due) -> Result<(Target, Outcome), ServiceError> {
        let target = self.target(d)?;
        let outcome = self.outcome(d, &target).await;
        Ok((target, outcome))
    }

    /// What a delivery is for: its message, and the topic and subscription as they are now.
    fn target(&self, d: &Due) -> Result<Target, ServiceError> {
        let message = match d.message_row {
            Some(row) => self.db.read(|tx| {
                tx.query_one(
                    "SELECT id, message_id, topic_arn, subject, body, per_protocol, attributes, group_id,
                            dedup_id, sequence_number, published_at, trace_header, base_url
                     FROM sns_messages WHERE id = ?1",
                    &params![row],
                )?
                .map(|r| message_from_row(&r))
                .transpose()
            })?,
            None => None,
        };
        let fanout = match self.fanout(crate::fanout::topic_of(&d.subscription_arn)) {
            Ok(fanout) => Some(fanout),
            Err(err) if err.status == 404 => None,
            Err(err) => return Err(err),
        };
        Ok(Target { fanout, message })
    }

    /// Makes one attempt at a delivery's endpoint.
    async fn outcome(&self, d: &Due, target: &Target) -> Outcome {
        let Some(s) = target.subscription(d) else {
            return Outcome::Gone;
        };
        match d.kind.as_str() {
            "confirmation" => self.confirm_handshake(s, target.version()).await,
            _ => match &target.message {
                Some(m) => self.notify(s, m, target.version()).await,
                None => Outcome::Gone,
            },
        }
    }

    /// What an attempt means for its outbox row: done, retry later, or dead-lettered (the
    /// dead-letter queue is sent to here, before the row is settled).
    async fn settlement(&self, d: &Due, target: &Target, outcome: Outcome) -> Settlement {
        let subscription = target.subscription(d);
        let topic = target.fanout.as_ref().map(|f| &f.topic);
        let policy = match subscription.map(|s| s.protocol.as_str()) {
            Some("http" | "https") => retry::http_policy(
                topic.and_then(|t| t.attribute("DeliveryPolicy")),
                subscription.and_then(|s| s.attribute("DeliveryPolicy")),
            ),
            Some("sqs" | "lambda") => retry::MANAGED,
            _ => retry::NOTIFICATION,
        };
        let retry_at = match &outcome {
            Outcome::Retry(_) => u32::try_from(d.attempt + 1)
                .ok()
                .and_then(|n| policy.delay_ms(n))
                .map(|delay| self.clock.now_ms() + delay),
            _ => None,
        };
        let failure = match &outcome {
            Outcome::Retry(why) if retry_at.is_none() => Some(why),
            Outcome::GiveUp(why) => Some(why),
            _ => None,
        };
        if let Outcome::Retry(why) | Outcome::GiveUp(why) = &outcome {
            tracing::debug!(
                delivery = d.id,
                attempt = d.attempt,
                why,
                "sns delivery attempt failed"
            );
        }
        if let (Some(why), Some(s), Some(m)) = (failure, subscription, &target.message) {
            self.dead_letter(s, m, why).await;
        }
        Settlement {
            id: d.id,
            message_row: d.message_row,
            retry_at,
            delivered: matches!(outcome, Outcome::Delivered),
            counted_topic: subscription
                .filter(|_| d.kind == "notification")
                .map(|s| s.topic_arn.clone()),
        }
    }

    /// Records settled deliveries in one write.
    async fn record(
        &self,
        settlements: Vec<Settlement>,
        urgency: Urgency,
    ) -> Result<(), ServiceError> {
        if settlements.is_empty() {
            return Ok(());
        }
        // Settling never aborts, so the urgent write goes without a savepoint (prechecked).
        let work = move |tx: &mut dyn Tx| {
            for s in &settlements {
                if let Some(at) = s.retry_at {
                    tx.execute(
                        "UPDATE sns_deliveries SET attempt = attempt + 1, due_at = ?2 WHERE id = ?1",
                        &params![s.id, at],
                    )?;
                    continue;
                }
                if tx.execute("DELETE FROM sns_deliveries WHERE id = ?1", &params![s.id])? == 0 {
                    continue;
                }
                if let Some(row) = s.message_row {
                    release_message(tx, row)?;
                }
                if let Some(topic) = &s.counted_topic {
                    let column = if s.delivered { "delivered" } else { "failed" };
                    tx.execute(
                        &format!("UPDATE sns_topics SET {column} = {column} + 1 WHERE arn = ?1"),
                        &params![topic],
                    )?;
                }
            }
            Ok(())
        };
        match urgency {
            Urgency::Now => self.db.write_prechecked(work).await,
            Urgency::WithNextCommit => self.db.write_deferred(work).await,
        }
    }

    /// Every kept email, email-json and SMS notification, oldest first.
    pub fn notifications(&self) -> Result<Vec<Notification>, ServiceError> {
        self.db.read(|tx| {
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
