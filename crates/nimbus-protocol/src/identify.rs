//! Which service, operation and protocol a request is, following the one-port detection
//! recipe: rpcv2Cbor, then awsJson by `X-Amz-Target`, then awsQuery, then restJson by path.

use std::collections::BTreeMap;

use nimbus_core::ServiceError;
use nimbus_model::ServiceModel;

use crate::{Identified, Protocol, WireRequest, params, rest_json};

/// Why a request could not be routed.
#[derive(Debug, Clone)]
pub enum IdentifyError {
    /// No served service matches: the caller answers 404 JSON.
    NoService,
    /// The service is known but the operation is not.
    UnknownOperation {
        service: &'static ServiceModel,
        protocol: Protocol,
        operation: String,
    },
    /// The request names a service but not in a readable way (no `Action`, bad target).
    Malformed {
        service: Option<&'static ServiceModel>,
        protocol: Protocol,
        message: String,
    },
}

impl IdentifyError {
    /// The protocol to answer in, when one can be guessed.
    pub fn protocol(&self) -> Option<Protocol> {
        match self {
            IdentifyError::NoService => None,
            IdentifyError::UnknownOperation { protocol, .. }
            | IdentifyError::Malformed { protocol, .. } => Some(*protocol),
        }
    }

    /// The service the request was meant for, when known.
    pub fn service(&self) -> Option<&'static ServiceModel> {
        match self {
            IdentifyError::NoService => None,
            IdentifyError::UnknownOperation { service, .. } => Some(service),
            IdentifyError::Malformed { service, .. } => *service,
        }
    }

    /// The error AWS answers with.
    pub fn to_service_error(&self) -> ServiceError {
        match self {
            IdentifyError::NoService => {
                ServiceError::new("UnknownService", 404, "No service matches this request.")
            }
            IdentifyError::UnknownOperation {
                protocol: Protocol::AwsQuery,
                operation,
                ..
            } => ServiceError::new(
                "InvalidAction",
                400,
                format!("The action {operation} is not valid for this endpoint."),
            ),
            IdentifyError::UnknownOperation { operation, .. } => {
                ServiceError::unknown_operation(operation)
            }
            IdentifyError::Malformed {
                protocol: Protocol::AwsQuery,
                message,
                ..
            } => ServiceError::new("MissingAction", 400, message.clone()),
            IdentifyError::Malformed { message, .. } => {
                ServiceError::new("UnknownOperationException", 400, message.clone())
            }
        }
    }
}

/// Routes a request to one of `services`. `signing_service` is the SigV4 credential-scope
/// service, if the request was signed.
pub fn identify(
    req: &WireRequest,
    services: &[&'static ServiceModel],
    signing_service: Option<&str>,
) -> Result<Identified, IdentifyError> {
    if let Some(found) = identify_cbor(req, services) {
        return found;
    }
    if let Some(target) = header_str(req, &X_AMZ_TARGET) {
        return identify_json(req, services, target);
    }
    if is_query(req) {
        return identify_query(req, services, signing_service);
    }
    rest_json::route(req, services, signing_service).ok_or(IdentifyError::NoService)
}

// Names known in advance: looking one up by `&str` parses the name on every request.
const X_AMZ_TARGET: http::HeaderName = http::HeaderName::from_static("x-amz-target");
const SMITHY_PROTOCOL: http::HeaderName = http::HeaderName::from_static("smithy-protocol");

fn header_str<'a>(req: &'a WireRequest, name: &http::HeaderName) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

fn identify_cbor(
    req: &WireRequest,
    services: &[&'static ServiceModel],
) -> Option<Result<Identified, IdentifyError>> {
    let by_header =
        header_str(req, &SMITHY_PROTOCOL).is_some_and(|v| v.eq_ignore_ascii_case("rpc-v2-cbor"));
    let rest = req.path.strip_prefix("/service/");
    let (service_name, operation) = match rest.and_then(|r| r.split_once("/operation/")) {
        Some((s, o)) if !s.is_empty() && !o.contains('/') => (s, o),
        _ if by_header => {
            let message = "rpcv2Cbor requests use POST /service/{Service}/operation/{Operation}";
            return Some(Err(IdentifyError::Malformed {
                service: None,
                protocol: Protocol::RpcV2Cbor,
                message: message.to_owned(),
            }));
        }
        _ => return None,
    };
    let service = services.iter().copied().find(|s| {
        s.target_prefix == Some(service_name) || s.name.eq_ignore_ascii_case(service_name)
    });
    let Some(service) = service else {
        return Some(Err(IdentifyError::NoService));
    };
    Some(operation_of(service, Protocol::RpcV2Cbor, operation))
}

fn identify_json(
    req: &WireRequest,
    services: &[&'static ServiceModel],
    target: &str,
) -> Result<Identified, IdentifyError> {
    let Some((prefix, operation)) = target.rsplit_once('.') else {
        return Err(IdentifyError::NoService);
    };
    let service = services
        .iter()
        .copied()
        .find(|s| s.target_prefix == Some(prefix))
        .ok_or(IdentifyError::NoService)?;
    let content_type = header_str(req, &http::header::CONTENT_TYPE).unwrap_or("");
    let protocol = if content_type.contains("1.1") {
        Protocol::AwsJson11
    } else if content_type.contains("1.0") {
        Protocol::AwsJson10
    } else if service.json_version == Some("1.1") {
        Protocol::AwsJson11
    } else {
        Protocol::AwsJson10
    };
    operation_of(service, protocol, operation)
}

fn is_query(req: &WireRequest) -> bool {
    let form = header_str(req, &http::header::CONTENT_TYPE).is_some_and(|v| {
        v.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    let action_in_query = req
        .query
        .is_some_and(|q| q.split('&').any(|p| p.starts_with("Action=")));
    (form && req.method == http::Method::POST) || action_in_query
}

/// Request parameters of an awsQuery request: query string, then form body (body wins).
pub(crate) fn query_params(req: &WireRequest) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    if let Some(q) = req.query {
        params::parse_form(q.as_bytes(), &mut params);
    }
    if req.method == http::Method::POST {
        params::parse_form(req.body, &mut params);
    }
    params
}

/// Services that accept awsQuery requests.
fn speaks_query(s: &ServiceModel) -> bool {
    s.speaks("query") || s.aws_query_compatible
}

fn identify_query(
    req: &WireRequest,
    services: &[&'static ServiceModel],
    signing_service: Option<&str>,
) -> Result<Identified, IdentifyError> {
    let params = query_params(req);
    let action = params.get("Action").map(String::as_str);
    let candidates = services.iter().copied().filter(|s| speaks_query(s));
    let mut service =
        signing_service.and_then(|scope| candidates.clone().find(|s| s.signing_name == scope));
    if service.is_none() {
        let version = params.get("Version").map(String::as_str);
        service = version.and_then(|v| candidates.clone().find(|s| s.api_version == v));
    }
    if service.is_none() {
        service = action.and_then(|a| candidates.clone().find(|s| s.operation(a).is_some()));
    }
    let service = service.ok_or(IdentifyError::NoService)?;
    let Some(action) = action.filter(|a| !a.is_empty()) else {
        return Err(IdentifyError::Malformed {
            service: Some(service),
            protocol: Protocol::AwsQuery,
            message: "The request must contain the parameter Action.".to_owned(),
        });
    };
    operation_of(service, Protocol::AwsQuery, action)
}

fn operation_of(
    service: &'static ServiceModel,
    protocol: Protocol,
    operation: &str,
) -> Result<Identified, IdentifyError> {
    match service.operation(operation) {
        Some(operation) => Ok(Identified {
            service,
            operation,
            protocol,
        }),
        None => Err(IdentifyError::UnknownOperation {
            service,
            protocol,
            operation: operation.to_owned(),
        }),
    }
}
