//! Long-poll wake-ups: receivers waiting on an empty queue are woken when a send commits.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

#[derive(Default)]
pub struct Waiters {
    by_queue: Mutex<HashMap<i64, Arc<Notify>>>,
}

impl Waiters {
    /// The wake-up signal of one queue.
    pub fn of(&self, queue_id: i64) -> Arc<Notify> {
        self.by_queue.lock().entry(queue_id).or_default().clone()
    }

    /// Wakes receivers of a queue that may now find messages.
    pub fn wake(&self, queue_id: i64) {
        if let Some(notify) = self.by_queue.lock().get(&queue_id) {
            notify.notify_waiters();
        }
    }

    /// Wakes every receiver (reset, shutdown).
    pub fn wake_all(&self) {
        for notify in self.by_queue.lock().values() {
            notify.notify_waiters();
        }
    }
}
