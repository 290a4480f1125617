//! The nimbus edge: listeners, the AWS request pipeline (SigV4 → identify → decode → service
//! → encode), the `/_nimbus/*` API, metrics and graceful shutdown. Services never see HTTP.
//!
//! ```ignore
//! let server = ServerBuilder::new(ServerConfig::default(), clock, shutdown_rx)
//!     .service(sqs, &nimbus_model::sqs::SERVICE)
//!     .bind()
//!     .await?;
//! println!("listening on {}", server.port());
//! server.run().await?;
//! ```

mod admin;
pub mod auth;
mod config;
mod edge;
mod function_url;
mod listen;
pub mod metrics;
mod serve;
#[cfg(feature = "testing")]
pub mod testing;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use nimbus_core::effects::FunctionUrlHandler;
use nimbus_core::{BoxFuture, Clock, Service, ServiceError};
use nimbus_model::ServiceModel;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use config::ServerConfig;
pub use metrics::{CommitObserver, ServerMetrics};

/// Wipes one part of the server's state for `POST /_nimbus/reset`.
pub type ResetFn = Arc<dyn Fn() -> BoxFuture<'static, Result<(), ServiceError>> + Send + Sync>;

/// A page a service serves under `/_nimbus/<prefix>` (e.g. SNS's signing certificate): given
/// the rest of the path and the query string, the answer or `None` for 404.
pub type AdminGetFn = Arc<dyn Fn(&str, Option<&str>) -> Option<AdminReply> + Send + Sync>;

/// The answer of an [`AdminGetFn`].
#[derive(Debug, Clone)]
pub struct AdminReply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Assembles a server: configuration, services, reset hooks, metrics, shutdown signal.
pub struct ServerBuilder {
    config: ServerConfig,
    clock: Clock,
    shutdown: watch::Receiver<bool>,
    services: Vec<(Arc<dyn Service>, &'static ServiceModel)>,
    reset_hooks: Vec<(&'static str, ResetFn)>,
    admin_gets: Vec<(&'static str, AdminGetFn)>,
    metrics: ServerMetrics,
    version: &'static str,
    function_urls: Option<Arc<dyn FunctionUrlHandler>>,
}

impl ServerBuilder {
    /// `shutdown` turning `true` (or its sender being dropped) stops the server.
    pub fn new(config: ServerConfig, clock: Clock, shutdown: watch::Receiver<bool>) -> Self {
        ServerBuilder {
            config,
            clock,
            shutdown,
            services: Vec::new(),
            reset_hooks: Vec::new(),
            admin_gets: Vec::new(),
            metrics: ServerMetrics::default(),
            version: env!("CARGO_PKG_VERSION"),
            function_urls: None,
        }
    }

    /// Serves function URLs (by path and by host) with `handler`.
    pub fn function_urls(mut self, handler: Arc<dyn FunctionUrlHandler>) -> Self {
        self.function_urls = Some(handler);
        self
    }

    /// Serves `service` for requests identified as `model`; its `reset()` becomes a reset hook
    /// under the model's name.
    pub fn service(mut self, service: Arc<dyn Service>, model: &'static ServiceModel) -> Self {
        let for_reset = Arc::clone(&service);
        let hook: ResetFn = Arc::new(move || {
            let service = Arc::clone(&for_reset);
            Box::pin(async move { service.reset().await })
        });
        self.reset_hooks.push((model.name, hook));
        self.services.push((service, model));
        self
    }

    /// An extra reset hook for state that is not a service (run by `reset` with no filter, or
    /// with `?service=<name>`).
    pub fn reset_hook(mut self, name: &'static str, hook: ResetFn) -> Self {
        self.reset_hooks.push((name, hook));
        self
    }

    /// Serves `GET /_nimbus/<prefix>…` with `handler` (prefix without the leading slash).
    pub fn admin_get(mut self, prefix: &'static str, handler: AdminGetFn) -> Self {
        self.admin_gets.push((prefix, handler));
        self
    }

    /// Uses a metrics handle created by the caller (e.g. one whose commit observer was
    /// already given to the store).
    pub fn metrics(mut self, metrics: ServerMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The version reported by `/_nimbus/health`.
    pub fn version(mut self, version: &'static str) -> Self {
        self.version = version;
        self
    }

    /// Binds the listeners; the server accepts connections once [`Server::run`] is called.
    pub async fn bind(self) -> io::Result<Server> {
        let listeners = listen::bind(&self.config.host, self.config.port).await?;
        let models = self.services.iter().map(|(_, model)| *model).collect();
        let state = EdgeState {
            services: self.services,
            models,
            reset_hooks: self.reset_hooks,
            admin_gets: self.admin_gets,
            clock: self.clock,
            metrics: self.metrics,
            version: self.version,
            started: Instant::now(),
            config: self.config,
            function_urls: self.function_urls,
        };
        Ok(Server {
            listeners,
            state: Arc::new(state),
            shutdown: self.shutdown,
        })
    }
}

/// Everything a request handler reads; shared by all connections.
pub(crate) struct EdgeState {
    pub services: Vec<(Arc<dyn Service>, &'static ServiceModel)>,
    pub models: Vec<&'static ServiceModel>,
    pub reset_hooks: Vec<(&'static str, ResetFn)>,
    pub admin_gets: Vec<(&'static str, AdminGetFn)>,
    pub clock: Clock,
    pub metrics: ServerMetrics,
    pub version: &'static str,
    pub started: Instant,
    pub config: ServerConfig,
    pub function_urls: Option<Arc<dyn FunctionUrlHandler>>,
}

impl EdgeState {
    fn service(&self, name: &str) -> Option<&Arc<dyn Service>> {
        self.services
            .iter()
            .find(|(_, model)| model.name == name)
            .map(|(service, _)| service)
    }
}

/// A server with bound listeners.
pub struct Server {
    listeners: Vec<TcpListener>,
    state: Arc<EdgeState>,
    shutdown: watch::Receiver<bool>,
}

impl Server {
    /// The bound addresses (IPv4 first when both are bound).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// The bound port (the same on every listener).
    pub fn port(&self) -> u16 {
        self.local_addrs().first().map_or(0, SocketAddr::port)
    }

    /// Serves until the shutdown signal, then lets in-flight requests finish within the
    /// drain deadline.
    pub async fn run(self) -> io::Result<()> {
        serve::run(self.listeners, self.state, self.shutdown).await
    }
}
