//! The HTTP client for `http` subscriptions: one POST per delivery, bounded by a timeout.
//!
//! `https` endpoints need a TLS stack, which nimbus does not link yet: they fail like an
//! unreachable endpoint and follow the retry policy to the dead-letter queue.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// AWS waits 15 s for an HTTP endpoint to answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// How an HTTP delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpOutcome {
    Delivered,
    /// The endpoint answered with a client error (other than 429): not retried.
    Rejected(u16),
    /// Unreachable, timed out, 5xx or 429: retried per the delivery policy.
    Failed(String),
}

pub struct HttpClient {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl HttpClient {
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        HttpClient {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// POSTs `body` to `url` with `headers`.
    pub async fn post(&self, url: &str, headers: &[(&str, String)], body: String) -> HttpOutcome {
        if url.starts_with("https://") {
            return HttpOutcome::Failed("https endpoints are not supported by this server".into());
        }
        let mut request = http::Request::post(url);
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = match request.body(Full::new(Bytes::from(body))) {
            Ok(request) => request,
            Err(err) => return HttpOutcome::Rejected(400).or_log(&err),
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, self.client.request(request)).await {
            Err(_) => HttpOutcome::Failed("timed out".into()),
            Ok(Err(err)) => HttpOutcome::Failed(err.to_string()),
            Ok(Ok(response)) => {
                let status = response.status().as_u16();
                match status {
                    200..=299 => HttpOutcome::Delivered,
                    429 | 500.. => HttpOutcome::Failed(format!("HTTP {status}")),
                    _ => HttpOutcome::Rejected(status),
                }
            }
        }
    }
}

impl HttpOutcome {
    fn or_log(self, err: &dyn std::fmt::Display) -> Self {
        tracing::debug!(%err, "invalid HTTP endpoint");
        self
    }
}
