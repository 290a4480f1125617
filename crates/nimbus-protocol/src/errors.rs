//! Error rendering per protocol.

use nimbus_core::ServiceError;
use nimbus_model::ServiceModel;
use serde_json::{Map, Value};

use crate::query_out::XmlWriter;
use crate::{Protocol, WireResponse, cbor, header};

/// Renders an error in `protocol`; `service` refines the form (namespaces, legacy codes).
pub fn encode_error_for(
    protocol: Protocol,
    service: Option<&'static ServiceModel>,
    err: &ServiceError,
    request_id: &str,
) -> WireResponse {
    match protocol {
        Protocol::AwsQuery => query(service, err, request_id),
        Protocol::RestJson => rest_json(service, err, request_id),
        Protocol::AwsJson10 | Protocol::AwsJson11 | Protocol::RpcV2Cbor => {
            json_like(protocol, service, err, request_id)
        }
    }
}

/// The member name of the message in the error body: SQS's shapes say `message`, others
/// `Message`; the model decides.
fn message_key(service: Option<&'static ServiceModel>, code: &str) -> &'static str {
    match service.and_then(|s| s.shape(code)) {
        Some(shape) if shape.member("Message").is_some() => "Message",
        Some(shape) if shape.member("message").is_some() => "message",
        _ => "message",
    }
}

fn body_fields(service: Option<&'static ServiceModel>, err: &ServiceError) -> Map<String, Value> {
    let mut body = err.fields.clone().unwrap_or_default();
    body.insert(
        message_key(service, &err.code).to_owned(),
        Value::String(err.message.clone()),
    );
    body
}

fn json_like(
    protocol: Protocol,
    service: Option<&'static ServiceModel>,
    err: &ServiceError,
    request_id: &str,
) -> WireResponse {
    let type_name = match service.and_then(|s| s.error_namespace) {
        Some(ns) => format!("{ns}#{}", err.code),
        None => err.code.to_string(),
    };
    let mut body = body_fields(service, err);
    body.insert("__type".to_owned(), Value::String(type_name));
    let mut headers = vec![header("x-amzn-requestid", request_id)];
    if service.is_some_and(|s| s.aws_query_compatible) {
        let value = format!("{};{}", err.wire_query_code(), err.fault.as_str());
        headers.push(header("x-amzn-query-error", &value));
    }
    let body = if protocol == Protocol::RpcV2Cbor {
        headers.push(header("content-type", "application/cbor"));
        headers.push(header("smithy-protocol", "rpc-v2-cbor"));
        cbor::encode_untyped(&Value::Object(body))
    } else {
        headers.push(header("content-type", protocol.json_content_type()));
        serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
    };
    WireResponse {
        status: err.status,
        headers,
        body: body.into(),
    }
}

fn rest_json(
    service: Option<&'static ServiceModel>,
    err: &ServiceError,
    request_id: &str,
) -> WireResponse {
    let mut body = body_fields(service, err);
    let kind = if err.status >= 500 { "Service" } else { "User" };
    body.entry("Type")
        .or_insert_with(|| Value::String(kind.to_owned()));
    WireResponse {
        status: err.status,
        headers: vec![
            header("content-type", "application/json"),
            header("x-amzn-requestid", request_id),
            header("x-amzn-errortype", &err.code),
        ],
        body: serde_json::to_vec(&Value::Object(body))
            .unwrap_or_default()
            .into(),
    }
}

/// `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
/// SQS adds an empty `<Detail/>`, as it always has.
fn query(
    service: Option<&'static ServiceModel>,
    err: &ServiceError,
    request_id: &str,
) -> WireResponse {
    let mut xml = XmlWriter::new();
    let ns = service.and_then(|s| s.xml_namespace);
    xml.open_with_ns("ErrorResponse", ns);
    xml.open("Error");
    xml.text_element("Type", err.fault.as_str());
    xml.text_element("Code", err.wire_query_code());
    xml.text_element("Message", &err.message);
    if service.is_some_and(|s| s.aws_query_compatible) {
        xml.empty("Detail");
    }
    xml.close("Error");
    xml.text_element("RequestId", request_id);
    xml.close("ErrorResponse");
    WireResponse {
        status: err.status,
        headers: vec![
            header("content-type", "text/xml"),
            header("x-amzn-requestid", request_id),
        ],
        body: xml.finish().into(),
    }
}
