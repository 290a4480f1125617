//! Placeholder: awsJson 1.0 only, with the public signatures of the real codec crate, so the
//! edge server compiles and its tests run before the codecs land. Replaced wholesale.

use std::fmt;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use nimbus_core::ServiceError;
use nimbus_model::{OperationModel, ServiceModel};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    AwsJson10,
    AwsJson11,
    AwsQuery,
    RestJson,
    RpcV2Cbor,
}

pub struct WireRequest<'a> {
    pub method: &'a http::Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

pub struct WireResponse {
    pub status: u16,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

pub struct Identified {
    pub service: &'static ServiceModel,
    pub operation: &'static OperationModel,
    pub protocol: Protocol,
}

#[derive(Debug)]
pub enum IdentifyError {
    NoMatch,
}

impl fmt::Display for IdentifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no service matches the request")
    }
}

impl std::error::Error for IdentifyError {}

pub fn identify(
    req: &WireRequest,
    services: &[&'static ServiceModel],
    _signing_service: Option<&str>,
) -> Result<Identified, IdentifyError> {
    let target = req
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .ok_or(IdentifyError::NoMatch)?;
    let (prefix, op) = target.split_once('.').ok_or(IdentifyError::NoMatch)?;
    let service = services
        .iter()
        .find(|s| s.target_prefix == prefix)
        .ok_or(IdentifyError::NoMatch)?;
    let operation = service
        .operations
        .iter()
        .find(|o| o.name == op)
        .ok_or(IdentifyError::NoMatch)?;
    Ok(Identified {
        service,
        operation,
        protocol: Protocol::AwsJson10,
    })
}

pub fn decode_request(
    _id: &Identified,
    req: &WireRequest,
) -> Result<serde_json::Value, ServiceError> {
    if req.body.is_empty() {
        return Ok(serde_json::json!({}));
    }
    serde_json::from_slice(req.body)
        .map_err(|_| ServiceError::new("SerializationException", 400, "Malformed JSON body"))
}

pub fn encode_response(
    _id: &Identified,
    output: serde_json::Value,
    request_id: &str,
) -> WireResponse {
    json_response(200, &output, request_id)
}

pub fn encode_error(id: &Identified, err: &ServiceError, request_id: &str) -> WireResponse {
    encode_error_for(id.protocol, Some(id.service), err, request_id)
}

pub fn encode_error_for(
    _protocol: Protocol,
    _service: Option<&'static ServiceModel>,
    err: &ServiceError,
    request_id: &str,
) -> WireResponse {
    let body = serde_json::json!({ "__type": err.code, "message": err.message });
    json_response(err.status, &body, request_id)
}

fn json_response(status: u16, body: &serde_json::Value, request_id: &str) -> WireResponse {
    let mut headers = vec![(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    )];
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.push((HeaderName::from_static("x-amzn-requestid"), id));
    }
    WireResponse {
        status,
        headers,
        body: Bytes::from(body.to_string()),
    }
}
