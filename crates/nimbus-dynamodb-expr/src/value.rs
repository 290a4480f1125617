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
}

fn invalid() -> ValueError {
    ValueError::new(
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
    )
}

impl AttrValue {
    /// Reads the wire form of one value.
    pub fn from_json(value: &Value) -> Result<AttrValue, ValueError> {
        let object = value.as_object().ok_or_else(invalid)?;
        let mut members = object.iter();
        let (Some((tag, inner)), None) = (members.next(), members.next()) else {
            return Err(invalid());
        };
        let text = || inner.as_str().ok_or_else(invalid);
        let strings = || -> Result<Vec<&str>, ValueError> {
            inner
                .as_array()
                .ok_or_else(invalid)?
                .iter()
                .map(|v| v.as_str().ok_or_else(invalid))
                .collect()
        };
        let blob = |text: &str| STANDARD.decode(text).map_err(|_| invalid());
        Ok(match tag.as_str() {
            "S" => AttrValue::S(text()?.to_owned()),
            "N" => AttrValue::N(Number::parse(text()?)?),
            "B" => AttrValue::B(blob(text()?)?),
            "BOOL" => AttrValue::Bool(inner.as_bool().ok_or_else(invalid)?),
            "NULL" => AttrValue::Null,
            "M" => AttrValue::M(item_from_json(inner)?),
            "L" => AttrValue::L(
                inner
                    .as_array()
                    .ok_or_else(invalid)?
                    .iter()
                    .map(AttrValue::from_json)
                    .collect::<Result<_, _>>()?,
            ),
            "SS" => AttrValue::Ss(strings()?.into_iter().map(str::to_owned).collect()),
            "NS" => AttrValue::Ns(
                strings()?
                    .into_iter()
                    .map(Number::parse)
                    .collect::<Result<_, _>>()?,
            ),
            "BS" => AttrValue::Bs(strings()?.into_iter().map(blob).collect::<Result<_, _>>()?),
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
