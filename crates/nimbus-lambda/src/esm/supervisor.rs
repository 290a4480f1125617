//! The supervisor: runs one poller per enabled mapping, restarts it when the mapping changes,
//! stops it when the mapping is disabled or deleted, and ends each state transition
//! (`Creating`, `Enabling`, `Updating` → `Enabled`; `Disabling` → `Disabled`; `Deleting` →
//! gone) once its pollers are where the mapping wants them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::poller::{self, EventSource};
use super::sqs::{SqsSource, is_queue_arn};
use super::{MappingRecord, MappingState};
use crate::Lambda;

/// The supervisor looks at the mappings at least this often (a queue created after its
/// mapping, a store hiccup).
const RECHECK_EVERY: Duration = Duration::from_secs(5);

struct Running {
    generation: u64,
    stop: watch::Sender<bool>,
}

impl Lambda {
    /// Runs the mappings until shutdown; every poller stops with it.
    pub(crate) fn spawn_mapping_supervisor(self: &Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let lambda = Arc::clone(self);
        tokio::spawn(async move {
            let mut running: HashMap<String, Running> = HashMap::new();
            loop {
                let woken = lambda.event_sources.changed.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                match lambda.all_mappings() {
                    Ok(mappings) => lambda.reconcile(&mut running, mappings).await,
                    Err(err) => tracing::warn!(%err, "reading event source mappings failed"),
                }
                tokio::select! {
                    () = &mut woken => {}
                    () = tokio::time::sleep(RECHECK_EVERY) => {}
                    _ = shutdown.changed() => {
                        if *shutdown.borrow() {
                            break;
                        }
                    }
                }
            }
            for (_, poller) in running.drain() {
                let _ = poller.stop.send(true);
            }
        });
    }

    async fn reconcile(
        self: &Arc<Self>,
        running: &mut HashMap<String, Running>,
        mappings: Vec<MappingRecord>,
    ) {
        let mut seen = std::collections::HashSet::new();
        for mapping in mappings {
            seen.insert(mapping.uuid.clone());
            let wanted = mapping.enabled && mapping.state != MappingState::Deleting;
            let current = running.get(&mapping.uuid).map(|r| r.generation);
            if (!wanted || current.is_some_and(|g| g != mapping.generation))
                && let Some(poller) = running.remove(&mapping.uuid)
            {
                let _ = poller.stop.send(true);
            }
            // A source that cannot be opened now (its queue is gone) is tried again next round.
            if wanted
                && !running.contains_key(&mapping.uuid)
                && let Some(source) = self.open_source(&mapping).await
            {
                let (stop, stopped) = watch::channel(false);
                let generation = mapping.generation;
                running.insert(mapping.uuid.clone(), Running { generation, stop });
                poller::start(Arc::clone(self), mapping.clone(), source, stopped);
            }
            if mapping.state.is_transitional()
                && let Err(err) = self
                    .settle_mapping(mapping.uuid.clone(), mapping.generation)
                    .await
            {
                tracing::warn!(%err, mapping = mapping.uuid, "recording a mapping's state failed");
            }
        }
        running.retain(|uuid, poller| {
            let keep = seen.contains(uuid);
            if !keep {
                let _ = poller.stop.send(true);
            }
            keep
        });
    }

    async fn open_source(&self, mapping: &MappingRecord) -> Option<Arc<dyn EventSource>> {
        if !is_queue_arn(&mapping.source_arn) {
            return None;
        }
        let consumer = Arc::clone(self.event_sources.queues.get()?);
        match consumer.describe_queue(&mapping.source_arn).await {
            Ok(queue) => Some(Arc::new(SqsSource::new(
                consumer,
                &mapping.source_arn,
                queue,
            ))),
            Err(err) => {
                tracing::info!(%err, mapping = mapping.uuid, "the mapping's queue is not readable");
                None
            }
        }
    }
}
