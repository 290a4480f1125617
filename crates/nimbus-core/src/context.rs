//! Who is calling and where: derived once per request by the edge, read by services.

/// The identity and location of one request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Sent back in `x-amzn-RequestId` and in error bodies.
    pub request_id: String,
    /// 12-digit account the state belongs to.
    pub account_id: String,
    /// Region from the credential scope, or the server default.
    pub region: String,
    /// Access key id of the caller, when the request was signed.
    pub access_key_id: Option<String>,
    /// `scheme://host[:port]` to use in URLs returned to the caller (queue URLs and the like).
    pub base_url: String,
    /// The `X-Amzn-Trace-Id` header of the request, when present.
    pub trace_header: Option<String>,
}

impl RequestContext {
    /// A context for internal callers and tests.
    pub fn internal(account_id: &str, region: &str, base_url: &str) -> Self {
        RequestContext {
            request_id: crate::ids::request_id(),
            account_id: account_id.to_owned(),
            region: region.to_owned(),
            access_key_id: None,
            base_url: base_url.to_owned(),
            trace_header: None,
        }
    }
}
