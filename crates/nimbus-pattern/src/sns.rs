//! SNS filter policies: the event-pattern language with SNS's limits, applied to a message's
//! attributes (`FilterPolicyScope=MessageAttributes`, the default) or to its JSON body
//! (`MessageBody`).
//!
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html>

use serde_json::{Map, Value};

use crate::{Field, Pattern, PatternError};

/// At most this many keys in one policy.
pub const MAX_KEYS: usize = 5;
/// At most this many value combinations in one policy.
pub const MAX_COMBINATIONS: usize = 150;
/// Numeric values in a policy lie within ±1e9.
const MAX_NUMBER: f64 = 1e9;

/// What a filter policy applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    MessageAttributes,
    MessageBody,
}

impl Scope {
    /// Parses `FilterPolicyScope`.
    pub fn parse(text: &str) -> Option<Scope> {
        match text {
            "MessageAttributes" => Some(Scope::MessageAttributes),
            "MessageBody" => Some(Scope::MessageBody),
            _ => None,
        }
    }
}

/// A message attribute as the filter sees it.
#[derive(Debug, Clone, Copy)]
pub struct Attribute<'a> {
    pub name: &'a str,
    /// `String`, `Number`, `Binary`, `String.Array`, possibly with a custom suffix.
    pub data_type: &'a str,
    pub string_value: Option<&'a str>,
}

/// A checked filter policy.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPolicy {
    pattern: Pattern,
    scope: Scope,
}

impl FilterPolicy {
    /// Parses and checks a policy; the error text is what follows AWS's
    /// `Invalid parameter: FilterPolicy: `.
    pub fn parse(text: &str, scope: Scope) -> Result<FilterPolicy, PatternError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|_| PatternError("failed to parse JSON.".to_owned()))?;
        let Value::Object(object) = &value else {
            return Err(PatternError(
                "Filter policy must be a JSON object".to_owned(),
            ));
        };
        if object.is_empty() {
            return Err(PatternError("Filter policy can not be empty".to_owned()));
        }
        check_numbers(&value)?;
        let pattern = Pattern::parse(&value)?;
        if scope == Scope::MessageAttributes
            && pattern
                .root()
                .fields
                .iter()
                .any(|(_, f)| matches!(f, Field::Nested(_)))
        {
            return Err(PatternError(
                "Filter policy scope MessageAttributes does not support nested filter policy"
                    .to_owned(),
            ));
        }
        if pattern.key_count() > MAX_KEYS {
            return Err(PatternError(format!(
                "Filter policy can not have more than {MAX_KEYS} keys"
            )));
        }
        if pattern.combinations() > MAX_COMBINATIONS {
            return Err(PatternError("Filter policy is too complex".to_owned()));
        }
        Ok(FilterPolicy { pattern, scope })
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// Whether a message passes the policy.
    pub fn matches(&self, body: &str, attributes: &[Attribute<'_>]) -> bool {
        match self.scope {
            Scope::MessageAttributes => self.pattern.matches(&attributes_event(attributes)),
            Scope::MessageBody => serde_json::from_str::<Value>(body)
                .is_ok_and(|event| event.is_object() && self.pattern.matches(&event)),
        }
    }
}

/// Turns message attributes into the JSON object the pattern runs on: strings stay strings,
/// numbers become numbers, `String.Array` values become arrays, binary values are not
/// filterable and are left out.
pub fn attributes_event(attributes: &[Attribute<'_>]) -> Value {
    let mut object = Map::new();
    for attribute in attributes {
        let Some(text) = attribute.string_value else {
            continue;
        };
        let value = if attribute.data_type.starts_with("String.Array") {
            match serde_json::from_str::<Value>(text) {
                Ok(array @ Value::Array(_)) => array,
                _ => Value::String(text.to_owned()),
            }
        } else if attribute.data_type.starts_with("Number") {
            text.trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| Value::String(text.to_owned()), Value::Number)
        } else if attribute.data_type.starts_with("String") {
            Value::String(text.to_owned())
        } else {
            continue;
        };
        object.insert(attribute.name.to_owned(), value);
    }
    Value::Object(object)
}

fn check_numbers(value: &Value) -> Result<(), PatternError> {
    match value {
        Value::Number(n) if n.as_f64().is_some_and(|n| n.abs() > MAX_NUMBER) => Err(PatternError(
            "Numeric value must be within the range -1,000,000,000 to 1,000,000,000".to_owned(),
        )),
        Value::Array(items) => items.iter().try_for_each(check_numbers),
        Value::Object(map) => map.values().try_for_each(check_numbers),
        _ => Ok(()),
    }
}
