//! SigV4 authentication. Parsing a claim is separate from verifying it; verification yields a
//! [`VerifiedRequest`], the only thing the request pipeline reads identity from.
//!
//! `off` (the default, as local AWS emulators do): signatures are read for their credential
//! scope (region, service, access key) but never checked. `strict`: the signature must match a
//! configured secret, and the request time must be within 15 minutes of the server's.

mod issued;
mod parse;
mod secret;
mod signer;
pub mod sigv4;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use http::HeaderMap;
use nimbus_core::ServiceError;
use subtle::ConstantTimeEq;

pub use issued::IssuedKeys;
pub use parse::{CredentialScope, SignatureClaim, SignatureLocation, find_claim, find_scope};
pub use secret::{Keyring, SecretKey};
pub use signer::Signer;
use sigv4::{SignedParts, UNSIGNED_PAYLOAD};

/// Largest accepted distance between the request time and the server time.
const MAX_SKEW: TimeDelta = TimeDelta::minutes(15);
const AMZ_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// Whether signatures are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// Any credentials are accepted; the scope is still read.
    #[default]
    Off,
    /// Signatures must verify against the configured keys.
    Strict,
}

impl FromStr for AuthMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(AuthMode::Off),
            "strict" => Ok(AuthMode::Strict),
            other => Err(format!(
                "unknown auth mode '{other}' (expected off or strict)"
            )),
        }
    }
}

/// Why a request was not authenticated. Mapped to AWS's codes in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    Missing,
    Incomplete(String),
    UnknownAccessKey,
    /// A temporary key past its expiration.
    ExpiredToken,
    SignatureMismatch,
    /// Request time too far in the past (or a presigned URL past its lifetime).
    Expired {
        signed: String,
        earliest: String,
        now: String,
    },
    /// Request time too far in the future.
    NotYetCurrent {
        signed: String,
        latest: String,
        now: String,
    },
}

impl From<AuthError> for ServiceError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Missing => ServiceError::new(
                "MissingAuthenticationToken",
                403,
                "Request is missing Authentication Token",
            ),
            AuthError::Incomplete(message) => {
                ServiceError::new("IncompleteSignature", 400, message)
            }
            AuthError::UnknownAccessKey => ServiceError::new(
                "InvalidClientTokenId",
                403,
                "The security token included in the request is invalid.",
            ),
            AuthError::ExpiredToken => ServiceError::new(
                "ExpiredToken",
                403,
                "The security token included in the request is expired",
            ),
            AuthError::SignatureMismatch => ServiceError::new(
                "SignatureDoesNotMatch",
                403,
                "The request signature we calculated does not match the signature you provided. \
                 Check your AWS Secret Access Key and signing method. Consult the service \
                 documentation for details.",
            ),
            AuthError::Expired {
                signed,
                earliest,
                now,
            } => ServiceError::new(
                "SignatureDoesNotMatch",
                403,
                format!(
                    "Signature expired: {signed} is now earlier than {earliest} ({now} - 15 min.)"
                ),
            ),
            AuthError::NotYetCurrent {
                signed,
                latest,
                now,
            } => ServiceError::new(
                "SignatureDoesNotMatch",
                403,
                format!(
                    "Signature not yet current: {signed} is still later than {latest} ({now} + 15 min.)"
                ),
            ),
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", ServiceError::from(self.clone()).message)
    }
}

/// The request as the signature covers it.
pub struct RequestParts<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Identity read from a request that passed authentication.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifiedRequest {
    /// Access key id from the credential scope.
    pub access_key_id: Option<String>,
    /// Region from the credential scope.
    pub region: Option<String>,
    /// Signing name from the credential scope (`sqs`, `monitoring`…), a routing hint.
    pub signing_service: Option<String>,
    /// True when the signature was checked against a configured secret.
    pub signature_checked: bool,
}

impl VerifiedRequest {
    fn from_scope(scope: CredentialScope, signature_checked: bool) -> Self {
        VerifiedRequest {
            access_key_id: Some(scope.access_key_id),
            region: Some(scope.region),
            signing_service: Some(scope.service),
            signature_checked,
        }
    }
}

/// Checks requests according to the configured mode and keys.
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    mode: AuthMode,
    keys: Keyring,
    /// Temporary keys STS issued, checked after the configured ones.
    issued: Option<IssuedKeys>,
}

impl Authenticator {
    pub fn new(mode: AuthMode, keys: Keyring) -> Self {
        Authenticator {
            mode,
            keys,
            issued: None,
        }
    }

    /// Also accepts the temporary keys `issued` knows, in strict mode.
    #[must_use]
    pub fn with_issued_keys(mut self, issued: IssuedKeys) -> Self {
        self.issued = Some(issued);
        self
    }

    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Authenticates one request at server time `now`.
    pub fn authenticate(
        &self,
        req: &RequestParts,
        now: DateTime<Utc>,
    ) -> Result<VerifiedRequest, AuthError> {
        let authorization = req
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        match self.mode {
            // Off: a malformed or absent signature is simply an anonymous request.
            AuthMode::Off => Ok(match find_scope(authorization, req.query) {
                Ok(Some(scope)) => VerifiedRequest::from_scope(scope, false),
                _ => VerifiedRequest::default(),
            }),
            AuthMode::Strict => {
                let claim = find_claim(authorization, req.query)?.ok_or(AuthError::Missing)?;
                self.verify(claim, req, now)
            }
        }
    }

    fn verify(
        &self,
        claim: SignatureClaim,
        req: &RequestParts,
        now: DateTime<Utc>,
    ) -> Result<VerifiedRequest, AuthError> {
        let issued_secret;
        let secret = match (self.keys.get(&claim.scope.access_key_id), &self.issued) {
            (Some(secret), _) => secret,
            (None, Some(issued)) => {
                issued_secret =
                    issued.secret(&claim.scope.access_key_id, req.headers, req.query)?;
                &issued_secret
            }
            (None, None) => return Err(AuthError::UnknownAccessKey),
        };
        let amz_date = request_date(&claim, req.headers)?;
        check_time(&amz_date, claim.location, now)?;
        if !amz_date.starts_with(&claim.scope.date) {
            return Err(AuthError::SignatureMismatch);
        }

        let key = sigv4::signing_key(
            secret.expose(),
            &claim.scope.date,
            &claim.scope.region,
            &claim.scope.service,
        );
        let scope = claim.scope.scope_string();
        let verifies = |payload_hash: &str| {
            let creq = sigv4::canonical_request(&SignedParts {
                method: req.method,
                path: req.path,
                query: req.query,
                headers: req.headers,
                signed_headers: &claim.signed_headers,
                payload_hash,
            });
            let expected = sigv4::signature(&key, &sigv4::string_to_sign(&amz_date, &scope, &creq));
            bool::from(expected.as_bytes().ct_eq(claim.signature.as_bytes()))
        };

        let body_hash = sigv4::sha256_hex(req.body);
        let declared = req
            .headers
            .get("x-amz-content-sha256")
            .and_then(|v| v.to_str().ok());
        let ok = match (declared, claim.location) {
            (Some(UNSIGNED_PAYLOAD), _) => verifies(UNSIGNED_PAYLOAD),
            // A declared hash must also be the body's hash, or the body was swapped.
            (Some(hash), _) => hash.eq_ignore_ascii_case(&body_hash) && verifies(hash),
            (None, SignatureLocation::Header) => verifies(&body_hash),
            // Presigned URLs are signed over the body hash by most SDKs and over
            // UNSIGNED-PAYLOAD by S3-style signers.
            (None, SignatureLocation::Query { .. }) => {
                verifies(&body_hash) || verifies(UNSIGNED_PAYLOAD)
            }
        };
        if !ok {
            return Err(AuthError::SignatureMismatch);
        }
        Ok(VerifiedRequest::from_scope(claim.scope, true))
    }
}

/// The signing time, in `YYYYMMDDTHHMMSSZ` form.
fn request_date(claim: &SignatureClaim, headers: &HeaderMap) -> Result<String, AuthError> {
    if let Some(date) = &claim.query_date {
        return Ok(date.clone());
    }
    if let Some(date) = headers.get("x-amz-date").and_then(|v| v.to_str().ok()) {
        return Ok(date.to_owned());
    }
    headers
        .get(http::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .map(|date| date.with_timezone(&Utc).format(AMZ_DATE_FORMAT).to_string())
        .ok_or_else(|| {
            AuthError::Incomplete(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                    .into(),
            )
        })
}

fn check_time(
    amz_date: &str,
    location: SignatureLocation,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let signed = NaiveDateTime::parse_from_str(amz_date, AMZ_DATE_FORMAT)
        .map_err(|_| AuthError::Incomplete(format!("Invalid X-Amz-Date '{amz_date}'.")))?
        .and_utc();
    let fmt = |t: DateTime<Utc>| t.format(AMZ_DATE_FORMAT).to_string();
    if signed > now + MAX_SKEW {
        return Err(AuthError::NotYetCurrent {
            signed: amz_date.to_owned(),
            latest: fmt(now + MAX_SKEW),
            now: fmt(now),
        });
    }
    let expired = match location {
        SignatureLocation::Header => signed < now - MAX_SKEW,
        SignatureLocation::Query { expires_secs } => {
            signed + TimeDelta::seconds(i64::try_from(expires_secs).unwrap_or(i64::MAX / 2)) < now
        }
    };
    if expired {
        return Err(AuthError::Expired {
            signed: amz_date.to_owned(),
            earliest: fmt(now - MAX_SKEW),
            now: fmt(now),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
