//! Prometheus metrics served at `/_nimbus/metrics`: requests, errors and latency per service
//! and operation, and the store's group-commit batch sizes and commit latency.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// What the store reports after each group commit. Implemented by [`ServerMetrics`]; the
/// binary hands an `Arc<dyn CommitObserver>` to the store.
pub trait CommitObserver: Send + Sync + 'static {
    /// One transaction committed (and synced) `batch_size` queued writes in `seconds`.
    fn record_commit(&self, batch_size: usize, seconds: f64);
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    service: String,
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    service: String,
    operation: String,
    code: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The server's metrics; cheap to clone (all handles are shared).
#[derive(Clone)]
pub struct ServerMetrics {
    registry: Arc<Registry>,
    requests: Family<OperationLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    latency: HistogramFamily<OperationLabels>,
    commit_batch_size: Histogram,
    commit_seconds: Histogram,
}

impl std::fmt::Debug for ServerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerMetrics")
    }
}

impl Default for ServerMetrics {
    fn default() -> Self {
        Self::new(Registry::default())
    }
}

fn latency_histogram() -> Histogram {
    // 100 µs … ~3.3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl ServerMetrics {
    /// Registers the server's metrics in `registry` (which may already hold others).
    pub fn new(mut registry: Registry) -> Self {
        let requests = Family::<OperationLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let latency: HistogramFamily<OperationLabels> =
            Family::new_with_constructor(latency_histogram);
        let commit_batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        let commit_seconds = latency_histogram();
        registry.register(
            "nimbus_requests",
            "AWS API requests handled",
            requests.clone(),
        );
        registry.register(
            "nimbus_request_errors",
            "AWS API requests answered with an error",
            errors.clone(),
        );
        registry.register(
            "nimbus_request_duration_seconds",
            "Time from the complete request body to the encoded response",
            latency.clone(),
        );
        registry.register(
            "nimbus_store_commit_batch_size",
            "Writes per group commit",
            commit_batch_size.clone(),
        );
        registry.register(
            "nimbus_store_commit_duration_seconds",
            "Duration of one group commit including the sync to disk",
            commit_seconds.clone(),
        );
        ServerMetrics {
            registry: Arc::new(registry),
            requests,
            errors,
            latency,
            commit_batch_size,
            commit_seconds,
        }
    }

    /// Counts one finished AWS request.
    pub fn record_request(
        &self,
        service: &str,
        operation: &str,
        seconds: f64,
        error_code: Option<&str>,
    ) {
        let labels = OperationLabels {
            service: service.to_owned(),
            operation: operation.to_owned(),
        };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
        if let Some(code) = error_code {
            let labels = ErrorLabels {
                service: labels.service,
                operation: labels.operation,
                code: code.to_owned(),
            };
            self.errors.get_or_create(&labels).inc();
        }
    }

    /// The handle the store reports commits through.
    pub fn commit_observer(&self) -> Arc<dyn CommitObserver> {
        Arc::new(self.clone())
    }

    /// Prometheus text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl CommitObserver for ServerMetrics {
    fn record_commit(&self, batch_size: usize, seconds: f64) {
        self.commit_batch_size.observe(batch_size as f64);
        self.commit_seconds.observe(seconds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_commits_show_up_in_the_text_format() {
        let metrics = ServerMetrics::default();
        metrics.record_request("sqs", "SendMessage", 0.002, None);
        metrics.record_request("sqs", "SendMessage", 0.003, Some("QueueDoesNotExist"));
        metrics.commit_observer().record_commit(7, 0.004);
        let text = metrics.encode();
        assert!(
            text.contains(r#"nimbus_requests_total{service="sqs",operation="SendMessage"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"nimbus_request_errors_total{service="sqs",operation="SendMessage",code="QueueDoesNotExist"} 1"#));
        assert!(text.contains("nimbus_store_commit_batch_size_count 1"));
        assert!(text.contains("nimbus_store_commit_duration_seconds_sum 0.004"));
    }
}
