//! One pattern engine for every place AWS matches JSON against a pattern: EventBridge rules,
//! Lambda event filters and SNS filter policies.
//!
//! [`Pattern::parse`] checks a pattern in the EventBridge event-pattern language and compiles
//! it into a tree of fields and matchers; [`Pattern::matches`] runs it against a JSON event by
//! interpretation. SNS filter policies ([`sns::FilterPolicy`]) are the same language with
//! SNS's own limits, applied either to the message attributes or to the message body.

mod glob;
mod matcher;
mod parse;
pub mod sns;

use serde_json::Value;

pub use matcher::Matcher;

/// Why a pattern was refused; the text follows AWS's wording where it is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatternError(pub String);

/// A compiled event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    root: Node,
}

/// An object level of a pattern: every field must match, and each `$or` group must have one
/// alternative that matches.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Node {
    pub(crate) fields: Vec<(String, Field)>,
    pub(crate) any_of: Vec<Vec<Node>>,
}

/// What a pattern says about one key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    /// The event value is an object matched by a nested pattern.
    Nested(Node),
    /// The event value (or one element of it, when it is an array) matches one of these.
    Leaf(Vec<Matcher>),
}

impl Pattern {
    /// Parses a pattern given as JSON text.
    pub fn parse_str(text: &str) -> Result<Pattern, PatternError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| PatternError(format!("Event pattern is not valid JSON: {e}")))?;
        Self::parse(&value)
    }

    /// Parses a pattern given as a JSON value.
    pub fn parse(value: &Value) -> Result<Pattern, PatternError> {
        Ok(Pattern {
            root: parse::node(value)?,
        })
    }

    /// Whether `event` matches the pattern.
    pub fn matches(&self, event: &Value) -> bool {
        node_matches(&self.root, event)
    }

    /// The number of value combinations the pattern expands to (SNS's complexity measure):
    /// the product over keys of their value counts, summed over `$or` alternatives.
    pub fn combinations(&self) -> usize {
        node_combinations(&self.root)
    }

    /// The number of leaf keys the pattern names (SNS allows five).
    pub fn key_count(&self) -> usize {
        node_keys(&self.root)
    }

    pub(crate) fn root(&self) -> &Node {
        &self.root
    }
}

fn node_matches(node: &Node, event: &Value) -> bool {
    let object = event.as_object();
    let fields_match = node.fields.iter().all(|(key, field)| {
        let value = object.and_then(|o| o.get(key));
        match field {
            Field::Nested(inner) => match value {
                Some(Value::Array(items)) => items.iter().any(|item| node_matches(inner, item)),
                Some(value @ Value::Object(_)) => node_matches(inner, value),
                // A nested pattern over a missing key still matches when everything under it
                // only asks for absence (`"a": {"b": [{"exists": false}]}`).
                _ => node_matches(inner, &Value::Null),
            },
            Field::Leaf(matchers) => leaf_matches(matchers, value),
        }
    });
    fields_match
        && node
            .any_of
            .iter()
            .all(|alternatives| alternatives.iter().any(|alt| node_matches(alt, event)))
}

fn leaf_matches(matchers: &[Matcher], value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Object(_)) => matchers.iter().any(Matcher::matches_absent),
        Some(Value::Array(items)) if items.is_empty() => {
            matchers.iter().any(Matcher::matches_absent)
        }
        Some(Value::Array(items)) => items
            .iter()
            .any(|item| matchers.iter().any(|m| m.matches_value(item))),
        Some(value) => matchers.iter().any(|m| m.matches_value(value)),
    }
}

fn node_combinations(node: &Node) -> usize {
    let own = node.fields.iter().fold(1usize, |acc, (_, field)| {
        let n = match field {
            Field::Nested(inner) => node_combinations(inner),
            Field::Leaf(matchers) => matchers.len().max(1),
        };
        acc.saturating_mul(n)
    });
    node.any_of.iter().fold(own, |acc, alternatives| {
        let sum = alternatives
            .iter()
            .map(node_combinations)
            .fold(0usize, usize::saturating_add);
        acc.saturating_mul(sum.max(1))
    })
}

fn node_keys(node: &Node) -> usize {
    let own: usize = node
        .fields
        .iter()
        .map(|(_, field)| match field {
            Field::Nested(inner) => node_keys(inner),
            Field::Leaf(_) => 1,
        })
        .sum();
    let alternatives: usize = node
        .any_of
        .iter()
        .map(|alts| alts.iter().map(node_keys).sum::<usize>())
        .sum();
    own + alternatives
}
