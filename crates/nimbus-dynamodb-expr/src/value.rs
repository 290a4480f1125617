//! Attribute values in DynamoDB's type system, and their wire JSON form
//! (`{"S": "x"}`, `{"M": {...}}`).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::Number;

/// An item: attribute name to value.
pub type Item = BTreeMap<String, AttrValue>;

/// One attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Bool(bool),
    Null,
    M(Item),
    L(Vec<AttrValue>),
    Ss(Vec<String>),
    Ns(Vec<Number>),
    Bs(Vec<Vec<u8>>),
}

/// Input that is not a valid attribute value; the message is AWS's ValidationException text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValueError {
    pub message: String,
}

impl ValueError {
    pub fn new(message: impl Into<String>) -> ValueError {
        ValueError {
            message: message.into(),
        }
    }

    /// Whether AWS reports this as a `SerializationException` (malformed base64) rather
    /// than a `ValidationException`.
    pub fn is_serialization(&self) -> bool {
        self.message.starts_with(BASE64_LENGTH) || self.message.starts_with(BASE64_CHARACTER)
    }
}

const BASE64_LENGTH: &str = "Base64 encoded length is expected a multiple of 4 bytes but found: ";
const BASE64_CHARACTER: &str = "Invalid last non-pad Base64 character dectected";

/// Decodes a binary value; malformed base64 gets the (serialization) error AWS gives.
fn decode_blob(text: &str) -> Result<Vec<u8>, ValueError> {
    if !text.len().is_multiple_of(4) {
        return Err(ValueError::new(format!("{BASE64_LENGTH}{}", text.len())));
    }
    STANDARD
        .decode(text)
        .map_err(|_| ValueError::new(BASE64_CHARACTER))
}

fn invalid() -> ValueError {
    ValueError::new(
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
    )
}

/// Most levels of nesting a value may have (a scalar is one level, each map or list adds one).
pub const MAX_DEPTH: usize = 32;

fn invalid_param(detail: &str) -> ValueError {
    ValueError::new(format!(
        "One or more parameter values were invalid: {detail}"
    ))
}

fn too_deep() -> ValueError {
    ValueError::new(
        "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit",
    )
}

/// Whether a list has two equal elements.
fn has_duplicate<T: PartialEq>(items: &[T]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(i, x)| items[i + 1..].contains(x))
}

impl AttrValue {
    /// Reads the wire form of one value, validated as DynamoDB does.
    pub fn from_json(value: &Value) -> Result<AttrValue, ValueError> {
        AttrValue::from_json_at(value, 1)
    }

    fn from_json_at(value: &Value, depth: usize) -> Result<AttrValue, ValueError> {
        let object = value.as_object().ok_or_else(invalid)?;
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        let mut parsed = None;
        // DynamoDB validates each member before complaining that there are several.
        for (tag, inner) in object {
            parsed = Some(AttrValue::member(tag, inner, depth)?);
        }
        match (parsed, object.len()) {
            (Some(value), 1) => Ok(value),
            (Some(_), _) => Err(ValueError::new(
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
            )),
            (None, _) => Err(invalid()),
        }
    }

    fn member(tag: &str, inner: &Value, depth: usize) -> Result<AttrValue, ValueError> {
        let text = || inner.as_str().ok_or_else(invalid);
        let strings = || -> Result<Vec<&str>, ValueError> {
            inner
                .as_array()
                .ok_or_else(invalid)?
                .iter()
                .map(|v| v.as_str().ok_or_else(invalid))
                .collect()
        };
        Ok(match tag {
            "S" => AttrValue::S(text()?.to_owned()),
            "N" => AttrValue::N(Number::parse(text()?)?),
            "B" => AttrValue::B(decode_blob(text()?)?),
            "BOOL" => AttrValue::Bool(inner.as_bool().ok_or_else(invalid)?),
            "NULL" => match inner.as_bool() {
                Some(true) => AttrValue::Null,
                Some(false) => {
                    return Err(invalid_param(
                        "Null attribute value types must have the value of true",
                    ));
                }
                None => return Err(invalid()),
            },
            "M" => AttrValue::M(
                inner
                    .as_object()
                    .ok_or_else(invalid)?
                    .iter()
                    .map(|(name, v)| Ok((name.clone(), AttrValue::from_json_at(v, depth + 1)?)))
                    .collect::<Result<_, ValueError>>()?,
            ),
            "L" => AttrValue::L(
                inner
                    .as_array()
                    .ok_or_else(invalid)?
                    .iter()
                    .map(|v| AttrValue::from_json_at(v, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            "SS" => {
                let set = strings()?;
                if set.is_empty() {
                    return Err(invalid_param("An string set  may not be empty"));
                }
                if has_duplicate(&set) {
                    return Err(invalid_param(&format!(
                        "Input collection [{}] contains duplicates.",
                        set.join(", ")
                    )));
                }
                AttrValue::Ss(set.into_iter().map(str::to_owned).collect())
            }
            "NS" => {
                let set = strings()?;
                if set.is_empty() {
                    return Err(invalid_param("An number set  may not be empty"));
                }
                let numbers: Vec<Number> = set
                    .into_iter()
                    .map(Number::parse)
                    .collect::<Result<_, _>>()?;
                // Numbers are compared by value: "1" and "1.0" are duplicates.
                if has_duplicate(&numbers) {
                    return Err(ValueError::new("Input collection contains duplicates"));
                }
                AttrValue::Ns(numbers)
            }
            "BS" => {
                let set = strings()?;
                if set.is_empty() {
                    return Err(invalid_param("Binary sets should not be empty"));
                }
                let blobs: Vec<Vec<u8>> = set
                    .iter()
                    .map(|t| decode_blob(t))
                    .collect::<Result<_, _>>()?;
                if has_duplicate(&blobs) {
                    return Err(invalid_param(&format!(
                        "Input collection [{}]of type BS contains duplicates.",
                        set.join(", ")
                    )));
                }
                AttrValue::Bs(blobs)
            }
            _ => return Err(invalid()),
        })
    }

    /// The wire form of this value.
    pub fn to_json(&self) -> Value {
        let (tag, inner) = match self {
            AttrValue::S(s) => ("S", Value::from(s.as_str())),
            AttrValue::N(n) => ("N", Value::from(n.to_string())),
            AttrValue::B(b) => ("B", Value::from(STANDARD.encode(b))),
            AttrValue::Bool(b) => ("BOOL", Value::from(*b)),
            AttrValue::Null => ("NULL", Value::from(true)),
            AttrValue::M(m) => ("M", item_to_json(m)),
            AttrValue::L(l) => (
                "L",
                Value::Array(l.iter().map(AttrValue::to_json).collect()),
            ),
            AttrValue::Ss(v) => ("SS", v.iter().map(|s| Value::from(s.as_str())).collect()),
            AttrValue::Ns(v) => ("NS", v.iter().map(|n| Value::from(n.to_string())).collect()),
            AttrValue::Bs(v) => (
                "BS",
                v.iter().map(|b| Value::from(STANDARD.encode(b))).collect(),
            ),
        };
        let mut object = Map::with_capacity(1);
        object.insert(tag.to_owned(), inner);
        Value::Object(object)
    }
}

/// Reads the wire form of an item (`{"name": {"S": "x"}, ...}`).
pub fn item_from_json(value: &Value) -> Result<Item, ValueError> {
    value
        .as_object()
        .ok_or_else(invalid)?
        .iter()
        .map(|(name, v)| Ok((name.clone(), AttrValue::from_json(v)?)))
        .collect()
}

/// The wire form of an item.
pub fn item_to_json(item: &Item) -> Value {
    Value::Object(item.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

/// The wire form of an item as JSON text, written straight from the item: the same bytes as
/// `serde_json::to_vec(&item_to_json(item))` without building the intermediate tree (item
/// writes encode every item they store).
pub fn item_to_json_bytes(item: &Item) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    write_item(item, &mut out);
    out
}

fn write_item(item: &Item, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (name, value)) in item.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(name, out);
        out.push(b':');
        write_value(value, out);
    }
    out.push(b'}');
}

fn write_str(text: &str, out: &mut Vec<u8>) {
    // Most text needs no escaping. This check has no early exit, so it compiles to vector
    // instructions covering many bytes each, while the escaper looks at one byte at a time.
    let needs_escape = text.bytes().fold(false, |found, b| {
        found | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // Writing a string into a Vec cannot fail; serde_json does the escaping.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

fn write_list<T>(items: &[T], out: &mut Vec<u8>, mut each: impl FnMut(&T, &mut Vec<u8>)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(item, out);
    }
    out.push(b']');
}

fn write_value(value: &AttrValue, out: &mut Vec<u8>) {
    let tag: &[u8] = match value {
        AttrValue::S(_) => b"{\"S\":",
        AttrValue::N(_) => b"{\"N\":",
        AttrValue::B(_) => b"{\"B\":",
        AttrValue::Bool(_) => b"{\"BOOL\":",
        AttrValue::Null => b"{\"NULL\":",
        AttrValue::M(_) => b"{\"M\":",
        AttrValue::L(_) => b"{\"L\":",
        AttrValue::Ss(_) => b"{\"SS\":",
        AttrValue::Ns(_) => b"{\"NS\":",
        AttrValue::Bs(_) => b"{\"BS\":",
    };
    out.extend_from_slice(tag);
    match value {
        AttrValue::S(s) => write_str(s, out),
        AttrValue::N(n) => write_str(&n.to_string(), out),
        AttrValue::B(b) => write_str(&STANDARD.encode(b), out),
        AttrValue::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        AttrValue::Null => out.extend_from_slice(b"true"),
        AttrValue::M(m) => write_item(m, out),
        AttrValue::L(l) => write_list(l, out, write_value),
        AttrValue::Ss(v) => write_list(v, out, |s, out| write_str(s, out)),
        AttrValue::Ns(v) => write_list(v, out, |n, out| write_str(&n.to_string(), out)),
        AttrValue::Bs(v) => write_list(v, out, |b, out| write_str(&STANDARD.encode(b), out)),
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn error(value: Value) -> String {
        AttrValue::from_json(&value).unwrap_err().message
    }

    #[test]
    fn rejects_what_dynamodb_rejects() {
        // Messages from dynalite's validations (recorded against DynamoDB), and for nesting
        // from dynoxide issue 110 (captured against DynamoDB).
        for (value, message) in [
            (
                json!({}),
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
            ),
            (
                json!({"S": "a", "N": "1"}),
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
            ),
            (
                json!({"S": "a", "NULL": false}),
                "One or more parameter values were invalid: Null attribute value types must have the value of true",
            ),
            (
                json!({"NULL": false}),
                "One or more parameter values were invalid: Null attribute value types must have the value of true",
            ),
            (
                json!({"SS": []}),
                "One or more parameter values were invalid: An string set  may not be empty",
            ),
            (
                json!({"NS": []}),
                "One or more parameter values were invalid: An number set  may not be empty",
            ),
            (
                json!({"BS": []}),
                "One or more parameter values were invalid: Binary sets should not be empty",
            ),
            (
                json!({"SS": ["a", "b", "a"]}),
                "One or more parameter values were invalid: Input collection [a, b, a] contains duplicates.",
            ),
            (
                json!({"NS": ["1", "1.0"]}),
                "Input collection contains duplicates",
            ),
            (
                json!({"BS": ["YQ==", "YQ=="]}),
                "One or more parameter values were invalid: Input collection [YQ==, YQ==]of type BS contains duplicates.",
            ),
            (
                json!({"B": "YQ="}),
                "Base64 encoded length is expected a multiple of 4 bytes but found: 3",
            ),
            (
                json!({"L": [{"M": {"x": {"NULL": false}}}]}),
                "One or more parameter values were invalid: Null attribute value types must have the value of true",
            ),
        ] {
            assert_eq!(error(value.clone()), message, "{value}");
        }
        assert!(!ValueError::new("x").is_serialization());
        assert!(ValueError::new(format!("{BASE64_LENGTH}3")).is_serialization());
    }

    #[test]
    fn limits_nesting_to_32_levels() {
        let nested = |wraps: usize| {
            (0..wraps).fold(json!({"S": "leaf"}), |inner, i| {
                if i % 2 == 0 {
                    json!({"M": {"k": inner}})
                } else {
                    json!({"L": [inner]})
                }
            })
        };
        assert!(AttrValue::from_json(&nested(31)).is_ok());
        assert_eq!(
            error(nested(32)),
            "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"
        );
    }

    #[test]
    fn round_trips_every_type() {
        let value = json!({"M": {"s": {"S": "x"}, "n": {"N": "1.5"}, "b": {"B": "AQI="},
            "t": {"BOOL": true}, "z": {"NULL": true}, "l": {"L": [{"SS": ["a"]}]},
            "ns": {"NS": ["1", "2"]}, "bs": {"BS": ["AQ=="]}}});
        assert_eq!(AttrValue::from_json(&value).unwrap().to_json(), value);
    }

    #[test]
    fn json_bytes_match_the_json_tree() {
        let item = item_from_json(&json!({
            "pk": {"S": "quote \" and \\ and \u{1} é"}, "n": {"N": "-001.500"},
            "b": {"B": "AQI="}, "t": {"BOOL": true}, "f": {"BOOL": false}, "z": {"NULL": true},
            "m": {"M": {"inner": {"L": [{"SS": ["a", "b"]}, {"M": {}}, {"L": []}]}}},
            "ns": {"NS": ["1", "2e3"]}, "bs": {"BS": ["AQ==", "Ag=="]}
        }))
        .unwrap();
        assert_eq!(
            item_to_json_bytes(&item),
            serde_json::to_vec(&item_to_json(&item)).unwrap()
        );
        assert_eq!(item_to_json_bytes(&Item::new()), b"{}");
    }
}
