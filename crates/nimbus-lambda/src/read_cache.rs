//! Stored settings that hot paths read on every invocation, kept in memory until they change.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

/// Values by key, loaded on first use and forgotten by key prefix after a change commits.
/// A change count keeps a load that raced a change from caching what it read.
pub(crate) struct ReadCache<V> {
    entries: RwLock<HashMap<String, Arc<V>>>,
    changes: AtomicU64,
}

impl<V> Default for ReadCache<V> {
    fn default() -> Self {
        ReadCache {
            entries: RwLock::default(),
            changes: AtomicU64::new(0),
        }
    }
}

impl<V> ReadCache<V> {
    /// The cached value, else `load`'s (cached unless a change came meanwhile). A load that
    /// fails or finds nothing caches nothing.
    pub fn get_or_load<E>(
        &self,
        key: String,
        load: impl FnOnce() -> Result<Option<V>, E>,
    ) -> Result<Option<Arc<V>>, E> {
        if let Some(found) = self.entries.read().get(&key) {
            return Ok(Some(Arc::clone(found)));
        }
        let changes = self.changes.load(Ordering::Acquire);
        let Some(value) = load()? else {
            return Ok(None);
        };
        let value = Arc::new(value);
        let mut entries = self.entries.write();
        if self.changes.load(Ordering::Acquire) == changes {
            entries.insert(key, Arc::clone(&value));
        }
        Ok(Some(value))
    }

    /// Forgets every key starting with `prefix` (all keys for `""`). Call after the change
    /// is committed.
    pub fn forget(&self, prefix: &str) {
        self.changes.fetch_add(1, Ordering::AcqRel);
        self.entries.write().retain(|k, _| !k.starts_with(prefix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(value: &str) -> Result<Option<String>, ()> {
        Ok(Some(value.to_owned()))
    }

    #[test]
    fn a_value_is_loaded_once_until_forgotten() {
        let cache = ReadCache::default();
        let first = cache.get_or_load("a/f/".into(), || load("one")).unwrap();
        assert_eq!(first.as_deref().map(String::as_str), Some("one"));
        let cached = cache.get_or_load("a/f/".into(), || load("two")).unwrap();
        assert_eq!(cached.as_deref().map(String::as_str), Some("one"));
        cache.forget("a/");
        let reloaded = cache.get_or_load("a/f/".into(), || load("two")).unwrap();
        assert_eq!(reloaded.as_deref().map(String::as_str), Some("two"));
    }

    #[test]
    fn a_load_that_raced_a_change_is_not_kept() {
        let cache = ReadCache::default();
        let raced = cache
            .get_or_load("k".into(), || {
                cache.forget("k");
                load("stale")
            })
            .unwrap();
        assert_eq!(raced.as_deref().map(String::as_str), Some("stale"));
        let next = cache.get_or_load("k".into(), || load("fresh")).unwrap();
        assert_eq!(next.as_deref().map(String::as_str), Some("fresh"));
    }

    #[test]
    fn nothing_found_is_not_cached() {
        let cache: ReadCache<String> = ReadCache::default();
        assert!(
            cache
                .get_or_load("k".into(), || Ok::<_, ()>(None))
                .unwrap()
                .is_none()
        );
        let found = cache.get_or_load("k".into(), || load("later")).unwrap();
        assert_eq!(found.as_deref().map(String::as_str), Some("later"));
    }
}
