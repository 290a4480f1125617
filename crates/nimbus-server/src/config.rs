//! The edge server's settings, validated by the binary before they get here.

use std::time::Duration;

use nimbus_core::{DEFAULT_ACCOUNT, DEFAULT_REGION};

use crate::auth::Authenticator;

/// Largest request body accepted: Lambda takes a 50 MB zip inline, which arrives base64-encoded
/// in a JSON body (about 67 MB); every service still applies its own, smaller limits.
pub const DEFAULT_MAX_BODY_BYTES: usize = 70 * 1024 * 1024;

/// How the edge listens and derives request contexts.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `localhost` binds 127.0.0.1 and ::1; anything else binds that one address.
    pub host: String,
    /// 0 picks a free port (the same one on both loopback addresses).
    pub port: u16,
    /// Account for access keys that do not name one.
    pub default_account: String,
    /// Region for requests without a credential scope.
    pub default_region: String,
    /// When set, URLs handed to clients use `http://{hostname}:{port}` instead of the
    /// request's `Host` header.
    pub hostname: Option<String>,
    pub auth: Authenticator,
    pub max_body_bytes: usize,
    /// How long in-flight requests may run after the shutdown signal.
    pub drain_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "localhost".to_owned(),
            port: 4566,
            default_account: DEFAULT_ACCOUNT.to_owned(),
            default_region: DEFAULT_REGION.to_owned(),
            hostname: None,
            auth: Authenticator::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            drain_timeout: Duration::from_secs(10),
        }
    }
}
