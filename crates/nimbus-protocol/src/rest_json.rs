//! restJson1: routing by method and URI template, and member binding (URI labels including
//! greedy ones, query string, headers, header maps, payload, status code).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use nimbus_core::ServiceError;
use nimbus_model::{Location, Member, OperationModel, ServiceModel, Shape, ShapeKind};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::{Identified, Protocol, WireRequest, WireResponse, header, json, timestamp};

/// Finds the restJson operation whose method and URI template match the request.
pub fn route(
    req: &WireRequest,
    services: &[&'static ServiceModel],
    signing_service: Option<&str>,
) -> Option<Identified> {
    let mut best: Option<(usize, Identified)> = None;
    for service in services.iter().copied().filter(|s| s.speaks("rest-json")) {
        if signing_service.is_some_and(|scope| scope != service.signing_name) {
            continue;
        }
        for op in service.operations {
            if !op.http_method.eq_ignore_ascii_case(req.method.as_str()) {
                continue;
            }
            if let Some(labels) = match_uri(op.request_uri, req.path, req.query) {
                // The template with the most literal text wins (`/functions/{F}/url` over
                // `/functions/{F+}`).
                let score =
                    op.request_uri.len() - labels.keys().map(|k| k.len() + 2).sum::<usize>();
                if best.as_ref().is_none_or(|(s, _)| score > *s) {
                    let id = Identified {
                        service,
                        operation: op,
                        protocol: Protocol::RestJson,
                    };
                    best = Some((score, id));
                }
            }
        }
    }
    best.map(|(_, id)| id)
}

/// Matches `path` (and required literal query keys) against a template; returns the labels.
pub(crate) fn match_uri(
    template: &str,
    path: &str,
    query: Option<&str>,
) -> Option<BTreeMap<String, String>> {
    let (template_path, template_query) = template.split_once('?').unwrap_or((template, ""));
    for required in template_query.split('&').filter(|q| !q.is_empty()) {
        let key = required.split('=').next().unwrap_or(required);
        if !query
            .unwrap_or("")
            .split('&')
            .any(|p| p.split('=').next() == Some(key))
        {
            return None;
        }
    }
    let mut labels = BTreeMap::new();
    let want: Vec<&str> = template_path.trim_start_matches('/').split('/').collect();
    let got: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut i = 0;
    for (w_index, w) in want.iter().enumerate() {
        if let Some(label) = w.strip_prefix('{').and_then(|l| l.strip_suffix('}')) {
            if let Some(greedy) = label.strip_suffix('+') {
                let rest_literals = want.len() - w_index - 1;
                let end = got.len().checked_sub(rest_literals)?;
                if end <= i {
                    return None;
                }
                let value = got[i..end].join("/");
                labels.insert(
                    greedy.to_owned(),
                    percent_decode_str(&value).decode_utf8_lossy().into(),
                );
                i = end;
                continue;
            }
            let value = got.get(i)?;
            if value.is_empty() {
                return None;
            }
            labels.insert(
                label.to_owned(),
                percent_decode_str(value).decode_utf8_lossy().into(),
            );
        } else if got.get(i) != Some(w) {
            return None;
        }
        i += 1;
    }
    (i == got.len()).then_some(labels)
}

fn bad(message: String) -> ServiceError {
    ServiceError::validation("ValidationException", message)
}

/// Binds a request into canonical JSON input.
pub fn decode(id: &Identified, req: &WireRequest) -> Result<Value, ServiceError> {
    let Some(shape) = id.operation.input else {
        return Ok(Value::Object(Map::new()));
    };
    let labels = match_uri(id.operation.request_uri, req.path, req.query).unwrap_or_default();
    let mut query: Vec<(String, String)> = Vec::new();
    if let Some(q) = req.query {
        let mut parsed = BTreeMap::new();
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let mut one = BTreeMap::new();
            crate::params::parse_form(pair.as_bytes(), &mut one);
            parsed.extend(one.clone());
            query.extend(one);
        }
    }
    let mut out = match payload_member(shape) {
        Some(m) => {
            let mut out = Map::new();
            if !req.body.is_empty() {
                let v = match m.target.kind {
                    ShapeKind::Blob => Value::String(STANDARD.encode(req.body)),
                    ShapeKind::String { .. } => {
                        Value::String(String::from_utf8_lossy(req.body).into_owned())
                    }
                    _ => json::decode(req.body)?,
                };
                out.insert(m.name.to_owned(), v);
            }
            out
        }
        None => match json::decode(req.body)? {
            Value::Object(map) => map,
            _ => Map::new(),
        },
    };
    for m in shape.members() {
        let name = m.location_name.unwrap_or(m.name);
        let value = match m.location {
            Location::Uri => labels.get(name).map(|v| scalar(m, v)).transpose()?,
            Location::QueryString => query_value(m, name, &query, shape)?,
            Location::Header => match req.headers.get(name).and_then(|v| v.to_str().ok()) {
                Some(v) => Some(header_value(m, v)?),
                None => None,
            },
            Location::Headers => {
                let prefix = name.to_ascii_lowercase();
                let map: Map<String, Value> = req
                    .headers
                    .iter()
                    .filter_map(|(k, v)| {
                        let rest = k.as_str().strip_prefix(prefix.as_str())?;
                        Some((rest.to_owned(), Value::String(v.to_str().ok()?.to_owned())))
                    })
                    .collect();
                (!map.is_empty()).then_some(Value::Object(map))
            }
            Location::Body | Location::StatusCode => continue,
        };
        if let Some(v) = value {
            out.insert(m.name.to_owned(), v);
        }
    }
    Ok(Value::Object(out))
}

fn payload_member(shape: &Shape) -> Option<&'static Member> {
    match shape.kind {
        ShapeKind::Structure {
            payload: Some(p), ..
        } => shape.member(p),
        _ => None,
    }
}

fn query_value(
    m: &Member,
    name: &str,
    query: &[(String, String)],
    shape: &Shape,
) -> Result<Option<Value>, ServiceError> {
    match &m.target.kind {
        ShapeKind::List { .. } => {
            let items: Vec<Value> = query
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| Value::String(v.clone()))
                .collect();
            Ok((!items.is_empty()).then_some(Value::Array(items)))
        }
        ShapeKind::Map { .. } => {
            // A query map takes every parameter no other member binds.
            let bound: Vec<&str> = shape
                .members()
                .iter()
                .filter(|o| o.location == Location::QueryString && o.location_name.is_some())
                .filter_map(|o| o.location_name)
                .collect();
            let map: Map<String, Value> = query
                .iter()
                .filter(|(k, _)| !bound.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            Ok((!map.is_empty()).then_some(Value::Object(map)))
        }
        _ => query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| scalar(m, v))
            .transpose(),
    }
}

fn header_value(m: &Member, text: &str) -> Result<Value, ServiceError> {
    if m.json_value {
        let decoded = STANDARD
            .decode(text.trim())
            .map_err(|_| bad(format!("Header {} is not valid base64.", m.name)))?;
        return Ok(Value::String(
            String::from_utf8_lossy(&decoded).into_owned(),
        ));
    }
    if let ShapeKind::List { .. } = m.target.kind {
        let items = text
            .split(',')
            .map(|s| Value::String(s.trim().to_owned()))
            .collect();
        return Ok(Value::Array(items));
    }
    scalar(m, text)
}

fn scalar(m: &Member, text: &str) -> Result<Value, ServiceError> {
    let invalid = || bad(format!("Invalid value for {}: {text}", m.name));
    Ok(match m.target.kind {
        ShapeKind::Integer | ShapeKind::Long => {
            Value::from(text.trim().parse::<i64>().map_err(|_| invalid())?)
        }
        ShapeKind::Float | ShapeKind::Double => {
            let v = text.trim().parse::<f64>().map_err(|_| invalid())?;
            serde_json::Number::from_f64(v)
                .map(Value::Number)
                .ok_or_else(invalid)?
        }
        ShapeKind::Boolean => match text.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(invalid()),
        },
        ShapeKind::Timestamp { .. } => {
            let secs = timestamp::parse(text).ok_or_else(invalid)?;
            serde_json::Number::from_f64(secs)
                .map(Value::Number)
                .ok_or_else(invalid)?
        }
        _ => Value::String(text.to_owned()),
    })
}

/// Renders an output: status-code, header and payload members are bound; the rest is JSON.
pub fn encode(id: &Identified, output: &Value, request_id: &str) -> WireResponse {
    let op: &OperationModel = id.operation;
    let mut status = op.response_code.unwrap_or(200);
    let mut headers = vec![header("x-amzn-requestid", request_id)];
    let empty = Map::new();
    let fields = output.as_object().unwrap_or(&empty);
    let Some(shape) = op.output else {
        headers.push(header("content-type", "application/json"));
        return WireResponse {
            status,
            headers,
            body: b"{}".to_vec().into(),
        };
    };
    let mut body = Map::new();
    for m in shape.members() {
        let Some(v) = fields.get(m.name).filter(|v| !v.is_null()) else {
            continue;
        };
        let name = m.location_name.unwrap_or(m.name);
        match m.location {
            Location::StatusCode => {
                status = v
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(status);
            }
            Location::Header => {
                if let Ok(hname) = http::HeaderName::try_from(name)
                    && let Ok(hv) = http::HeaderValue::from_str(&header_text(m, v))
                {
                    headers.push((hname, hv));
                }
            }
            Location::Headers => {
                for (k, hv) in v.as_object().into_iter().flatten() {
                    let full = format!("{name}{k}");
                    if let (Ok(hname), Some(Ok(hv))) = (
                        http::HeaderName::try_from(full.as_str()),
                        hv.as_str().map(http::HeaderValue::from_str),
                    ) {
                        headers.push((hname, hv));
                    }
                }
            }
            _ => {
                body.insert(m.name.to_owned(), v.clone());
            }
        }
    }
    let payload = match payload_member(shape) {
        Some(m) => match (body.remove(m.name), &m.target.kind) {
            (Some(Value::String(s)), ShapeKind::Blob) => {
                headers.push(header("content-type", "application/octet-stream"));
                STANDARD.decode(s.as_bytes()).unwrap_or_default()
            }
            (Some(Value::String(s)), ShapeKind::String { .. }) => {
                headers.push(header("content-type", "text/plain"));
                s.into_bytes()
            }
            (Some(v), _) => {
                headers.push(header("content-type", "application/json"));
                serde_json::to_vec(&v).unwrap_or_default()
            }
            (None, _) => Vec::new(),
        },
        None => {
            headers.push(header("content-type", "application/json"));
            serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
        }
    };
    WireResponse {
        status,
        headers,
        body: payload.into(),
    }
}

fn header_text(m: &Member, v: &Value) -> String {
    match (&m.target.kind, v) {
        (ShapeKind::Timestamp { .. }, Value::Number(n)) => {
            timestamp::to_http_date(n.as_f64().unwrap_or(0.0))
        }
        (_, Value::String(s)) if m.json_value => STANDARD.encode(s.as_bytes()),
        (_, Value::String(s)) => s.clone(),
        (_, Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        (_, other) => other.to_string(),
    }
}
