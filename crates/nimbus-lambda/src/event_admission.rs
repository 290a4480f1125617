//! Which queued asynchronous events may start now. A function whose reserved concurrency is
//! taken by its running events keeps its further events in the queue until one finishes:
//! starting them only to be throttled would re-queue each with a growing backoff, delaying
//! it long after a slot is free and spending store writes on every refusal.

use std::collections::HashMap;

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

/// Asynchronous events running per function.
#[derive(Default)]
pub(crate) struct RunningEvents {
    by_function: Mutex<HashMap<FunctionKey, Usage>>,
}

impl RunningEvents {
    /// Functions whose reserved concurrency their running events use up.
    pub fn saturated(&self) -> Vec<FunctionKey> {
        self.by_function
            .lock()
            .iter()
            .filter(|(_, usage)| usage.limit.is_some_and(|limit| usage.running >= limit))
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Counts an event of `function` as running unless its reserved concurrency (`limit`) is
    /// used up; whether it may start.
    pub fn admit(&self, function: &FunctionKey, limit: Option<usize>) -> bool {
        let mut by_function = self.by_function.lock();
        let usage = by_function.entry(function.clone()).or_default();
        usage.limit = limit;
        if limit.is_some_and(|limit| usage.running >= limit) {
            return false;
        }
        usage.running += 1;
        true
    }

    /// An admitted event finished (or was never started).
    pub fn finish(&self, function: &FunctionKey) {
        let mut by_function = self.by_function.lock();
        if let Some(usage) = by_function.get_mut(function) {
            usage.running = usage.running.saturating_sub(1);
            if usage.running == 0 {
                by_function.remove(function);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> FunctionKey {
        ("000000000000".into(), "us-east-1".into(), name.into())
    }

    #[test]
    fn a_function_at_its_reserved_concurrency_waits() {
        let running = RunningEvents::default();
        assert!(running.admit(&key("a"), Some(2)));
        assert!(running.admit(&key("a"), Some(2)));
        assert!(!running.admit(&key("a"), Some(2)));
        assert!(running.admit(&key("b"), None));
        assert_eq!(running.saturated(), vec![key("a")]);
        running.finish(&key("a"));
        assert!(running.saturated().is_empty());
        assert!(running.admit(&key("a"), Some(2)));
    }

    #[test]
    fn unlimited_functions_are_never_saturated() {
        let running = RunningEvents::default();
        for _ in 0..100 {
            assert!(running.admit(&key("a"), None));
        }
        assert!(running.saturated().is_empty());
        for _ in 0..100 {
            running.finish(&key("a"));
        }
        assert!(running.by_function.lock().is_empty());
    }
}
