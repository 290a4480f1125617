//! Temporary credentials in strict mode: keys the configured keyring does not hold are
//! looked up among those STS issued, through the [`CredentialLookup`] seam. Such a key signs
//! like any other, but its session token must come with the request and it must not have
//! expired on the server clock.

use std::fmt;
use std::sync::Arc;

use http::HeaderMap;
use nimbus_core::{Clock, CredentialLookup};
use percent_encoding::percent_decode_str;
use subtle::ConstantTimeEq;

use super::{AuthError, SecretKey};

/// Issued keys and the clock their expirations are read against.
#[derive(Clone)]
pub struct IssuedKeys {
    lookup: Arc<dyn CredentialLookup>,
    clock: Clock,
}

impl fmt::Debug for IssuedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedKeys").finish_non_exhaustive()
    }
}

impl IssuedKeys {
    pub fn new(lookup: Arc<dyn CredentialLookup>, clock: Clock) -> Self {
        IssuedKeys { lookup, clock }
    }

    /// The secret of an issued key, once its session token and lifetime check out.
    pub(super) fn secret(
        &self,
        access_key_id: &str,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<SecretKey, AuthError> {
        let issued = self
            .lookup
            .issued_credential(access_key_id)
            .ok_or(AuthError::UnknownAccessKey)?;
        let token = session_token(headers, query).ok_or(AuthError::UnknownAccessKey)?;
        if !bool::from(token.as_bytes().ct_eq(issued.session_token.as_bytes())) {
            return Err(AuthError::UnknownAccessKey);
        }
        if self.clock.now_ms() >= issued.expires_at_ms {
            return Err(AuthError::ExpiredToken);
        }
        Ok(SecretKey::new(issued.secret_access_key))
    }
}

/// `X-Amz-Security-Token` from the headers, or from the query of a presigned URL.
fn session_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(token) = headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok())
    {
        return Some(token.to_owned());
    }
    query?.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name == "X-Amz-Security-Token")
            .then(|| percent_decode_str(value).decode_utf8_lossy().into_owned())
    })
}
