//! Reads the store's group-commit histograms from the Prometheus text at `/_nimbus/metrics`.
//!
//! The server exposes one histogram of writes per commit (name contains `commit` and `batch`)
//! and one of commit latency (name contains `commit` and `seconds`, `duration` or `latency`).
//! Every commit is one synced transaction, so the latency histogram's `_count` is the number
//! of fsyncs unless the server also exposes a dedicated fsync counter, which is used when present.

use crate::http_client::{Connection, Endpoint};

/// Cumulative commit counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CommitCounters {
    /// Sum of writes over all commits.
    pub batched_writes: f64,
    /// Commits observed by the batch-size histogram.
    pub commits: f64,
    /// Sum of commit durations in seconds.
    pub commit_seconds: f64,
    /// Commits observed by the latency histogram.
    pub timed_commits: f64,
    /// A dedicated fsync counter, when the server exposes one.
    pub fsyncs: Option<f64>,
}

/// What happened between two snapshots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CommitActivity {
    pub commits: f64,
    pub writes: f64,
    pub commit_seconds: f64,
    pub timed_commits: f64,
    pub fsyncs: Option<f64>,
}

impl CommitActivity {
    /// Writes per commit; `None` when nothing was committed.
    pub fn average_batch_size(&self) -> Option<f64> {
        (self.commits > 0.0).then(|| self.writes / self.commits)
    }

    /// Average commit duration including the sync, in milliseconds.
    pub fn average_commit_millis(&self) -> Option<f64> {
        (self.timed_commits > 0.0).then(|| self.commit_seconds * 1000.0 / self.timed_commits)
    }

    /// Fsyncs per commit: from a dedicated counter when present, otherwise the number of timed
    /// (synced) commits over the number of commits, which is 1 by construction.
    pub fn fsyncs_per_commit(&self) -> Option<f64> {
        if self.commits <= 0.0 {
            return None;
        }
        Some(self.fsyncs.unwrap_or(self.timed_commits) / self.commits)
    }

    pub fn combine(&self, other: &CommitActivity) -> CommitActivity {
        CommitActivity {
            commits: self.commits + other.commits,
            writes: self.writes + other.writes,
            commit_seconds: self.commit_seconds + other.commit_seconds,
            timed_commits: self.timed_commits + other.timed_commits,
            fsyncs: match (self.fsyncs, other.fsyncs) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            },
        }
    }
}

impl CommitCounters {
    /// The server's counters now, when it exposes them.
    pub async fn read(endpoint: &Endpoint) -> Option<Self> {
        let mut connection = Connection::open(endpoint).await.ok()?;
        let reply = connection.get("/_nimbus/metrics").await.ok()?;
        let text = reply.into_success("metrics").ok()?;
        Self::parse(&String::from_utf8_lossy(&text))
    }

    /// Parses the Prometheus text format; `None` when no commit histogram is present.
    pub fn parse(text: &str) -> Option<Self> {
        let mut counters = CommitCounters::default();
        let mut found_batch = false;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, value)) = parse_sample(line) else {
                continue;
            };
            let lower = name.to_ascii_lowercase();
            if lower.contains("fsync") && (lower.ends_with("_total") || lower.ends_with("_count")) {
                *counters.fsyncs.get_or_insert(0.0) += value;
                continue;
            }
            if !lower.contains("commit") {
                continue;
            }
            let is_batch = lower.contains("batch");
            let is_latency = ["seconds", "duration", "latency"]
                .iter()
                .any(|word| lower.contains(word));
            match (
                lower.rsplit_once('_').map(|(_, suffix)| suffix),
                is_batch,
                is_latency,
            ) {
                (Some("sum"), true, _) => {
                    counters.batched_writes += value;
                    found_batch = true;
                }
                (Some("count"), true, _) => {
                    counters.commits += value;
                    found_batch = true;
                }
                (Some("sum"), false, true) => counters.commit_seconds += value,
                (Some("count"), false, true) => counters.timed_commits += value,
                _ => {}
            }
        }
        found_batch.then_some(counters)
    }

    pub fn activity_since(&self, earlier: &CommitCounters) -> CommitActivity {
        CommitActivity {
            commits: self.commits - earlier.commits,
            writes: self.batched_writes - earlier.batched_writes,
            commit_seconds: self.commit_seconds - earlier.commit_seconds,
            timed_commits: self.timed_commits - earlier.timed_commits,
            fsyncs: match (self.fsyncs, earlier.fsyncs) {
                (Some(now), Some(before)) => Some(now - before),
                _ => None,
            },
        }
    }
}

/// Splits `name{labels} value [timestamp]` into the metric name and its value.
fn parse_sample(line: &str) -> Option<(&str, f64)> {
    let (name, rest) = match line.find('{') {
        Some(open) => {
            let close = line[open..].find('}')? + open;
            (&line[..open], &line[close + 1..])
        }
        None => line.split_once(char::is_whitespace)?,
    };
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    Some((name.trim(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPOSITION: &str = "\
# HELP nimbus_store_commit_batch_size Writes per group commit.
# TYPE nimbus_store_commit_batch_size histogram
nimbus_store_commit_batch_size_sum 120.0
nimbus_store_commit_batch_size_count 10
nimbus_store_commit_batch_size_bucket{le=\"1.0\"} 2
nimbus_store_commit_batch_size_bucket{le=\"+Inf\"} 10
# TYPE nimbus_store_commit_duration_seconds histogram
nimbus_store_commit_duration_seconds_sum 0.05
nimbus_store_commit_duration_seconds_count 10
nimbus_requests_total{service=\"sqs\",operation=\"SendMessage\"} 99
";

    #[test]
    fn reads_the_commit_histograms() {
        let counters = CommitCounters::parse(EXPOSITION).expect("commit metrics");
        assert_eq!(counters.batched_writes, 120.0);
        assert_eq!(counters.commits, 10.0);
        assert_eq!(counters.commit_seconds, 0.05);
        assert_eq!(counters.timed_commits, 10.0);
        assert_eq!(counters.fsyncs, None);
    }

    #[test]
    fn activity_is_the_difference_between_snapshots() {
        let before = CommitCounters::parse(EXPOSITION).unwrap();
        let after_text = EXPOSITION
            .replace("_batch_size_sum 120.0", "_batch_size_sum 1120.0")
            .replace("_batch_size_count 10", "_batch_size_count 60")
            .replace("_seconds_sum 0.05", "_seconds_sum 0.15")
            .replace("_seconds_count 10", "_seconds_count 60");
        let after = CommitCounters::parse(&after_text).unwrap();
        let activity = after.activity_since(&before);
        assert_eq!(activity.average_batch_size(), Some(20.0));
        assert!((activity.average_commit_millis().unwrap() - 2.0).abs() < 1e-9);
        assert_eq!(activity.fsyncs_per_commit(), Some(1.0));
        let doubled = activity.combine(&activity);
        assert_eq!(doubled.average_batch_size(), Some(20.0));
        assert_eq!(doubled.commits, 100.0);
    }

    #[test]
    fn a_dedicated_fsync_counter_wins() {
        let text = format!("{EXPOSITION}nimbus_store_fsyncs_total 20\n");
        let counters = CommitCounters::parse(&text).unwrap();
        assert_eq!(counters.fsyncs, Some(20.0));
        let activity = counters.activity_since(&CommitCounters {
            fsyncs: Some(0.0),
            ..CommitCounters::default()
        });
        assert_eq!(activity.fsyncs_per_commit(), Some(2.0));
    }

    #[test]
    fn no_commit_histogram_no_counters_and_no_commits_no_averages() {
        assert_eq!(CommitCounters::parse("nimbus_requests_total 4\n"), None);
        let idle = CommitCounters::default().activity_since(&CommitCounters::default());
        assert_eq!(idle.average_batch_size(), None);
        assert_eq!(idle.fsyncs_per_commit(), None);
    }

    #[test]
    fn samples_with_labels_and_timestamps() {
        assert_eq!(
            parse_sample("a_b{x=\"y z\"} 3.5 1700000000"),
            Some(("a_b", 3.5))
        );
        assert_eq!(
            parse_sample("a_bucket{le=\"+Inf\"} +Inf"),
            Some(("a_bucket", f64::INFINITY))
        );
        assert_eq!(parse_sample("broken"), None);
    }
}
