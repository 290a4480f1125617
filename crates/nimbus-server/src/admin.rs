//! `/_nimbus/*`: health, metrics, reset, test clock, and a fixed `ping` used as the
//! benchmark reference for the bare HTTP stack.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use nimbus_core::ClockMode;
use serde_json::{Value, json};

use crate::EdgeState;
use crate::edge::{BodyError, HttpResponse, read_body};

/// Admin request bodies are tiny JSON documents.
const ADMIN_BODY_LIMIT: usize = 64 * 1024;

pub async fn route(state: &EdgeState, route: &str, req: Request<Incoming>) -> HttpResponse {
    match (req.method(), route) {
        (&Method::GET, "ping") => text(StatusCode::OK, "text/plain", Bytes::from_static(b"pong")),
        (&Method::GET, "health") => health(state),
        (&Method::GET, "metrics") => text(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Bytes::from(state.metrics.encode()),
        ),
        (&Method::POST, "reset") => reset(state, req.uri().query()).await,
        (&Method::GET, "clock") => clock_now(state),
        (&Method::POST, "clock") => {
            let (parts, body) = req.into_parts();
            match read_body(body, &parts.headers, ADMIN_BODY_LIMIT).await {
                Ok(body) => move_clock(state, &body),
                Err(BodyError::TooLarge) => error(StatusCode::PAYLOAD_TOO_LARGE, "Body too large."),
                Err(BodyError::Broken) => error(StatusCode::BAD_REQUEST, "Body could not be read."),
            }
        }
        (_, "ping" | "health" | "metrics" | "reset" | "clock") => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed for this path.",
        ),
        (&Method::GET, _) => service_page(state, route, req.uri().query()),
        _ => error(StatusCode::NOT_FOUND, "No such /_nimbus endpoint."),
    }
}

/// A page registered by a service with [`crate::ServerBuilder::admin_get`].
fn service_page(state: &EdgeState, route: &str, query: Option<&str>) -> HttpResponse {
    let reply = state.admin_gets.iter().find_map(|(prefix, handler)| {
        route
            .strip_prefix(prefix)
            .and_then(|rest| handler(rest, query))
    });
    match reply {
        Some(reply) => text(
            StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK),
            reply.content_type,
            Bytes::from(reply.body),
        ),
        None => error(StatusCode::NOT_FOUND, "No such /_nimbus endpoint."),
    }
}

fn health(state: &EdgeState) -> HttpResponse {
    let services: Vec<&str> = state.models.iter().map(|model| model.name).collect();
    json_response(
        StatusCode::OK,
        &json!({
            "status": "ok",
            "version": state.version,
            "uptime_seconds": state.started.elapsed().as_secs(),
            "services": services,
        }),
    )
}

async fn reset(state: &EdgeState, query: Option<&str>) -> HttpResponse {
    let wanted = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("service="));
    if let Some(name) = wanted
        && !state.reset_hooks.iter().any(|(hook, _)| *hook == name)
    {
        return error(StatusCode::NOT_FOUND, &format!("Unknown service '{name}'."));
    }
    let mut done = Vec::new();
    for (name, hook) in &state.reset_hooks {
        if wanted.is_some_and(|wanted| wanted != *name) {
            continue;
        }
        if let Err(err) = hook().await {
            tracing::error!(service = name, %err, "reset failed");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("Reset of {name} failed."),
            );
        }
        if !done.contains(name) {
            done.push(*name);
        }
    }
    tracing::info!(services = ?done, "state reset");
    json_response(StatusCode::OK, &json!({ "reset": done }))
}

fn clock_mode(state: &EdgeState) -> &'static str {
    match state.clock.mode() {
        ClockMode::Real => "real",
        ClockMode::Test => "test",
    }
}

fn clock_now(state: &EdgeState) -> HttpResponse {
    json_response(
        StatusCode::OK,
        &json!({ "mode": clock_mode(state), "now_ms": state.clock.now_ms() }),
    )
}

fn move_clock(state: &EdgeState, body: &[u8]) -> HttpResponse {
    if state.clock.mode() == ClockMode::Real {
        return error(
            StatusCode::BAD_REQUEST,
            "The clock is real; start nimbus with --clock test to move it.",
        );
    }
    let request: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(_) => return error(StatusCode::BAD_REQUEST, "Body must be a JSON object."),
    };
    let moved = if let Some(seconds) = request.get("advance_seconds") {
        match seconds.as_f64() {
            Some(s) if s.is_finite() && s >= 0.0 => state.clock.advance(Duration::from_secs_f64(s)),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "advance_seconds must be a non-negative number.",
                );
            }
        }
    } else if let Some(now_ms) = request.get("now_ms") {
        match now_ms.as_i64() {
            Some(ms) => state.clock.set(ms),
            None => return error(StatusCode::BAD_REQUEST, "now_ms must be an integer."),
        }
    } else {
        return error(
            StatusCode::BAD_REQUEST,
            "Expected {\"advance_seconds\": n} or {\"now_ms\": n}.",
        );
    };
    match moved {
        Some(now_ms) => json_response(StatusCode::OK, &json!({ "mode": "test", "now_ms": now_ms })),
        None => error(StatusCode::BAD_REQUEST, "The clock could not be moved."),
    }
}

fn error(status: StatusCode, message: &str) -> HttpResponse {
    json_response(status, &json!({ "message": message }))
}

fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    text(status, "application/json", Bytes::from(body.to_string()))
}

fn text(status: StatusCode, content_type: &'static str, body: Bytes) -> HttpResponse {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
