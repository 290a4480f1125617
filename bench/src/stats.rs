//! Latency percentiles and rates computed from recorded samples.

use std::time::Duration;

/// Every recorded duration of one measurement, sorted once so that percentiles are exact.
#[derive(Debug, Clone, Default)]
pub struct LatencySamples {
    sorted_nanos: Vec<u64>,
}

impl LatencySamples {
    pub fn from_nanos(mut nanos: Vec<u64>) -> Self {
        nanos.sort_unstable();
        Self {
            sorted_nanos: nanos,
        }
    }

    pub fn from_durations(durations: &[Duration]) -> Self {
        Self::from_nanos(durations.iter().map(duration_nanos).collect())
    }

    pub fn len(&self) -> usize {
        self.sorted_nanos.len()
    }

    /// Nearest-rank percentile: the smallest sample such that at least `percent` of all
    /// samples are less than or equal to it. `None` without samples.
    pub fn percentile(&self, percent: f64) -> Option<Duration> {
        if self.sorted_nanos.is_empty() {
            return None;
        }
        let count = self.sorted_nanos.len();
        let rank = ((percent.clamp(0.0, 100.0) / 100.0) * count as f64).ceil() as usize;
        let index = rank.clamp(1, count) - 1;
        Some(Duration::from_nanos(self.sorted_nanos[index]))
    }

    pub fn p50(&self) -> Option<Duration> {
        self.percentile(50.0)
    }

    pub fn p99(&self) -> Option<Duration> {
        self.percentile(99.0)
    }

    pub fn max(&self) -> Option<Duration> {
        self.sorted_nanos.last().map(|&n| Duration::from_nanos(n))
    }
}

pub fn duration_nanos(duration: &Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Events per second; zero when no time passed.
pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// The middle value of a set of durations (the lower middle for an even count).
pub fn median(durations: &[Duration]) -> Option<Duration> {
    LatencySamples::from_durations(durations).p50()
}

pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(values: &[u64]) -> LatencySamples {
        LatencySamples::from_nanos(values.iter().map(|v| v * 1000).collect())
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples = micros(&(1..=100).rev().collect::<Vec<_>>());
        assert_eq!(samples.p50(), Some(Duration::from_micros(50)));
        assert_eq!(samples.p99(), Some(Duration::from_micros(99)));
        assert_eq!(samples.percentile(100.0), Some(Duration::from_micros(100)));
        assert_eq!(samples.percentile(0.0), Some(Duration::from_micros(1)));
        assert_eq!(samples.max(), Some(Duration::from_micros(100)));
    }

    #[test]
    fn small_sets_pick_real_samples() {
        let samples = micros(&[30, 10, 20]);
        assert_eq!(samples.p50(), Some(Duration::from_micros(20)));
        assert_eq!(samples.p99(), Some(Duration::from_micros(30)));
        let single = micros(&[7]);
        assert_eq!(single.p50(), Some(Duration::from_micros(7)));
        assert_eq!(single.p99(), Some(Duration::from_micros(7)));
    }

    #[test]
    fn no_samples_no_percentiles() {
        let samples = LatencySamples::default();
        assert_eq!(samples.len(), 0);
        assert_eq!(samples.p50(), None);
        assert_eq!(samples.max(), None);
    }

    #[test]
    fn rates_and_medians() {
        assert_eq!(per_second(500, Duration::from_millis(250)), 2000.0);
        assert_eq!(per_second(5, Duration::ZERO), 0.0);
        let runs = [
            Duration::from_millis(40),
            Duration::from_millis(10),
            Duration::from_millis(30),
        ];
        assert_eq!(median(&runs), Some(Duration::from_millis(30)));
        assert_eq!(millis(Duration::from_micros(1500)), 1.5);
    }
}
