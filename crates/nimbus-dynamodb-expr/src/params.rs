//! The `ExpressionAttributeNames` and `ExpressionAttributeValues` of one request, shared by
//! all its expressions, which record what they use so unused entries can be reported.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{AttrValue, ExprError};

/// The placeholders of one request and which of them the parsed expressions used.
#[derive(Debug, Clone, Default)]
pub struct Params {
    names: BTreeMap<String, (String, bool)>,
    values: BTreeMap<String, (AttrValue, bool)>,
}

/// The keys of the entries not marked used, in key order.
fn unused<T>(map: &BTreeMap<String, (T, bool)>) -> Vec<&str> {
    map.iter()
        .filter(|(_, (_, used))| !used)
        .map(|(key, _)| key.as_str())
        .collect()
}

/// A placeholder key is its sigil and at least one letter, digit or underscore.
fn valid_key(key: &str, sigil: u8) -> bool {
    let bytes = key.as_bytes();
    bytes.len() > 1
        && bytes[0] == sigil
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

impl Params {
    /// Checks the maps as DynamoDB does: present maps must be non-empty and keyed `#name` /
    /// `:value`.
    pub fn new(
        names: Option<BTreeMap<String, String>>,
        values: Option<BTreeMap<String, AttrValue>>,
    ) -> Result<Params, ExprError> {
        let mut params = Params::default();
        if let Some(names) = names {
            if names.is_empty() {
                return Err(ExprError::new("ExpressionAttributeNames must not be empty"));
            }
            for (key, name) in names {
                if !valid_key(&key, b'#') {
                    return Err(ExprError::new(format!(
                        "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{key}\""
                    )));
                }
                params.names.insert(key, (name, false));
            }
        }
        if let Some(values) = values {
            if values.is_empty() {
                return Err(ExprError::new(
                    "ExpressionAttributeValues must not be empty",
                ));
            }
            for (key, value) in values {
                if !valid_key(&key, b':') {
                    return Err(ExprError::new(format!(
                        "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{key}\""
                    )));
                }
                params.values.insert(key, (value, false));
            }
        }
        Ok(params)
    }

    /// Reads the wire JSON of both maps; an invalid value is reported with its key, as
    /// DynamoDB does ("ExpressionAttributeValues contains invalid value: … for key :v").
    pub fn from_json(names: Option<&Value>, values: Option<&Value>) -> Result<Params, ExprError> {
        let names = match names {
            None | Some(Value::Null) => None,
            Some(names) => Some(
                names
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect(),
            ),
        };
        let values = match values {
            None | Some(Value::Null) => None,
            Some(values) => {
                let mut map = BTreeMap::new();
                for (key, value) in values.as_object().into_iter().flatten() {
                    let value = AttrValue::from_json(value).map_err(|e| {
                        ExprError::new(format!(
                            "ExpressionAttributeValues contains invalid value: {} for key {key}",
                            e.message
                        ))
                    })?;
                    map.insert(key.clone(), value);
                }
                Some(map)
            }
        };
        Params::new(names, values)
    }

    /// Whether the request carried `ExpressionAttributeNames`.
    pub fn has_names(&self) -> bool {
        !self.names.is_empty()
    }

    /// Whether the request carried `ExpressionAttributeValues`.
    pub fn has_values(&self) -> bool {
        !self.values.is_empty()
    }

    /// The attribute name behind `#key`, marking it used.
    pub(crate) fn name(&mut self, key: &str) -> Option<&str> {
        let (name, used) = self.names.get_mut(key)?;
        *used = true;
        Some(name)
    }

    /// The value behind `:key`, marking it used.
    pub(crate) fn value(&mut self, key: &str) -> Option<&AttrValue> {
        let (value, used) = self.values.get_mut(key)?;
        *used = true;
        Some(value)
    }

    /// Fails on names or values that no expression of the request used.
    pub fn finish(&self) -> Result<(), ExprError> {
        let names: Vec<&str> = unused(&self.names);
        if !names.is_empty() {
            return Err(ExprError::new(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                names.join(", ")
            )));
        }
        let values: Vec<&str> = unused(&self.values);
        if !values.is_empty() {
            return Err(ExprError::new(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                values.join(", ")
            )));
        }
        Ok(())
    }
}
