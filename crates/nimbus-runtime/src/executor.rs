//! Warm pools per function revision, concurrency limits, idle reaping.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::instance::Instance;
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

#[derive(Default)]
struct Pool {
    idle: Mutex<Vec<Instance>>,
    busy: AtomicUsize,
}

/// Runs invocations on warm instances.
pub struct Executor {
    config: ExecutorConfig,
    pools: Mutex<HashMap<String, Arc<Pool>>>,
    busy: AtomicUsize,
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

    /// Runs one invocation of the revision `key` on a warm instance, or a new one.
    /// `Err(Throttled)` when a limit is reached; the inner error is a failed process start.
    pub async fn invoke(
        &self,
        key: &str,
        spec: &LaunchSpec,
        reserved: Option<usize>,
        invocation: Invocation,
        sink: &Arc<dyn LogSink>,
    ) -> Result<std::io::Result<InvokeResult>, Throttled> {
        let pool = {
            let mut pools = self.pools.lock();
            match pools.get(key) {
                Some(pool) => Arc::clone(pool),
                None => Arc::clone(pools.entry(key.to_owned()).or_default()),
            }
        };
        let Some(_function_slot) = take_slot(&pool.busy, reserved.unwrap_or(usize::MAX)) else {
            return Err(Throttled::Function);
        };
        let Some(_account_slot) = take_slot(&self.busy, self.config.account_concurrency) else {
            return Err(Throttled::Account);
        };
        let warm = pool.idle.lock().pop();
        let mut instance = match warm {
            Some(instance) => instance,
            None => match Instance::start(spec, Arc::clone(sink)).await {
                Ok(instance) => instance,
                Err(err) => return Ok(Err(err)),
            },
        };
        let (result, alive) = instance.invoke(invocation, spec).await;
        if alive {
            pool.idle.lock().push(instance);
        }
        Ok(Ok(result))
    }

    /// Drops the warm instances of revisions whose key starts with `prefix` (a function that
    /// changed or was deleted). Busy instances end with their invocation.
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
            pool.idle.lock().clear();
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
            .map(|p| p.idle.lock().len())
            .sum()
    }

    fn reap_idle(&self) {
        let timeout = self.config.idle_timeout;
        let pools: Vec<Arc<Pool>> = self.pools.lock().values().cloned().collect();
        for pool in pools {
            pool.idle
                .lock()
                .retain(|instance| instance.last_used.elapsed() < timeout);
        }
        self.pools.lock().retain(|_, pool| {
            pool.busy.load(Ordering::Acquire) > 0 || !pool.idle.lock().is_empty()
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
