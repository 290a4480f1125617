//! Topics with their subscriptions and compiled filter policies, kept in memory so that a
//! publish neither looks them up nor parses policies on the store's writer, and a delivery
//! finds its subscription without a read. The store stays the truth: every change to a topic
//! or its subscriptions forgets the topic's entry after committing, and a load that raced
//! with such a change is not cached.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nimbus_core::ServiceError;
use nimbus_pattern::sns::FilterPolicy;
use parking_lot::RwLock;

use crate::subscriptions::{self, Subscription};
use crate::topics::{self, Topic};
use crate::{Sns, errors};

/// A topic and everything a publish to it needs.
#[derive(Debug)]
pub struct Fanout {
    pub topic: Topic,
    pub subscriptions: Vec<Subscription>,
    /// The compiled `FilterPolicy` of each subscription, in the same order.
    pub policies: Vec<Option<FilterPolicy>>,
}

impl Fanout {
    pub fn subscription(&self, arn: &str) -> Option<&Subscription> {
        self.subscriptions.iter().find(|s| s.arn == arn)
    }
}

#[derive(Default)]
pub struct FanoutCache {
    entries: RwLock<HashMap<String, Arc<Fanout>>>,
    /// Bumped by every forget, so a load that started before it is not kept.
    generation: AtomicU64,
}

impl FanoutCache {
    pub fn forget(&self, topic_arn: &str) {
        let mut entries = self.entries.write();
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.remove(topic_arn);
    }

    pub fn clear(&self) {
        let mut entries = self.entries.write();
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.clear();
    }
}

/// The topic part of a subscription ARN (`<topic arn>:<id>`).
pub fn topic_of(subscription_arn: &str) -> &str {
    subscription_arn
        .rsplit_once(':')
        .map_or(subscription_arn, |(topic, _)| topic)
}

impl Sns {
    /// The fan-out of a topic, from memory or the store; `NotFound` when the topic is gone.
    pub(crate) fn fanout(&self, topic_arn: &str) -> Result<Arc<Fanout>, ServiceError> {
        if let Some(found) = self.fanouts.entries.read().get(topic_arn) {
            return Ok(Arc::clone(found));
        }
        let generation = self.fanouts.generation.load(Ordering::SeqCst);
        let loaded = self.db.read(|tx| {
            let Some(topic) = topics::load(tx, topic_arn)? else {
                return Ok(None);
            };
            Ok(Some((topic, subscriptions::of_topic(tx, topic_arn)?)))
        })?;
        let (topic, subscriptions) = loaded.ok_or_else(errors::topic_not_found)?;
        let policies = subscriptions
            .iter()
            .map(|s| {
                s.attribute("FilterPolicy")
                    .and_then(|p| FilterPolicy::parse(p, s.scope()).ok())
            })
            .collect();
        let fanout = Arc::new(Fanout {
            topic,
            subscriptions,
            policies,
        });
        let mut entries = self.fanouts.entries.write();
        if self.fanouts.generation.load(Ordering::SeqCst) == generation {
            entries.insert(topic_arn.to_owned(), Arc::clone(&fanout));
        }
        Ok(fanout)
    }
}
