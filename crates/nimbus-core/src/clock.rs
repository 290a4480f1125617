//! The one clock every time-based rule reads.
//!
//! In `real` mode it is the system clock. In `test` mode it stands still until a test moves it
//! (`POST /_nimbus/clock`), so hour-long rules (retention, visibility, deduplication windows)
//! are tested in milliseconds and without races.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;

/// Which clock the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    Real,
    Test,
}

/// A cheap, cloneable handle to the server clock.
#[derive(Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

struct Inner {
    /// Frozen time in test mode; unused in real mode.
    test_now_ms: Option<Mutex<i64>>,
    /// Bumped whenever a test moves the clock, so sleepers re-check.
    moved: watch::Sender<u64>,
}

impl Clock {
    pub fn new(mode: ClockMode) -> Self {
        let test_now_ms = match mode {
            ClockMode::Real => None,
            ClockMode::Test => Some(Mutex::new(system_now_ms())),
        };
        Clock {
            inner: Arc::new(Inner {
                test_now_ms,
                moved: watch::channel(0).0,
            }),
        }
    }

    pub fn real() -> Self {
        Self::new(ClockMode::Real)
    }

    pub fn mode(&self) -> ClockMode {
        if self.inner.test_now_ms.is_some() {
            ClockMode::Test
        } else {
            ClockMode::Real
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        match &self.inner.test_now_ms {
            Some(now) => *now.lock(),
            None => system_now_ms(),
        }
    }

    /// Whole seconds since the Unix epoch.
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves a test clock forward; returns the new time. A real clock cannot be moved.
    pub fn advance(&self, by: Duration) -> Option<i64> {
        let by_ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 2);
        self.move_test_clock(|now| now.saturating_add(by_ms))
    }

    /// Sets a test clock to an absolute time (never backwards); returns the new time.
    pub fn set(&self, epoch_ms: i64) -> Option<i64> {
        self.move_test_clock(|now| now.max(epoch_ms))
    }

    fn move_test_clock(&self, to: impl FnOnce(i64) -> i64) -> Option<i64> {
        let now = self.inner.test_now_ms.as_ref()?;
        let value = {
            let mut now = now.lock();
            *now = to(*now);
            *now
        };
        self.inner.moved.send_modify(|n| *n += 1);
        Some(value)
    }

    /// A receiver that changes whenever a test moves the clock.
    pub fn moved(&self) -> watch::Receiver<u64> {
        self.inner.moved.subscribe()
    }

    /// Runs `work` now, then again every `every` and whenever a test moves the clock, until
    /// `shutdown` turns true: the loop of the background sweeps (retention, TTL).
    pub async fn repeat<F, Fut>(
        &self,
        every: Duration,
        mut shutdown: watch::Receiver<bool>,
        mut work: F,
    ) where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let mut moved = self.moved();
        loop {
            work().await;
            tokio::select! {
                // A dropped sender means shutdown too.
                changed = shutdown.changed() => if changed.is_err() {
                    return;
                },
                _ = moved.changed() => {}
                () = tokio::time::sleep(every) => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// Sleeps until the clock reads at least `deadline_ms`.
    pub async fn sleep_until(&self, deadline_ms: i64) {
        let mut moved = self.moved();
        loop {
            let now = self.now_ms();
            if now >= deadline_ms {
                return;
            }
            match self.mode() {
                ClockMode::Real => {
                    let wait = u64::try_from(deadline_ms - now).unwrap_or(0);
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                ClockMode::Test => {
                    if moved.changed().await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock")
            .field("mode", &self.mode())
            .field("now_ms", &self.now_ms())
            .finish()
    }
}

fn system_now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_clock_stands_still_until_moved() {
        let clock = Clock::new(ClockMode::Test);
        let t0 = clock.now_ms();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now_ms(), t0);
        assert_eq!(clock.advance(Duration::from_secs(60)), Some(t0 + 60_000));
        assert_eq!(clock.set(t0), Some(t0 + 60_000), "never backwards");
    }

    #[test]
    fn real_clock_cannot_be_moved() {
        assert_eq!(Clock::real().advance(Duration::from_secs(1)), None);
    }

    #[tokio::test]
    async fn sleepers_wake_when_the_test_clock_passes_their_deadline() {
        let clock = Clock::new(ClockMode::Test);
        let deadline = clock.now_ms() + 30_000;
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(deadline).await }
        });
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(31));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .unwrap()
            .unwrap();
    }
}
