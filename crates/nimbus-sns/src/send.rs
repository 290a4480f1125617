//! One attempt at one endpoint, per protocol: SQS through the queue seam, functions through
//! the invoker seam, HTTP with its own client, email/email-json/SMS kept for inspection; and
//! the dead-letter queue for deliveries that failed for good.

use std::collections::BTreeMap;

use nimbus_core::RequestContext;
use nimbus_core::effects::{InvocationType, QueueMessage};
use nimbus_store::params;

use crate::Sns;
use crate::deliver::{Outcome, SIGNATURE_CACHE};
use crate::envelope::{self, Confirmation, Signed, StoredMessage};
use crate::http::HttpOutcome;
use crate::subscriptions::Subscription;

impl Sns {
    /// The signature of a message's notification. The signed fields do not depend on the
    /// subscription, so every delivery of one message text shares one signature.
    fn signed_notification(&self, m: &StoredMessage, text: &str, version: &str) -> Signed {
        // Keyed by message id, not row id: row ids are reused once a table empties.
        let key = (m.message_id.clone(), version.to_owned(), text.to_owned());
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

    /// The message an SQS subscription receives: the notification envelope, or the raw
    /// message with its attributes.
    pub(crate) fn queue_message(
        &self,
        s: &Subscription,
        m: &StoredMessage,
        version: &str,
    ) -> QueueMessage {
        let text = m.text_for(&s.protocol);
        let fifo_queue = s.endpoint.ends_with(".fifo");
        let (body, attributes) = if s.raw() {
            (text, envelope::sqs_attributes(m))
        } else {
            let signed = self.signed_notification(m, &text, version);
            (
                envelope::notification(m, s, &text, &signed),
                BTreeMap::new(),
            )
        };
        QueueMessage {
            body,
            attributes,
            group_id: m.group_id.clone().filter(|_| fifo_queue),
            deduplication_id: m.dedup_id.clone().filter(|_| fifo_queue),
            trace_header: m.trace_header.clone(),
        }
    }

    pub(crate) async fn notify(
        &self,
        s: &Subscription,
        m: &StoredMessage,
        version: &str,
    ) -> Outcome {
        let text = m.text_for(&s.protocol);
        // Raw deliveries, email and SMS carry no signature: sign only for the envelopes that do.
        let signed = || self.signed_notification(m, &text, version);
        match s.protocol.as_str() {
            "sqs" => {
                let Some(queues) = &self.endpoints.queues else {
                    return Outcome::Retry("no queue service".into());
                };
                let message = self.queue_message(s, m, version);
                queue_outcome(queues.send_to_queue(&s.endpoint, message).await)
            }
            "lambda" => {
                let Some(functions) = &self.endpoints.functions else {
                    return Outcome::Retry("the function service is not available".into());
                };
                let (account, region) = arn_scope(&s.arn);
                let ctx = RequestContext::internal(&account, &region, &m.base_url);
                let event = envelope::lambda_event(m, s, &text, &signed());
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
                    envelope::notification(m, s, &text, &signed())
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
                    envelope::notification(m, s, &text, &signed())
                } else {
                    text
                };
                self.keep_notification(s, body).await
            }
        }
    }

    /// Sends the subscription-confirmation request of an HTTP/S or email subscription.
    pub(crate) async fn confirm_handshake(&self, s: &Subscription, version: &str) -> Outcome {
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
        let kept = self.db
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

    /// Sends an undeliverable message to the subscription's `RedrivePolicy` queue, with the
    /// `RequestID`, `ErrorCode` and `ErrorMessage` attributes AWS adds.
    pub(crate) async fn dead_letter(&self, s: &Subscription, m: &StoredMessage, why: &str) {
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
                envelope::notification(m, s, &text, &self.signed_notification(m, &text, "1"))
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
}

/// What a queue's answer means for the delivery: a refusal (bad message, missing queue) is
/// final, anything else is tried again.
pub(crate) fn queue_outcome(sent: Result<String, nimbus_core::ServiceError>) -> Outcome {
    match sent {
        Ok(_) => Outcome::Delivered,
        Err(err) if err.status < 500 => Outcome::GiveUp(format!("{}: {}", err.code, err.message)),
        Err(err) => Outcome::Retry(err.message),
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
