//! Checks and compiles the JSON form of a pattern.

use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::matcher::{Bound, Cidr, Matcher};
use crate::{Field, Node, PatternError, glob};

fn err<T>(message: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError(message.into()))
}

pub fn node(value: &Value) -> Result<Node, PatternError> {
    let Value::Object(object) = value else {
        return err("Filter is not an object");
    };
    object_node(object)
}

fn object_node(object: &Map<String, Value>) -> Result<Node, PatternError> {
    let mut node = Node::default();
    for (key, value) in object {
        if key == "$or" {
            node.any_of.push(or_alternatives(value)?);
            continue;
        }
        let field = match value {
            Value::Object(inner) => Field::Nested(object_node(inner)?),
            Value::Array(items) => Field::Leaf(leaf(key, items)?),
            _ => return err(format!("\"{key}\" must be an object or an array")),
        };
        node.fields.push((key.clone(), field));
    }
    Ok(node)
}

fn or_alternatives(value: &Value) -> Result<Vec<Node>, PatternError> {
    let Value::Array(items) = value else {
        return err("Value of $or must be an array");
    };
    if items.len() < 2 {
        return err("Value of $or must have at least 2 elements");
    }
    items.iter().map(node).collect()
}

fn leaf(key: &str, items: &[Value]) -> Result<Vec<Matcher>, PatternError> {
    if items.is_empty() {
        return err(format!("Empty arrays are not allowed in \"{key}\""));
    }
    items
        .iter()
        .map(|item| match item {
            Value::Object(op) => operator(op),
            Value::Array(_) => err(format!(
                "Match value must be String, number, true, false, or null in \"{key}\""
            )),
            scalar => Ok(Matcher::Exact(scalar.clone())),
        })
        .collect()
}

fn operator(op: &Map<String, Value>) -> Result<Matcher, PatternError> {
    let mut entries = op.iter();
    let (Some((name, arg)), None) = (entries.next(), entries.next()) else {
        return err("Match object must have exactly one operator");
    };
    match name.as_str() {
        "prefix" => affix(arg, "prefix", Matcher::Prefix, Matcher::PrefixIgnoreCase),
        "suffix" => affix(arg, "suffix", Matcher::Suffix, Matcher::SuffixIgnoreCase),
        "equals-ignore-case" => Ok(Matcher::EqualsIgnoreCase(string_arg(arg, name)?)),
        "wildcard" => {
            let pattern = string_arg(arg, name)?;
            glob::validate(&pattern).map_err(|m| PatternError(m.to_owned()))?;
            Ok(Matcher::Wildcard(pattern))
        }
        "exists" => match arg {
            Value::Bool(b) => Ok(Matcher::Exists(*b)),
            _ => err("exists match pattern must be either true or false."),
        },
        "numeric" => numeric(arg),
        "cidr" => cidr(arg),
        "anything-but" => anything_but(arg),
        other => err(format!("Unrecognized match type {other}")),
    }
}

fn string_arg(arg: &Value, name: &str) -> Result<String, PatternError> {
    match arg {
        Value::String(s) => Ok(s.clone()),
        _ => err(format!("{name} match pattern must be a string")),
    }
}

fn affix(
    arg: &Value,
    name: &str,
    plain: fn(String) -> Matcher,
    ignore_case: fn(String) -> Matcher,
) -> Result<Matcher, PatternError> {
    match arg {
        Value::String(s) => Ok(plain(s.clone())),
        Value::Object(inner) => match inner.get("equals-ignore-case") {
            Some(Value::String(s)) if inner.len() == 1 => Ok(ignore_case(s.clone())),
            _ => err(format!(
                "Unsupported {name} pattern: only equals-ignore-case is allowed"
            )),
        },
        _ => err(format!("{name} match pattern must be a string")),
    }
}

fn number(value: &Value) -> Result<f64, PatternError> {
    value
        .as_f64()
        .map_or_else(|| err("Value of numeric operator must be a number"), Ok)
}

fn numeric(arg: &Value) -> Result<Matcher, PatternError> {
    let Value::Array(items) = arg else {
        return err("Value of numeric must be an array.");
    };
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return err("Value of numeric must be an array of one or two operator/value pairs.");
    }
    let mut bounds = Vec::new();
    let (mut lower, mut upper) = (None, None);
    for pair in items.chunks(2) {
        let op = pair[0].as_str().unwrap_or_default();
        let n = number(&pair[1])?;
        let bound = match op {
            "<" => Bound::Lt(n),
            "<=" => Bound::Le(n),
            "=" => Bound::Eq(n),
            ">=" => Bound::Ge(n),
            ">" => Bound::Gt(n),
            _ => return err(format!("Unrecognized numeric range operator: {op}")),
        };
        let slot = match bound {
            Bound::Lt(_) | Bound::Le(_) => &mut upper,
            Bound::Gt(_) | Bound::Ge(_) => &mut lower,
            Bound::Eq(_) if items.len() == 2 => &mut lower,
            Bound::Eq(_) => return err("Value of = must be the only numeric operator"),
        };
        if slot.replace(n).is_some() {
            return err("Too many elements in numeric expression");
        }
        bounds.push(bound);
    }
    if let (Some(lo), Some(hi)) = (lower, upper)
        && lo >= hi
    {
        return err("Bottom must be less than top");
    }
    Ok(Matcher::Numeric(bounds))
}

fn cidr(arg: &Value) -> Result<Matcher, PatternError> {
    let text = string_arg(arg, "cidr")?;
    let invalid = || PatternError(format!("Malformed CIDR, one '/' required: {text}"));
    let (addr, prefix) = text.split_once('/').ok_or_else(invalid)?;
    let network: IpAddr = addr
        .parse()
        .map_err(|_| PatternError(format!("Invalid IP address in CIDR: {text}")))?;
    let max = if network.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = prefix
        .parse()
        .ok()
        .filter(|p| *p <= max)
        .ok_or_else(|| PatternError(format!("Invalid prefix length in CIDR: {text}")))?;
    Ok(Matcher::Cidr(Cidr { network, prefix }))
}

fn anything_but(arg: &Value) -> Result<Matcher, PatternError> {
    let inner = match arg {
        Value::String(_) | Value::Number(_) => vec![Matcher::Exact(arg.clone())],
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Value::String(_) | Value::Number(_) => Ok(Matcher::Exact(item.clone())),
                _ => err("Inside anything but list, start|null|boolean is not supported."),
            })
            .collect::<Result<_, _>>()?,
        Value::Object(op) if matches!(op.get("equals-ignore-case"), Some(Value::Array(_))) => {
            let Some(Value::Array(items)) = op.get("equals-ignore-case") else {
                return err("equals-ignore-case match pattern must be a string");
            };
            items
                .iter()
                .map(|item| string_arg(item, "equals-ignore-case").map(Matcher::EqualsIgnoreCase))
                .collect::<Result<_, _>>()?
        }
        Value::Object(op) => {
            let matcher = operator(op)?;
            match matcher {
                Matcher::Prefix(_)
                | Matcher::Suffix(_)
                | Matcher::EqualsIgnoreCase(_)
                | Matcher::Wildcard(_) => vec![matcher],
                _ => {
                    return err(
                        "Unsupported anything-but pattern: only prefix, suffix, equals-ignore-case and wildcard are allowed",
                    );
                }
            }
        }
        _ => return err("Value of anything-but must be an array or single string/number value."),
    };
    Ok(Matcher::AnythingBut(inner))
}
