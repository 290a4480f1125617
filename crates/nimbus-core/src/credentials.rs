//! The seam between the edge's signature check and the service that issues temporary
//! credentials (STS): the edge asks for a key it does not have configured, STS answers from
//! its store. Neither side knows the other's crate.

use std::fmt;

/// A temporary credential as the signature check needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCredential {
    pub secret_access_key: String,
    /// Must come with every request signed by this key (`X-Amz-Security-Token`).
    pub session_token: String,
    /// Epoch milliseconds on the server clock after which the key is refused.
    pub expires_at_ms: i64,
}

impl fmt::Debug for IssuedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCredential")
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &"<redacted>")
            .field("expires_at_ms", &self.expires_at_ms)
            .finish()
    }
}

/// Finds temporary credentials by access key id. Called on the request path, so it must
/// be a short indexed read.
pub trait CredentialLookup: Send + Sync + 'static {
    fn issued_credential(&self, access_key_id: &str) -> Option<IssuedCredential>;
}
