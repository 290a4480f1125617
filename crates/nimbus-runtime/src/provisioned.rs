//! Provisioned concurrency: instances started and initialized before any invocation needs
//! them, kept while configured (never reaped), used first, and replaced when one dies.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::executor::Pool;
use crate::instance::Instance;
use crate::{Executor, LaunchSpec, LogSink};

/// The provisioned instances one revision should have, and how far they are.
#[derive(Default)]
pub(crate) struct Provisioning {
    /// What provisioned instances run.
    launch: Option<(Arc<LaunchSpec>, Arc<dyn LogSink>)>,
    target: usize,
    /// Initialized provisioned instances, idle or busy.
    ready: usize,
    /// Provisioned instances still starting.
    starting: usize,
    /// Why an instance failed to initialize; no more are started until provisioning is
    /// requested again.
    failure: Option<String>,
}

impl Provisioning {
    /// Whether the pool has or wants provisioned instances (and so is not reaped).
    pub fn is_active(&self) -> bool {
        self.target > 0 || self.ready > 0 || self.starting > 0
    }
}

/// How far the provisioned instances of one revision are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvisionedState {
    /// How many instances are wanted.
    pub requested: usize,
    /// How many are initialized and kept (idle or busy).
    pub ready: usize,
    /// Why initializing an instance failed.
    pub failure: Option<String>,
}

impl Executor {
    /// Keeps `count` initialized instances of the revision `key`, started from `spec` (0 stops
    /// them). Asking again retries after an initialization failure.
    pub fn provision(
        self: &Arc<Self>,
        key: &str,
        spec: LaunchSpec,
        count: usize,
        sink: Arc<dyn LogSink>,
    ) {
        let pool = self.pool(key);
        let surplus = {
            let mut provisioning = pool.provisioning.lock();
            provisioning.target = count;
            provisioning.failure = None;
            provisioning.launch = Some((Arc::new(spec), sink));
            let mut idle = pool.provisioned_idle.lock();
            let mut surplus = Vec::new();
            while provisioning.ready > count
                && let Some(instance) = idle.pop()
            {
                provisioning.ready -= 1;
                surplus.push(instance);
            }
            surplus
        };
        drop(surplus);
        top_up(&pool);
    }

    /// Stops the provisioned instances of the revision `key` (busy ones after their
    /// invocation).
    pub fn unprovision(&self, key: &str) {
        let Some(pool) = self.pools.lock().get(key).cloned() else {
            return;
        };
        let surplus = {
            let mut provisioning = pool.provisioning.lock();
            provisioning.target = 0;
            provisioning.failure = None;
            let idle = std::mem::take(&mut *pool.provisioned_idle.lock());
            provisioning.ready -= idle.len();
            idle
        };
        drop(surplus);
    }

    /// How far the provisioned instances of the revision `key` are.
    pub fn provisioned_state(&self, key: &str) -> ProvisionedState {
        let Some(pool) = self.pools.lock().get(key).cloned() else {
            return ProvisionedState::default();
        };
        let provisioning = pool.provisioning.lock();
        ProvisionedState {
            requested: provisioning.target,
            ready: provisioning.ready,
            failure: provisioning.failure.clone(),
        }
    }

    /// The revisions under `prefix` that have provisioned instances wanted.
    pub fn provisioned_keys(&self, prefix: &str) -> Vec<String> {
        self.pools
            .lock()
            .iter()
            .filter(|(key, pool)| key.starts_with(prefix) && pool.provisioning.lock().target > 0)
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Takes back a provisioned instance after an invocation: kept while wanted, replaced
    /// when it died.
    pub(crate) fn return_provisioned(&self, pool: &Arc<Pool>, instance: Instance, alive: bool) {
        let surplus = {
            let mut provisioning = pool.provisioning.lock();
            let retired = pool.retired.load(Ordering::Acquire);
            if alive && !retired && provisioning.ready <= provisioning.target {
                pool.provisioned_idle.lock().push(instance);
                return;
            }
            provisioning.ready -= 1;
            instance
        };
        drop(surplus);
        if !alive {
            top_up(pool);
        }
    }
}

/// Starts the provisioned instances a pool lacks.
fn top_up(pool: &Arc<Pool>) {
    let (launch, missing) = {
        let mut provisioning = pool.provisioning.lock();
        if provisioning.failure.is_some() || pool.retired.load(Ordering::Acquire) {
            return;
        }
        let Some(launch) = provisioning.launch.clone() else {
            return;
        };
        let missing = provisioning
            .target
            .saturating_sub(provisioning.ready + provisioning.starting);
        provisioning.starting += missing;
        (launch, missing)
    };
    for _ in 0..missing {
        let pool = Arc::clone(pool);
        let (spec, sink) = launch.clone();
        tokio::spawn(async move {
            let started = match Instance::start(&spec, sink).await {
                Ok(mut instance) => instance.initialize().await.map(|()| instance),
                Err(err) => Err(format!("starting the runtime failed: {err}")),
            };
            let unwanted = {
                let mut provisioning = pool.provisioning.lock();
                provisioning.starting -= 1;
                match started {
                    Ok(mut instance) => {
                        let retired = pool.retired.load(Ordering::Acquire);
                        if retired || provisioning.ready >= provisioning.target {
                            Some(instance)
                        } else {
                            instance.provisioned = true;
                            provisioning.ready += 1;
                            pool.provisioned_idle.lock().push(instance);
                            None
                        }
                    }
                    Err(reason) => {
                        tracing::warn!(%reason, "a provisioned instance failed to initialize");
                        provisioning.failure = Some(reason);
                        None
                    }
                }
            };
            drop(unwanted);
        });
    }
}
