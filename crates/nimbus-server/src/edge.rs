//! One AWS request: bounded body, authentication, identification, decoding, the service
//! call (isolated so a panic becomes a 500), encoding, metrics.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use bytes::Bytes;
use chrono::Utc;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use nimbus_core::{RequestContext, ServiceError, ids};
use nimbus_protocol::{
    Identified, IdentifyError, Protocol, WireRequest, WireResponse, decode_request, encode_error,
    encode_error_for, encode_rendered_response, encode_response, identify,
};

use crate::EdgeState;
use crate::auth::{AuthError, RequestParts, VerifiedRequest, find_scope};

pub type HttpResponse = Response<Full<Bytes>>;

pub async fn handle(
    state: Arc<EdgeState>,
    local_port: u16,
    req: Request<Incoming>,
) -> Result<HttpResponse, Infallible> {
    if let Some(handler) = &state.function_urls
        && let Some((id, path)) =
            crate::function_url::match_request(req.uri().path(), req.headers())
    {
        let limit = state.config.max_body_bytes;
        return Ok(crate::function_url::serve(handler.as_ref(), &id, path, req, limit).await);
    }
    if let Some(route) = req.uri().path().strip_prefix("/_nimbus/") {
        let route = route.to_owned();
        return Ok(crate::admin::route(&state, &route, req).await);
    }
    Ok(aws_request(&state, local_port, req).await)
}

/// Why a body could not be read.
pub enum BodyError {
    TooLarge,
    Broken,
}

/// Reads the whole body, refusing more than `limit` bytes (by header before reading, by
/// count while reading).
pub async fn read_body(
    body: Incoming,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Broken),
    }
}

async fn aws_request(state: &EdgeState, local_port: u16, req: Request<Incoming>) -> HttpResponse {
    let request_id = ids::request_id();
    let (parts, body) = req.into_parts();
    let body = match read_body(body, &parts.headers, state.config.max_body_bytes).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            let err = ServiceError::new(
                "RequestEntityTooLarge",
                413,
                format!(
                    "Request body is larger than {} bytes.",
                    state.config.max_body_bytes
                ),
            );
            return plain_error(&err, &request_id);
        }
        Err(BodyError::Broken) => {
            let err =
                ServiceError::new("IncompleteBody", 400, "The request body could not be read.");
            return plain_error(&err, &request_id);
        }
    };
    let started = Instant::now();
    let path = parts.uri.path();
    let query = parts.uri.query();
    let auth = state.config.auth.authenticate(
        &RequestParts {
            method: parts.method.as_str(),
            path,
            query,
            headers: &parts.headers,
            body: &body,
        },
        Utc::now(),
    );
    let wire = WireRequest {
        method: &parts.method,
        path,
        query,
        headers: &parts.headers,
        body: &body,
    };

    // A failed verification still names the signing service, which helps pick the protocol
    // to answer in; only that failure path parses the claim a second time.
    let signing_service = match &auth {
        Ok(verified) => verified.signing_service.clone(),
        Err(_) => claimed_service(&parts.headers, query),
    };
    let id = match identify(&wire, &state.models, signing_service.as_deref()) {
        Ok(id) => id,
        Err(IdentifyError::NoService) => {
            tracing::debug!(method = %parts.method, path, "no service matches");
            let err = ServiceError::new(
                "UnknownOperationException",
                404,
                format!("No service operation matches {} {path}.", parts.method),
            );
            return plain_error(&err, &request_id);
        }
        Err(err) => {
            tracing::debug!(method = %parts.method, path, ?err, "unknown or malformed operation");
            let protocol = err.protocol().unwrap_or(Protocol::AwsJson10);
            return into_http(encode_error_for(
                protocol,
                err.service(),
                &err.to_service_error(),
                &request_id,
            ));
        }
    };
    let verified = match auth {
        Ok(verified) => verified,
        Err(AuthError::Missing) if is_link_action(&id, &parts.method) => VerifiedRequest::default(),
        Err(err) => {
            tracing::debug!(%err, "authentication failed");
            let err = ServiceError::from(err);
            return finish(state, &id, started, Err(err), &request_id);
        }
    };
    let input = match decode_request(&id, &wire) {
        Ok(input) => input,
        Err(err) => return finish(state, &id, started, Err(err), &request_id),
    };
    let ctx = request_context(
        state,
        &parts.headers,
        local_port,
        verified,
        request_id.clone(),
    );
    let outcome = call_service(state, &id, ctx, input).await;
    finish(state, &id, started, outcome, &request_id)
}

/// The links SNS puts in its messages (SubscribeURL, UnsubscribeURL) are followed unsigned,
/// as on AWS: the token or subscription ARN in the link is what authorises them.
fn is_link_action(id: &nimbus_protocol::Identified, method: &http::Method) -> bool {
    *method == http::Method::GET
        && id.service.name == "sns"
        && matches!(id.operation.name, "ConfirmSubscription" | "Unsubscribe")
}

fn claimed_service(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let authorization = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    find_scope(authorization, query)
        .ok()
        .flatten()
        .map(|scope| scope.service)
}

const X_AMZN_TRACE_ID: http::HeaderName = http::HeaderName::from_static("x-amzn-trace-id");

fn request_context(
    state: &EdgeState,
    headers: &HeaderMap,
    local_port: u16,
    verified: VerifiedRequest,
    request_id: String,
) -> RequestContext {
    let config = &state.config;
    let account_id = match &verified.access_key_id {
        Some(key) => ids::account_from_access_key(key, &config.default_account),
        None => config.default_account.clone(),
    };
    let base_url = match &config.hostname {
        Some(hostname) => format!("http://{hostname}:{local_port}"),
        None => match headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
        {
            Some(host) if !host.is_empty() => format!("http://{host}"),
            _ => format!("http://localhost:{local_port}"),
        },
    };
    RequestContext {
        request_id,
        account_id,
        region: verified
            .region
            .unwrap_or_else(|| config.default_region.clone()),
        access_key_id: verified.access_key_id,
        base_url,
        trace_header: headers
            .get(&X_AMZN_TRACE_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

/// Runs the operation on its own task: a panic is contained to a 500, and a client that
/// hangs up cannot cancel a write half-way.
async fn call_service(
    state: &EdgeState,
    id: &Identified,
    ctx: RequestContext,
    input: serde_json::Value,
) -> Result<Answer, ServiceError> {
    let Some(service) = state.service(id.service.name).cloned() else {
        tracing::error!(
            service = id.service.name,
            "identified service is not registered"
        );
        return Err(ServiceError::internal());
    };
    let operation = id.operation.name;
    let json = matches!(id.protocol, Protocol::AwsJson10 | Protocol::AwsJson11);
    // Inside the future, so a panic while rendering is caught like any other.
    let mut call: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(async move {
        if json && let Some(rendered) = service.call_rendered(&ctx, operation, &input) {
            return rendered.map(Answer::Rendered);
        }
        service
            .call(&ctx, operation, input)
            .await
            .map(Answer::Output)
    });
    // Most operations finish without waiting (reads, validation errors): poll once here and
    // spawn only what still has to wait, which saves a task per request.
    let first = std::future::poll_fn(|cx| {
        Poll::Ready(std::panic::catch_unwind(AssertUnwindSafe(|| {
            call.as_mut().poll(cx)
        })))
    })
    .await;
    let outcome = match first {
        Ok(Poll::Ready(outcome)) => Ok(outcome),
        Ok(Poll::Pending) => tokio::spawn(call).await.map_err(|e| e.to_string()),
        Err(_) => Err("panicked".to_owned()),
    };
    match outcome {
        Ok(outcome) => outcome,
        Err(err) => {
            tracing::error!(service = id.service.name, operation, %err, "service call failed");
            Err(ServiceError::internal())
        }
    }
}

/// A service's success: its output, or the JSON body it rendered itself.
enum Answer {
    Output(serde_json::Value),
    Rendered(Vec<u8>),
}

fn finish(
    state: &EdgeState,
    id: &Identified,
    started: Instant,
    outcome: Result<Answer, ServiceError>,
    request_id: &str,
) -> HttpResponse {
    let (wire, error_code) = match outcome {
        Ok(Answer::Output(output)) => (encode_response(id, output, request_id), None),
        Ok(Answer::Rendered(body)) => (encode_rendered_response(id, body, request_id), None),
        Err(err) => {
            if err.status >= 500 {
                tracing::warn!(%err, request_id, operation = id.operation.name, "server error");
            }
            (encode_error(id, &err, request_id), Some(err.code))
        }
    };
    state.metrics.record_request(
        id.service.name,
        id.operation.name,
        started.elapsed().as_secs_f64(),
        error_code.as_deref(),
    );
    into_http(wire)
}

/// An error before any service is known: answered as awsJson, the most common protocol.
fn plain_error(err: &ServiceError, request_id: &str) -> HttpResponse {
    into_http(encode_error_for(Protocol::AwsJson10, None, err, request_id))
}

pub fn into_http(wire: WireResponse) -> HttpResponse {
    let mut response = Response::new(Full::new(wire.body));
    *response.status_mut() =
        StatusCode::from_u16(wire.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in wire.headers {
        headers.append(name, value);
    }
    response
}
