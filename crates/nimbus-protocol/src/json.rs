//! awsJson 1.0/1.1 bodies. The canonical form is awsJson itself, so decoding only parses.

use nimbus_core::ServiceError;
use serde_json::Value;

use crate::{Protocol, WireResponse, header};

/// Parses a request body; an empty body is an empty input.
pub fn decode(body: &[u8]) -> Result<Value, ServiceError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(serialization("The request body must be a JSON object.")),
        Err(_) => Err(serialization("The request body is not valid JSON.")),
    }
}

fn serialization(message: &str) -> ServiceError {
    ServiceError::validation("SerializationException", message)
}

/// Renders an output; a missing output is `{}`.
pub fn encode(protocol: Protocol, output: &Value, request_id: &str) -> WireResponse {
    let body = match output {
        Value::Null => b"{}".to_vec(),
        other => serde_json::to_vec(other).unwrap_or_else(|_| b"{}".to_vec()),
    };
    encode_rendered(protocol, body, request_id)
}

/// A success whose JSON body the service has already written.
pub fn encode_rendered(protocol: Protocol, body: Vec<u8>, request_id: &str) -> WireResponse {
    WireResponse {
        status: 200,
        headers: vec![
            header("content-type", protocol.json_content_type()),
            header("x-amzn-requestid", request_id),
        ],
        body: body.into(),
    }
}
