//! Glue the generated dispatchers call: typed input from canonical JSON, typed output back.

use nimbus_core::ServiceError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ServiceModel;

/// Reads a typed input. The protocol layer has already validated the input against the shape
/// tables, so a failure here means a value of the wrong type slipped through: a client error
/// in the form the service's protocol uses, never a panic.
pub(crate) fn decode_input<T: DeserializeOwned>(
    service: &ServiceModel,
    input: serde_json::Value,
) -> Result<T, ServiceError> {
    let input = match input {
        serde_json::Value::Null => serde_json::Value::Object(Default::default()),
        other => other,
    };
    serde_json::from_value(input).map_err(|err| {
        let message = format!("Invalid request input: {err}");
        if service.aws_query_compatible {
            ServiceError::invalid_parameter_value(message)
        } else if service.speaks("query") {
            ServiceError::validation("ValidationError", message)
        } else {
            ServiceError::validation("SerializationException", message)
        }
    })
}

/// Writes a typed output; operations without output answer an empty structure.
pub(crate) fn encode_output<T: Serialize>(output: T) -> Result<serde_json::Value, ServiceError> {
    match serde_json::to_value(output) {
        Ok(serde_json::Value::Null) => Ok(serde_json::Value::Object(Default::default())),
        Ok(value) => Ok(value),
        Err(_) => Err(ServiceError::internal()),
    }
}
