//! Vocabulary shared by every nimbus crate: who is calling ([`RequestContext`]), what time it
//! is ([`Clock`]), how a service reports failure ([`ServiceError`]) and how resources are
//! named ([`arn`]).

pub mod arn;
pub mod clock;
pub mod context;
pub mod credentials;
pub mod effects;
pub mod error;
pub mod ids;
pub mod service;

pub use clock::{Clock, ClockMode};
pub use context::RequestContext;
pub use credentials::{CredentialLookup, IssuedCredential};
pub use error::{Fault, ServiceError};
pub use service::{BoxFuture, Service};

/// The account used when an access key does not name one.
pub const DEFAULT_ACCOUNT: &str = "000000000000";
/// The region used when a request carries no credential scope.
pub const DEFAULT_REGION: &str = "us-east-1";
