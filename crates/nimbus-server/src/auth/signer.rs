//! A SigV4 signer over the same computation the verifier uses: for tests and for callers
//! that talk to AWS-style endpoints.

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::parse::ALGORITHM;
use super::secret::SecretKey;
use super::sigv4::{self, SignedParts};

/// Signs requests for one access key, region and service.
#[derive(Debug, Clone)]
pub struct Signer {
    pub access_key_id: String,
    pub secret: SecretKey,
    pub region: String,
    pub service: String,
}

impl Signer {
    fn scope(&self, now: DateTime<Utc>) -> (String, String, [u8; 32]) {
        let date = now.format("%Y%m%d").to_string();
        let key = sigv4::signing_key(self.secret.expose(), &date, &self.region, &self.service);
        (
            format!("{date}/{}/{}/aws4_request", self.region, self.service),
            date,
            key,
        )
    }

    /// Adds `X-Amz-Date` and `Authorization`, signing every header present (include `host`).
    pub fn sign_headers(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        headers: &mut HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) {
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        if let Ok(value) = HeaderValue::from_str(&amz_date) {
            headers.insert("x-amz-date", value);
        }
        let mut names: Vec<String> = headers.keys().map(|k| k.as_str().to_owned()).collect();
        names.sort_unstable();
        names.dedup();
        let payload_hash = sigv4::sha256_hex(body);
        let creq = sigv4::canonical_request(&SignedParts {
            method,
            path,
            query,
            headers,
            signed_headers: &names,
            payload_hash: &payload_hash,
        });
        let (scope, _, key) = self.scope(now);
        let signature = sigv4::signature(&key, &sigv4::string_to_sign(&amz_date, &scope, &creq));
        let authorization = format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
            self.access_key_id,
            names.join(";"),
        );
        if let Ok(value) = HeaderValue::from_str(&authorization) {
            headers.insert(http::header::AUTHORIZATION, value);
        }
    }

    /// A presigned query string (signing only `host`) for a body-less request.
    pub fn presign(
        &self,
        method: &str,
        path: &str,
        query: &str,
        host: &str,
        expires_secs: u64,
        now: DateTime<Utc>,
    ) -> String {
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let (scope, _, key) = self.scope(now);
        let credential = format!("{}/{scope}", self.access_key_id);
        let mut full = String::from(query);
        if !full.is_empty() {
            full.push('&');
        }
        full.push_str(&format!(
            "X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={}&X-Amz-Date={amz_date}\
             &X-Amz-Expires={expires_secs}&X-Amz-SignedHeaders=host",
            utf8_percent_encode(&credential, NON_ALPHANUMERIC),
        ));
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(host) {
            headers.insert(http::header::HOST, value);
        }
        let creq = sigv4::canonical_request(&SignedParts {
            method,
            path,
            query: Some(&full),
            headers: &headers,
            signed_headers: &["host".to_owned()],
            payload_hash: sigv4::EMPTY_SHA256,
        });
        let signature = sigv4::signature(&key, &sigv4::string_to_sign(&amz_date, &scope, &creq));
        format!("{full}&X-Amz-Signature={signature}")
    }
}
