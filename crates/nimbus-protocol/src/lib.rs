//! AWS wire protocols. Knows formats, not services: every codec walks the shape tables of
//! `nimbus-model`, so one implementation serves every generated service.
//!
//! The edge calls [`identify`], then [`decode_request`], hands the canonical JSON input to the
//! service, and renders the result with [`encode_response`] or [`encode_error`].

mod cbor;
mod errors;
mod identify;
mod json;
mod params;
mod query_in;
mod query_out;
mod rest_json;
mod timestamp;
mod validate;

use nimbus_core::ServiceError;
use nimbus_model::{OperationModel, ServiceModel};

pub use errors::encode_error_for;
pub use identify::{IdentifyError, identify};

/// The wire protocol of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    AwsJson10,
    AwsJson11,
    AwsQuery,
    RestJson,
    RpcV2Cbor,
}

impl Protocol {
    /// The JSON content type of an awsJson protocol.
    fn json_content_type(self) -> &'static str {
        match self {
            Protocol::AwsJson11 => "application/x-amz-json-1.1",
            Protocol::RestJson => "application/json",
            _ => "application/x-amz-json-1.0",
        }
    }
}

/// The parts of an HTTP request the protocol layer reads.
#[derive(Debug, Clone, Copy)]
pub struct WireRequest<'a> {
    pub method: &'a http::Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// An HTTP response, ready to send.
#[derive(Debug, Clone)]
pub struct WireResponse {
    pub status: u16,
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub body: bytes::Bytes,
}

/// The service, operation and protocol of a request.
#[derive(Debug, Clone, Copy)]
pub struct Identified {
    pub service: &'static ServiceModel,
    pub operation: &'static OperationModel,
    pub protocol: Protocol,
}

/// Reads the request into canonical JSON input (awsJson member names; timestamps as epoch
/// seconds; blobs as base64), validating required members and documented min/max with the
/// error AWS gives for that protocol.
pub fn decode_request(
    id: &Identified,
    req: &WireRequest,
) -> Result<serde_json::Value, ServiceError> {
    let mut input = match id.protocol {
        Protocol::AwsJson10 | Protocol::AwsJson11 => json::decode(req.body)?,
        Protocol::AwsQuery => query_in::decode(id, req)?,
        Protocol::RpcV2Cbor => cbor::decode(id, req.body)?,
        Protocol::RestJson => rest_json::decode(id, req)?,
    };
    if let Some(shape) = id.operation.input {
        validate::check(id.service, id.protocol, shape, &mut input)?;
    }
    Ok(input)
}

/// Renders a successful output.
pub fn encode_response(
    id: &Identified,
    output: serde_json::Value,
    request_id: &str,
) -> WireResponse {
    match id.protocol {
        Protocol::AwsJson10 | Protocol::AwsJson11 => json::encode(id.protocol, &output, request_id),
        Protocol::AwsQuery => query_out::encode(id, &output, request_id),
        Protocol::RpcV2Cbor => cbor::encode(id, &output, request_id),
        Protocol::RestJson => rest_json::encode(id, &output, request_id),
    }
}

/// Renders a success whose JSON body the service wrote itself (`Service::call_rendered`);
/// only awsJson operations are answered this way.
pub fn encode_rendered_response(id: &Identified, body: Vec<u8>, request_id: &str) -> WireResponse {
    json::encode_rendered(id.protocol, body, request_id)
}

/// Renders an error of a known operation.
pub fn encode_error(id: &Identified, err: &ServiceError, request_id: &str) -> WireResponse {
    encode_error_for(id.protocol, Some(id.service), err, request_id)
}

/// A header pair from static parts, or from text that may not be a valid header value.
fn header(name: &'static str, value: &str) -> (http::HeaderName, http::HeaderValue) {
    let value = http::HeaderValue::from_str(value)
        .unwrap_or_else(|_| http::HeaderValue::from_static("invalid"));
    (http::HeaderName::from_static(name), value)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
fn cbor_write_for_tests(
    e: &mut minicbor::Encoder<Vec<u8>>,
    shape: &nimbus_model::Shape,
    value: &serde_json::Value,
) {
    cbor::write_for_tests(e, shape, value);
}
