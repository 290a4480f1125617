//! Warm pools per function revision, concurrency limits, idle reaping.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::instance::Instance;
use crate::provisioned::Provisioning;
use crate::{Invocation, InvokeResult, LaunchSpec, LogSink, RuntimeFamily, clients};

/// Limits and places of the executor.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Concurrent executions across all functions (AWS's account limit; default 1000).
    pub account_concurrency: usize,
    /// How long an unused instance is kept warm.
    pub idle_timeout: Duration,
    /// Where bundled clients and per-instance scratch directories go.
    pub work_dir: PathBuf,
}

/// An invocation refused because a concurrency limit is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// The function's reserved concurrency.
    Function,
    /// The account's concurrency.
    Account,
}

/// The concurrency one invocation draws on.
#[derive(Debug, Clone, Copy)]
pub struct Limits<'a> {
    /// The function's key: every version and alias of a function share its reserved
    /// concurrency.
    pub function: &'a str,
    /// The function's reserved concurrency, if it has one.
    pub reserved: Option<usize>,
    /// The account and region whose unreserved pool functions without reserved concurrency
    /// share.
    pub scope: &'a str,
    /// The size of that pool: the account limit minus what functions reserved.
    pub unreserved: usize,
}

#[derive(Default)]
pub(crate) struct Pool {
    pub idle: Mutex<Vec<Instance>>,
    pub busy: AtomicUsize,
    /// Initialized instances kept for provisioned concurrency, not in use.
    pub provisioned_idle: Mutex<Vec<Instance>>,
    pub provisioning: Mutex<Provisioning>,
    /// Set once the pool is dropped from the executor: instances still starting or running
    /// for it are stopped instead of kept.
    pub retired: AtomicBool,
}

/// Busy counts by key (functions and unreserved pools), entries removed at zero.
#[derive(Default)]
struct Counters(Mutex<HashMap<String, usize>>);

/// A taken unit of a counter, given back however the invocation ends.
struct Counted<'a> {
    counters: &'a Counters,
    key: String,
}

impl Counters {
    fn take(&self, key: &str, limit: usize) -> Option<Counted<'_>> {
        let mut counts = self.0.lock();
        let count = counts.entry(key.to_owned()).or_default();
        if *count >= limit {
            if *count == 0 {
                counts.remove(key);
            }
            return None;
        }
        *count += 1;
        Some(Counted {
            counters: self,
            key: key.to_owned(),
        })
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        let mut counts = self.counters.0.lock();
        if let Some(count) = counts.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// Runs invocations on warm instances.
pub struct Executor {
    pub(crate) config: ExecutorConfig,
    pub(crate) pools: Mutex<HashMap<String, Arc<Pool>>>,
    busy: AtomicUsize,
    /// Invocations in progress per function and per unreserved pool.
    functions: Counters,
    unreserved: Counters,
    clients_dir: PathBuf,
}

/// Releases a concurrency slot however the invocation ends.
struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn take_slot(counter: &AtomicUsize, limit: usize) -> Option<Slot<'_>> {
    let before = counter.fetch_add(1, Ordering::AcqRel);
    let slot = Slot(counter);
    (before < limit).then_some(slot)
}

impl Executor {
    /// Writes the bundled runtime clients under the work directory.
    pub fn new(config: ExecutorConfig) -> std::io::Result<Arc<Executor>> {
        let clients_dir = config.work_dir.join("runtime-clients");
        clients::install(&clients_dir)?;
        std::fs::create_dir_all(config.work_dir.join("instances"))?;
        Ok(Arc::new(Executor {
            config,
            pools: Mutex::default(),
            busy: AtomicUsize::new(0),
            functions: Counters::default(),
            unreserved: Counters::default(),
            clients_dir,
        }))
    }

    /// The bundled client for an interpreted runtime family.
    pub fn client_path(&self, family: RuntimeFamily) -> Option<PathBuf> {
        clients::path(&self.clients_dir, family)
    }

    /// Where instances of any function put their scratch directories.
    pub fn scratch_root(&self) -> PathBuf {
        self.config.work_dir.join("instances")
    }

    pub(crate) fn pool(&self, key: &str) -> Arc<Pool> {
        let mut pools = self.pools.lock();
        match pools.get(key) {
            Some(pool) => Arc::clone(pool),
            None => Arc::clone(pools.entry(key.to_owned()).or_default()),
        }
    }

    /// Runs one invocation of the revision `key` on a warm instance (a provisioned one
    /// first), or a new one. `Err(Throttled)` when a limit is reached; the inner error is a
    /// failed process start.
    pub async fn invoke(
        self: &Arc<Self>,
        key: &str,
        spec: &LaunchSpec,
        limits: Limits<'_>,
        invocation: Invocation,
        sink: &Arc<dyn LogSink>,
    ) -> Result<std::io::Result<InvokeResult>, Throttled> {
        let pool = self.pool(key);
        let _function_slot = match limits.reserved {
            Some(reserved) => Some(
                self.functions
                    .take(limits.function, reserved)
                    .ok_or(Throttled::Function)?,
            ),
            None => None,
        };
        let _pool_slot = match limits.reserved {
            Some(_) => None,
            None => Some(
                self.unreserved
                    .take(limits.scope, limits.unreserved)
                    .ok_or(Throttled::Account)?,
            ),
        };
        let Some(_account_slot) = take_slot(&self.busy, self.config.account_concurrency) else {
            return Err(Throttled::Account);
        };
        let _busy = take_slot(&pool.busy, usize::MAX);
        let warm = pool
            .provisioned_idle
            .lock()
            .pop()
            .or_else(|| pool.idle.lock().pop());
        let mut instance = match warm {
            Some(instance) => instance,
            None => match Instance::start(spec, Arc::clone(sink)).await {
                Ok(instance) => instance,
                Err(err) => return Ok(Err(err)),
            },
        };
        let (result, alive) = instance.invoke(invocation, spec).await;
        if instance.provisioned {
            self.return_provisioned(&pool, instance, alive);
        } else if alive {
            pool.idle.lock().push(instance);
        }
        Ok(Ok(result))
    }

    /// Drops the warm instances of revisions whose key starts with `prefix` (a function that
    /// changed or was deleted), provisioned ones included. Busy instances end with their
    /// invocation.
    pub fn retire(&self, prefix: &str) {
        let retired: Vec<Arc<Pool>> = {
            let mut pools = self.pools.lock();
            let keys: Vec<String> = pools
                .keys()
                .filter(|k| k.starts_with(prefix))
                .cloned()
                .collect();
            keys.iter().filter_map(|k| pools.remove(k)).collect()
        };
        for pool in retired {
            pool.retired.store(true, Ordering::Release);
            pool.idle.lock().clear();
            pool.provisioned_idle.lock().clear();
        }
    }

    /// Stops every instance.
    pub fn stop_all(&self) {
        self.retire("");
    }

    /// How many instances are warm and unused (for tests and metrics).
    pub fn idle_instances(&self) -> usize {
        self.pools
            .lock()
            .values()
            .map(|p| p.idle.lock().len() + p.provisioned_idle.lock().len())
            .sum()
    }

    /// Provisioned instances are never reaped: they stay while configured.
    fn reap_idle(&self) {
        let timeout = self.config.idle_timeout;
        let pools: Vec<Arc<Pool>> = self.pools.lock().values().cloned().collect();
        for pool in pools {
            pool.idle
                .lock()
                .retain(|instance| instance.last_used.elapsed() < timeout);
        }
        self.pools.lock().retain(|_, pool| {
            pool.busy.load(Ordering::Acquire) > 0
                || !pool.idle.lock().is_empty()
                || pool.provisioning.lock().is_active()
        });
    }

    /// Reaps idle instances until shutdown, then stops every instance.
    pub fn spawn_reaper(self: &Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let executor = Arc::clone(self);
        let every = (executor.config.idle_timeout / 4)
            .clamp(Duration::from_millis(100), Duration::from_secs(30));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => executor.reap_idle(),
                    _ = shutdown.changed() => {
                        if *shutdown.borrow() {
                            break;
                        }
                    }
                }
            }
            executor.stop_all();
        });
    }
}
