//! Prometheus metrics served at `/_nimbus/metrics`: requests, errors and latency per service
//! and operation, the store's group-commit batch sizes and commit latency, and counters other
//! parts of nimbus keep themselves (read on each scrape through [`CounterSource`]).

use std::sync::Arc;

use parking_lot::RwLock;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// What the store reports after each group commit. Implemented by [`ServerMetrics`]; the
/// binary hands an `Arc<dyn CommitObserver>` to the store.
pub trait CommitObserver: Send + Sync + 'static {
    /// One transaction committed (and synced) `batch_size` queued writes in `seconds`.
    fn record_commit(&self, batch_size: usize, seconds: f64);
}

/// Service and operation names come from the static models: no allocation per request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    service: &'static str,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    service: &'static str,
    operation: &'static str,
    code: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// One labelled value of a counter kept elsewhere: label pairs and the count.
pub type CounterSample = (Vec<(String, String)>, u64);

/// Reads a counter family kept elsewhere (e.g. Lambda's throttles) when metrics are scraped.
pub type CounterSource = Arc<dyn Fn() -> Vec<CounterSample> + Send + Sync>;

/// The counter sources added after start, encoded on each scrape.
#[derive(Default)]
struct ExternalCounters(RwLock<Vec<(&'static str, &'static str, CounterSource)>>);

impl std::fmt::Debug for ExternalCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExternalCounters")
    }
}

impl Collector for ExternalCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for (name, help, source) in self.0.read().iter() {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (labels, value) in source() {
                ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// The server's metrics; cheap to clone (all handles are shared).
#[derive(Clone)]
pub struct ServerMetrics {
    registry: Arc<Registry>,
    requests: Family<OperationLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    latency: HistogramFamily<OperationLabels>,
    commit_batch_size: Histogram,
    commit_seconds: Histogram,
    external: Arc<ExternalCounters>,
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
        let external = Arc::new(ExternalCounters::default());
        registry.register_collector(Box::new(Arc::clone(&external)));
        ServerMetrics {
            external,
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
        service: &'static str,
        operation: &'static str,
        seconds: f64,
        error_code: Option<&str>,
    ) {
        let labels = OperationLabels { service, operation };
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

    /// Adds a counter family read from `source` on every scrape; `name` gets `_total`.
    pub fn add_counter_source(
        &self,
        name: &'static str,
        help: &'static str,
        source: CounterSource,
    ) {
        self.external.0.write().push((name, help, source));
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

    #[test]
    fn counter_sources_are_read_on_each_scrape() {
        let metrics = ServerMetrics::default();
        let count = Arc::new(std::sync::atomic::AtomicU64::new(1));
        let seen = Arc::clone(&count);
        metrics.add_counter_source(
            "nimbus_lambda_throttles",
            "Throttled invocations",
            Arc::new(move || {
                let labels = vec![("function".to_owned(), "f".to_owned())];
                vec![(labels, seen.load(std::sync::atomic::Ordering::SeqCst))]
            }),
        );
        assert!(
            metrics
                .encode()
                .contains(r#"nimbus_lambda_throttles_total{function="f"} 1"#)
        );
        count.store(5, std::sync::atomic::Ordering::SeqCst);
        assert!(
            metrics
                .encode()
                .contains(r#"nimbus_lambda_throttles_total{function="f"} 5"#)
        );
    }
}
