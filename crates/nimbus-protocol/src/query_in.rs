//! awsQuery request parameters → canonical JSON, walked from the input shape
//! (`.member.N` lists, flattened lists and maps, `.entry.N.key/value`, locationName).

use std::collections::BTreeMap;
use std::ops::Bound;

use nimbus_core::ServiceError;
use nimbus_model::{Member, Shape, ShapeKind};
use serde_json::{Map, Value};

use crate::identify::query_params;
use crate::{Identified, WireRequest, timestamp};

type Params = BTreeMap<String, String>;

/// Lists longer than this are refused: real limits are far lower, and the walk must stay cheap.
const MAX_ITEMS: usize = 10_000;

pub fn decode(id: &Identified, req: &WireRequest) -> Result<Value, ServiceError> {
    let params = query_params(req);
    let Some(shape) = id.operation.input else {
        return Ok(Value::Object(Map::new()));
    };
    let mut input = structure(shape, "", &params, 0)?;
    // Legacy SQS clients address the queue by posting to its URL instead of sending QueueUrl.
    if let Value::Object(map) = &mut input
        && shape.member("QueueUrl").is_some()
        && !map.contains_key("QueueUrl")
        && req.path != "/"
        && let Some(host) = req.headers.get("host").and_then(|h| h.to_str().ok())
    {
        map.insert(
            "QueueUrl".into(),
            Value::String(format!("http://{host}{}", req.path)),
        );
    }
    Ok(input)
}

fn has_prefix(params: &Params, prefix: &str) -> bool {
    params
        .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
        .next()
        .is_some_and(|(k, _)| k.starts_with(prefix))
}

fn present(params: &Params, key: &str) -> bool {
    params.contains_key(key) || has_prefix(params, &format!("{key}."))
}

fn structure(
    shape: &Shape,
    prefix: &str,
    params: &Params,
    depth: usize,
) -> Result<Value, ServiceError> {
    if depth > 32 {
        return Err(ServiceError::invalid_parameter_value(
            "The request is nested too deeply.",
        ));
    }
    let mut out = Map::new();
    for member in shape.members() {
        if let Some(v) = member_value(member, prefix, params, depth)? {
            out.insert(member.name.to_owned(), v);
        }
    }
    Ok(Value::Object(out))
}

fn member_value(
    member: &Member,
    prefix: &str,
    params: &Params,
    depth: usize,
) -> Result<Option<Value>, ServiceError> {
    let name = member.query_name.unwrap_or(member.xml_name());
    let key = format!("{prefix}{name}");
    match &member.target.kind {
        ShapeKind::List {
            member: item,
            member_location_name,
        } if member.flattened => {
            // Flattened lists name each item after the list member, if it has a name.
            let key = format!("{prefix}{}", member_location_name.unwrap_or(name));
            list(item, &key, params, depth)
        }
        ShapeKind::Map { .. } if member.flattened => map(member.target, &key, params, depth),
        _ => value(member.target, &key, params, depth),
    }
}

fn value(
    shape: &Shape,
    key: &str,
    params: &Params,
    depth: usize,
) -> Result<Option<Value>, ServiceError> {
    match &shape.kind {
        ShapeKind::Structure { .. } => {
            if !has_prefix(params, &format!("{key}.")) {
                return Ok(None);
            }
            structure(shape, &format!("{key}."), params, depth + 1).map(Some)
        }
        ShapeKind::List {
            member,
            member_location_name,
        } => {
            let item_key = format!("{key}.{}", member_location_name.unwrap_or("member"));
            match list(member, &item_key, params, depth)? {
                Some(v) => Ok(Some(v)),
                // `Name=` with no items is an explicitly empty list.
                None if params.contains_key(key) => Ok(Some(Value::Array(Vec::new()))),
                None => Ok(None),
            }
        }
        ShapeKind::Map { .. } => {
            let entry_key = format!("{key}.entry");
            match map(shape, &entry_key, params, depth)? {
                Some(v) => Ok(Some(v)),
                None if params.contains_key(key) => Ok(Some(Value::Object(Map::new()))),
                None => Ok(None),
            }
        }
        _ => match params.get(key) {
            Some(text) => scalar(shape, key, text).map(Some),
            None => Ok(None),
        },
    }
}

/// Items at `{key}.1`, `{key}.2`, … until the first gap.
fn list(
    item: &Shape,
    key: &str,
    params: &Params,
    depth: usize,
) -> Result<Option<Value>, ServiceError> {
    let mut items = Vec::new();
    for i in 1..=MAX_ITEMS + 1 {
        let item_key = format!("{key}.{i}");
        if !present(params, &item_key) {
            break;
        }
        if i > MAX_ITEMS {
            return Err(ServiceError::invalid_parameter_value(format!(
                "Too many values for {key}."
            )));
        }
        if let Some(v) = value(item, &item_key, params, depth + 1)? {
            items.push(v);
        }
    }
    Ok((!items.is_empty()).then_some(Value::Array(items)))
}

/// Entries at `{key}.N.{KeyName}` / `{key}.N.{ValueName}`.
fn map(
    shape: &Shape,
    key: &str,
    params: &Params,
    depth: usize,
) -> Result<Option<Value>, ServiceError> {
    let ShapeKind::Map {
        value: item,
        key_location_name,
        value_location_name,
        ..
    } = &shape.kind
    else {
        return Ok(None);
    };
    let mut out = Map::new();
    for i in 1..=MAX_ITEMS + 1 {
        let entry = format!("{key}.{i}");
        if !present(params, &entry) {
            break;
        }
        if i > MAX_ITEMS {
            return Err(ServiceError::invalid_parameter_value(format!(
                "Too many values for {key}."
            )));
        }
        let name_key = format!("{entry}.{}", key_location_name.unwrap_or("key"));
        let Some(name) = params.get(&name_key) else {
            return Err(ServiceError::missing_parameter(&name_key));
        };
        let value_key = format!("{entry}.{}", value_location_name.unwrap_or("value"));
        if let Some(v) = value(item, &value_key, params, depth + 1)? {
            out.insert(name.clone(), v);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

fn scalar(shape: &Shape, key: &str, text: &str) -> Result<Value, ServiceError> {
    let bad = || {
        ServiceError::invalid_parameter_value(format!(
            "Value ({text}) for parameter {key} is invalid. Expected a {}.",
            shape.kind.type_name()
        ))
    };
    Ok(match shape.kind {
        ShapeKind::Integer | ShapeKind::Long => {
            Value::from(text.trim().parse::<i64>().map_err(|_| bad())?)
        }
        ShapeKind::Float | ShapeKind::Double => {
            let v = text.trim().parse::<f64>().map_err(|_| bad())?;
            serde_json::Number::from_f64(v)
                .map(Value::Number)
                .ok_or_else(bad)?
        }
        ShapeKind::Boolean => match text.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad()),
        },
        ShapeKind::Timestamp { .. } => {
            let secs = timestamp::parse(text).ok_or_else(bad)?;
            serde_json::Number::from_f64(secs)
                .map(Value::Number)
                .ok_or_else(bad)?
        }
        // Blobs arrive base64-encoded, which is already their canonical form.
        _ => Value::String(text.to_owned()),
    })
}
