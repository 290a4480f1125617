//! Which queued asynchronous events may start now. A function whose reserved concurrency is
//! taken by its running events keeps its further events in the queue until one finishes:
//! starting them only to be throttled would re-queue each with a growing backoff, delaying
//! it long after a slot is free and spending store writes on every refusal.
//!
//! Running events are claimed here, in memory, not in the store: a claim written to the store
//! would cost a commit per attempt, and a restart releases every claim anyway (an event whose
//! run was cut short runs again).

use std::collections::{HashMap, HashSet};

use parking_lot::Mutex;

/// A function as the event queue names it: account, region and name (every version and
/// alias of a function shares its reserved concurrency).
pub(crate) type FunctionKey = (String, String, String);

#[derive(Default)]
struct Usage {
    running: usize,
    /// The function's reserved concurrency when its last event was admitted.
    limit: Option<usize>,
}

/// Asynchronous events running, by function and by queue row.
#[derive(Default)]
pub(crate) struct RunningEvents {
    state: Mutex<Running>,
}

#[derive(Default)]
struct Running {
    by_function: HashMap<FunctionKey, Usage>,
    /// Queue rows claimed: running, or settling their outcome.
    ids: HashSet<i64>,
    /// Claims released so far. A read of the queue taken while this moved may hold rows as
    /// they were before their outcome was stored.
    releases: u64,
}

impl RunningEvents {
    /// Functions whose reserved concurrency their running events use up.
    pub fn saturated(&self) -> Vec<FunctionKey> {
        self.state
            .lock()
            .by_function
            .iter()
            .filter(|(_, usage)| usage.limit.is_some_and(|limit| usage.running >= limit))
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Whether the queue row `id` is running (it must not be started again).
    pub fn is_running(&self, id: i64) -> bool {
        self.state.lock().ids.contains(&id)
    }

    /// How many events are running.
    pub fn count(&self) -> usize {
        self.state.lock().ids.len()
    }

    /// Claims the event in queue row `id` of `function` unless the function's reserved
    /// concurrency (`limit`) is used up or the event is running already; whether it may start.
    pub fn admit(&self, function: &FunctionKey, id: i64, limit: Option<usize>) -> bool {
        let mut state = self.state.lock();
        let Running {
            by_function, ids, ..
        } = &mut *state;
        let usage = by_function.entry(function.clone()).or_default();
        usage.limit = limit;
        if limit.is_some_and(|limit| usage.running >= limit) || !ids.insert(id) {
            return false;
        }
        usage.running += 1;
        true
    }

    /// An admitted event that will not run (now): its claim and its concurrency are released.
    pub fn unclaim(&self, function: &FunctionKey, id: i64) {
        if self.release(id) {
            self.end_run(function);
        }
    }

    /// An event's run ended: its function's reserved concurrency has a slot free again.
    pub fn end_run(&self, function: &FunctionKey) {
        let by_function = &mut self.state.lock().by_function;
        if let Some(usage) = by_function.get_mut(function) {
            usage.running = usage.running.saturating_sub(1);
            if usage.running == 0 {
                by_function.remove(function);
            }
        }
    }

    /// The event's queue row is settled (gone, or waiting for its next attempt): it may be
    /// claimed again. Whether it was claimed.
    pub fn release(&self, id: i64) -> bool {
        let mut state = self.state.lock();
        let released = state.ids.remove(&id);
        state.releases += u64::from(released);
        released
    }

    /// How many claims were released so far (see [`Running::releases`]).
    pub fn releases(&self) -> u64 {
        self.state.lock().releases
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> FunctionKey {
        ("000000000000".into(), "us-east-1".into(), name.into())
    }

    #[test]
    fn releases_count_only_claims_that_were_held() {
        let running = RunningEvents::default();
        assert!(running.admit(&key("a"), 1, None));
        assert_eq!(running.releases(), 0);
        running.unclaim(&key("a"), 1);
        assert_eq!(running.releases(), 1);
        assert!(!running.release(1));
        assert!(!running.release(2));
        assert_eq!(running.releases(), 1);
    }

    #[test]
    fn a_function_at_its_reserved_concurrency_waits() {
        let running = RunningEvents::default();
        assert!(running.admit(&key("a"), 1, Some(2)));
        assert!(running.admit(&key("a"), 2, Some(2)));
        assert!(!running.admit(&key("a"), 3, Some(2)));
        assert!(running.admit(&key("b"), 4, None));
        assert_eq!(running.saturated(), vec![key("a")]);
        running.unclaim(&key("a"), 1);
        assert!(running.saturated().is_empty());
        assert!(running.admit(&key("a"), 3, Some(2)));
        assert!(running.is_running(3) && !running.is_running(1));
    }

    #[test]
    fn a_running_event_is_not_started_twice() {
        let running = RunningEvents::default();
        assert!(running.admit(&key("a"), 7, None));
        assert!(!running.admit(&key("a"), 7, None));
        assert_eq!(running.count(), 1);
        running.unclaim(&key("a"), 7);
        // A second release of the same claim changes nothing.
        assert!(!running.release(7));
        assert_eq!(running.count(), 0);
        assert!(running.state.lock().by_function.is_empty());
    }

    #[test]
    fn unlimited_functions_are_never_saturated() {
        let running = RunningEvents::default();
        for id in 0..100 {
            assert!(running.admit(&key("a"), id, None));
        }
        assert!(running.saturated().is_empty());
        for id in 0..100 {
            running.unclaim(&key("a"), id);
        }
        assert!(running.state.lock().by_function.is_empty());
    }
}
