//! rpcv2Cbor bodies ↔ canonical JSON, driven by the shapes: timestamps travel as tag 1 epoch
//! seconds, blobs as byte strings, everything else as its natural CBOR type.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use minicbor::data::{Tag, Type};
use minicbor::{Decoder, Encoder};
use nimbus_core::ServiceError;
use nimbus_model::{Shape, ShapeKind};
use serde_json::{Map, Value};

use crate::{Identified, WireResponse, header};

/// An untyped CBOR item; converted to canonical JSON once its shape is known.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    Array(Vec<Item>),
    Map(Vec<(Item, Item)>),
    Tagged(u64, Box<Item>),
}

const MAX_DEPTH: usize = 64;

fn malformed() -> ServiceError {
    ServiceError::validation(
        "SerializationException",
        "The request body is not valid CBOR.",
    )
}

fn read(d: &mut Decoder, depth: usize) -> Result<Item, ServiceError> {
    if depth > MAX_DEPTH {
        return Err(malformed());
    }
    let err = |_| malformed();
    Ok(match d.datatype().map_err(err)? {
        Type::Null | Type::Undefined => {
            d.skip().map_err(err)?;
            Item::Null
        }
        Type::Bool => Item::Bool(d.bool().map_err(err)?),
        Type::U8
        | Type::U16
        | Type::U32
        | Type::U64
        | Type::I8
        | Type::I16
        | Type::I32
        | Type::I64
        | Type::Int => Item::Int(i128::from(d.int().map_err(err)?)),
        Type::F16 => Item::Float(f64::from(d.f16().map_err(err)?)),
        Type::F32 => Item::Float(f64::from(d.f32().map_err(err)?)),
        Type::F64 => Item::Float(d.f64().map_err(err)?),
        Type::String => Item::Text(d.str().map_err(err)?.to_owned()),
        Type::StringIndef => {
            let mut s = String::new();
            for part in d.str_iter().map_err(err)? {
                s.push_str(part.map_err(err)?);
            }
            Item::Text(s)
        }
        Type::Bytes => Item::Bytes(d.bytes().map_err(err)?.to_vec()),
        Type::BytesIndef => {
            let mut b = Vec::new();
            for part in d.bytes_iter().map_err(err)? {
                b.extend_from_slice(part.map_err(err)?);
            }
            Item::Bytes(b)
        }
        Type::Array | Type::ArrayIndef => {
            let len = d.array().map_err(err)?;
            let mut items = Vec::new();
            for _ in 0..len.unwrap_or(u64::MAX) {
                if len.is_none() && at_break(d)? {
                    break;
                }
                items.push(read(d, depth + 1)?);
            }
            Item::Array(items)
        }
        Type::Map | Type::MapIndef => {
            let len = d.map().map_err(err)?;
            let mut entries = Vec::new();
            for _ in 0..len.unwrap_or(u64::MAX) {
                if len.is_none() && at_break(d)? {
                    break;
                }
                let k = read(d, depth + 1)?;
                entries.push((k, read(d, depth + 1)?));
            }
            Item::Map(entries)
        }
        Type::Tag => {
            let tag = d.tag().map_err(err)?;
            Item::Tagged(tag.as_u64(), Box::new(read(d, depth + 1)?))
        }
        _ => return Err(malformed()),
    })
}

/// Consumes the break byte that ends an indefinite-length item, if it is next.
fn at_break(d: &mut Decoder) -> Result<bool, ServiceError> {
    if d.datatype().map_err(|_| malformed())? == Type::Break {
        d.set_position(d.position() + 1);
        return Ok(true);
    }
    Ok(false)
}

/// Reads a request body against the operation's input shape.
pub fn decode(id: &Identified, body: &[u8]) -> Result<Value, ServiceError> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let mut d = Decoder::new(body);
    let item = read(&mut d, 0)?;
    if d.position() != body.len() {
        return Err(malformed());
    }
    match (id.operation.input, item) {
        (Some(shape), item @ Item::Map(_)) => Ok(to_json(shape, item)),
        (None, Item::Map(_)) => Ok(Value::Object(Map::new())),
        _ => Err(malformed()),
    }
}

fn to_json(shape: &Shape, item: Item) -> Value {
    match (&shape.kind, item) {
        (_, Item::Null) => Value::Null,
        (ShapeKind::Structure { .. }, Item::Map(entries)) => {
            let mut out = Map::new();
            for (k, v) in entries {
                if let Item::Text(k) = k
                    && let Some(m) = shape.member(&k)
                {
                    out.insert(k, to_json(m.target, v));
                }
            }
            Value::Object(out)
        }
        (ShapeKind::List { member, .. }, Item::Array(items)) => {
            Value::Array(items.into_iter().map(|i| to_json(member, i)).collect())
        }
        (ShapeKind::Map { value, .. }, Item::Map(entries)) => {
            let mut out = Map::new();
            for (k, v) in entries {
                if let Item::Text(k) = k {
                    out.insert(k, to_json(value, v));
                }
            }
            Value::Object(out)
        }
        (ShapeKind::Timestamp { .. }, Item::Tagged(1, inner)) => untyped(*inner),
        (ShapeKind::Blob, Item::Bytes(b)) => Value::String(STANDARD.encode(b)),
        // Anything else keeps its natural JSON form; validation reports type mismatches.
        (_, item) => untyped(item),
    }
}

fn untyped(item: Item) -> Value {
    match item {
        Item::Null => Value::Null,
        Item::Bool(b) => Value::Bool(b),
        Item::Int(i) => i64::try_from(i).map_or_else(|_| Value::from(i as f64), Value::from),
        Item::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        Item::Text(s) => Value::String(s),
        Item::Bytes(b) => Value::String(STANDARD.encode(b)),
        Item::Array(items) => Value::Array(items.into_iter().map(untyped).collect()),
        Item::Map(entries) => Value::Object(
            entries
                .into_iter()
                .filter_map(|(k, v)| match k {
                    Item::Text(k) => Some((k, untyped(v))),
                    _ => None,
                })
                .collect(),
        ),
        Item::Tagged(_, inner) => untyped(*inner),
    }
}

/// Renders an output against the operation's output shape.
pub fn encode(id: &Identified, output: &Value, request_id: &str) -> WireResponse {
    let mut e = Encoder::new(Vec::new());
    match id.operation.output {
        Some(shape) => write(&mut e, Some(shape), output),
        None => write(&mut e, None, &Value::Object(Map::new())),
    }
    WireResponse {
        status: 200,
        headers: vec![
            header("content-type", "application/cbor"),
            header("smithy-protocol", "rpc-v2-cbor"),
            header("x-amzn-requestid", request_id),
        ],
        body: e.into_writer().into(),
    }
}

/// Encodes a value without a shape (error bodies).
pub fn encode_untyped(value: &Value) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    write(&mut e, None, value);
    e.into_writer()
}

// Writing into a Vec cannot fail, so encoder results are ignored.
fn write(e: &mut Encoder<Vec<u8>>, shape: Option<&Shape>, value: &Value) {
    let kind = shape.map(|s| &s.kind);
    match (kind, value) {
        (_, Value::Null) => {
            let _ = e.null();
        }
        (Some(ShapeKind::Timestamp { .. }), Value::Number(n)) => {
            let _ = e.tag(Tag::new(1));
            write_number(e, n, true);
        }
        (Some(ShapeKind::Blob), Value::String(s)) => {
            let bytes = STANDARD
                .decode(s.as_bytes())
                .unwrap_or_else(|_| s.as_bytes().to_vec());
            let _ = e.bytes(&bytes);
        }
        (_, Value::Bool(b)) => {
            let _ = e.bool(*b);
        }
        (Some(ShapeKind::Float | ShapeKind::Double), Value::Number(n)) => write_number(e, n, true),
        (_, Value::Number(n)) => write_number(e, n, false),
        (_, Value::String(s)) => {
            let _ = e.str(s);
        }
        (_, Value::Array(items)) => {
            let item = match kind {
                Some(ShapeKind::List { member, .. }) => Some(*member),
                _ => None,
            };
            let _ = e.array(items.len() as u64);
            for v in items {
                write(e, item, v);
            }
        }
        (_, Value::Object(map)) => {
            let entries: Vec<_> = map.iter().filter(|(_, v)| !v.is_null()).collect();
            let _ = e.map(entries.len() as u64);
            for (k, v) in entries {
                let target = match (shape, kind) {
                    (Some(s), Some(ShapeKind::Structure { .. })) => s.member(k).map(|m| m.target),
                    (_, Some(ShapeKind::Map { value, .. })) => Some(*value),
                    _ => None,
                };
                let _ = e.str(k);
                write(e, target, v);
            }
        }
    }
}

fn write_number(e: &mut Encoder<Vec<u8>>, n: &serde_json::Number, float: bool) {
    if !float {
        if let Some(i) = n.as_i64() {
            let _ = e.i64(i);
            return;
        }
        if let Some(u) = n.as_u64() {
            let _ = e.u64(u);
            return;
        }
    }
    let _ = e.f64(n.as_f64().unwrap_or(0.0));
}

#[cfg(test)]
pub(crate) fn write_for_tests(e: &mut Encoder<Vec<u8>>, shape: &Shape, value: &Value) {
    write(e, Some(shape), value);
}
