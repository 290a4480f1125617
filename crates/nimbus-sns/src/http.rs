//! The HTTP client for `http` and `https` subscriptions: one POST per delivery, bounded by a
//! timeout. `https` endpoints are verified against the system's trust store (`SSL_CERT_FILE`
//! and `SSL_CERT_DIR` add to it, so a local certificate authority can be trusted); an endpoint
//! whose certificate does not verify fails like an unreachable one and is retried.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
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

type Connected = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Built on first use: reading the system trust store takes tens of milliseconds, which a
/// server should not spend before it listens, nor at all if it never delivers over HTTP.
pub struct HttpClient {
    client: std::sync::OnceLock<Connected>,
}

impl HttpClient {
    pub fn new() -> Self {
        HttpClient {
            client: std::sync::OnceLock::new(),
        }
    }

    fn client(&self) -> &Connected {
        self.client.get_or_init(connect)
    }

    /// POSTs `body` to `url` with `headers`.
    pub async fn post(&self, url: &str, headers: &[(&str, String)], body: String) -> HttpOutcome {
        let mut request = http::Request::post(url);
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = match request.body(Full::new(Bytes::from(body))) {
            Ok(request) => request,
            Err(err) => return HttpOutcome::Rejected(400).or_log(&err),
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, self.client().request(request)).await {
            Err(_) => HttpOutcome::Failed("timed out".into()),
            Ok(Err(err)) => HttpOutcome::Failed(with_causes(&err)),
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

fn connect() -> Connected {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    // `https://` URLs need the TLS layer to see the scheme, not the plain connector.
    connector.enforce_http(false);
    let builder = HttpsConnectorBuilder::new();
    let builder = match builder.with_native_roots() {
        Ok(builder) => builder,
        Err(err) => {
            tracing::warn!(%err, "no system trust store: https endpoints will not verify");
            HttpsConnectorBuilder::new().with_tls_config(
                rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth(),
            )
        }
    };
    let connector = builder
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// An error and its causes ("client error (Connect): invalid peer certificate: …"): the
/// outermost message alone rarely says what went wrong.
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

impl HttpOutcome {
    fn or_log(self, err: &dyn std::fmt::Display) -> Self {
        tracing::debug!(%err, "invalid HTTP endpoint");
        self
    }
}
