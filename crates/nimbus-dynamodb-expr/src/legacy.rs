//! The parameters older clients still send, converted to the expression structures:
//! `Expected` (+ `ConditionalOperator`), `AttributeUpdates`, `KeyConditions`, `QueryFilter`,
//! `ScanFilter` and `AttributesToGet`. Each function takes the parameter's wire JSON
//! (`serde_json::Value`) as the request carried it, and checks it with DynamoDB's messages.

use serde_json::{Map, Value};

use crate::compare::compare_values;
use crate::condition::{Comparator, Cond, Operand};
use crate::key::from_conditions;
use crate::parser::type_code;
use crate::update::Action;
use crate::{
    AttrValue, Condition, ExprError, KeyCondition, Path, Projection, SortCondition, Update,
};

fn invalid(detail: impl std::fmt::Display) -> ExprError {
    ExprError::new(format!(
        "One or more parameter values were invalid: {detail}"
    ))
}

fn entries<'a>(value: &'a Value, parameter: &str) -> Result<&'a Map<String, Value>, ExprError> {
    value.as_object().ok_or_else(|| {
        ExprError::new(format!(
            "{parameter} must be a map of attribute names to conditions"
        ))
    })
}

fn attr_value(value: &Value) -> Result<AttrValue, ExprError> {
    Ok(AttrValue::from_json(value)?)
}

/// `Expected` with the request's `ConditionalOperator` (`AND` when absent).
pub fn expected(
    expected: &Value,
    conditional_operator: Option<&str>,
) -> Result<Condition, ExprError> {
    let mut conditions = Vec::new();
    for (name, spec) in entries(expected, "Expected")? {
        let has = |member: &str| spec.get(member).is_some_and(|v| !v.is_null());
        if has("AttributeValueList") && has("Value") {
            return Err(invalid(format!(
                "Value and AttributeValueList cannot be used together for Attribute: {name}"
            )));
        }
        if has("ComparisonOperator") {
            if has("Exists") {
                return Err(invalid(format!(
                    "Exists and ComparisonOperator cannot be used together for Attribute: {name}"
                )));
            }
            let operator = spec["ComparisonOperator"].as_str().unwrap_or_default();
            if !matches!(operator, "NULL" | "NOT_NULL")
                && !has("AttributeValueList")
                && !has("Value")
            {
                return Err(invalid(format!(
                    "Value or AttributeValueList must be used with ComparisonOperator: {operator} for Attribute: {name}"
                )));
            }
            let values = if has("Value") {
                vec![attr_value(&spec["Value"])?]
            } else {
                value_list(spec)?
            };
            conditions.push(comparison(name, operator, values, "expected")?);
        } else if has("AttributeValueList") {
            return Err(invalid(format!(
                "AttributeValueList can only be used with a ComparisonOperator for Attribute: {name}"
            )));
        } else {
            let exists = spec.get("Exists").and_then(Value::as_bool);
            match (exists.unwrap_or(true), has("Value")) {
                (true, false) => {
                    let shown = exists.map_or("null".to_owned(), |e| e.to_string());
                    return Err(invalid(format!(
                        "Value must be provided when Exists is {shown} for Attribute: {name}"
                    )));
                }
                (false, true) => {
                    return Err(invalid(format!(
                        "Value cannot be used when Exists is false for Attribute: {name}"
                    )));
                }
                (true, true) => conditions.push(Cond::Compare(
                    Comparator::Eq,
                    Operand::Path(Path::attribute(name.clone())),
                    Operand::Value(attr_value(&spec["Value"])?),
                )),
                (false, false) => conditions.push(Cond::NotExists(Path::attribute(name.clone()))),
            }
        }
    }
    combine(conditions, conditional_operator)
}

/// `QueryFilter` or `ScanFilter` with the request's `ConditionalOperator`.
pub fn filter(filter: &Value, conditional_operator: Option<&str>) -> Result<Condition, ExprError> {
    let mut conditions = Vec::new();
    for (name, spec) in entries(filter, "Filter")? {
        let operator = spec
            .get("ComparisonOperator")
            .and_then(Value::as_str)
            .unwrap_or_default();
        conditions.push(comparison(name, operator, value_list(spec)?, "filter")?);
    }
    combine(conditions, conditional_operator)
}

fn value_list(spec: &Value) -> Result<Vec<AttrValue>, ExprError> {
    spec.get("AttributeValueList")
        .and_then(Value::as_array)
        .map_or(Ok(Vec::new()), |list| list.iter().map(attr_value).collect())
}

/// Joins per-attribute conditions with `AND` (the default) or `OR`.
fn combine(conditions: Vec<Cond>, operator: Option<&str>) -> Result<Condition, ExprError> {
    let or = match operator {
        None | Some("AND") => false,
        Some("OR") => true,
        Some(other) => {
            return Err(ExprError::new(format!(
                "1 validation error detected: Value '{other}' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [OR, AND]"
            )));
        }
    };
    let root = conditions
        .into_iter()
        .reduce(|a, b| {
            if or {
                Cond::Or(Box::new(a), Box::new(b))
            } else {
                Cond::And(Box::new(a), Box::new(b))
            }
        })
        .unwrap_or(Cond::Always);
    Ok(Condition { root })
}

const OPERATORS: &str =
    "[IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]";

/// Checks an operator's values as DynamoDB does: their number, one type, types the
/// operator accepts, and BETWEEN's order.
fn check_values(
    operator: &str,
    values: &[AttrValue],
    name: &str,
    parameter: &str,
) -> Result<(), ExprError> {
    let (arity_ok, types): (bool, &[&str]) = match operator {
        "NULL" | "NOT_NULL" => (values.is_empty(), &[]),
        "EQ" | "NE" => (values.len() == 1, &["S", "N", "B", "SS", "NS", "BS"]),
        "LE" | "LT" | "GE" | "GT" | "CONTAINS" | "NOT_CONTAINS" => {
            (values.len() == 1, &["S", "N", "B"])
        }
        "BEGINS_WITH" => (values.len() == 1, &["S", "B"]),
        "IN" => (!values.is_empty(), &["S", "N", "B"]),
        "BETWEEN" => (values.len() == 2, &["S", "N", "B"]),
        other => {
            return Err(ExprError::new(format!(
                "1 validation error detected: Value '{other}' at '{parameter}.{name}.member.comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: {OPERATORS}"
            )));
        }
    };
    if !arity_ok {
        return Err(invalid(format!(
            "Invalid number of argument(s) for the {operator} ComparisonOperator"
        )));
    }
    if let Some(first) = values.first()
        && values.iter().any(|v| type_code(v) != type_code(first))
    {
        return Err(invalid(
            "AttributeValues inside AttributeValueList must be of same type",
        ));
    }
    if let Some(bad) = values.iter().find(|v| !types.contains(&type_code(v))) {
        return Err(invalid(format!(
            "ComparisonOperator {operator} is not valid for {} AttributeValue type",
            type_code(bad)
        )));
    }
    if operator == "BETWEEN"
        && compare_values(&values[0], &values[1]) == Some(std::cmp::Ordering::Greater)
    {
        return Err(ExprError::new(
            "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
        ));
    }
    Ok(())
}

/// One attribute's `ComparisonOperator` + `AttributeValueList` as a condition.
fn comparison(
    name: &str,
    operator: &str,
    values: Vec<AttrValue>,
    parameter: &str,
) -> Result<Cond, ExprError> {
    check_values(operator, &values, name, parameter)?;
    let path = || Operand::Path(Path::attribute(name));
    let mut values: Vec<Operand> = values.into_iter().map(Operand::Value).collect();
    if operator == "IN" {
        return Ok(Cond::In(path(), values));
    }
    values.reverse();
    let mut next = || values.pop().unwrap_or(Operand::Value(AttrValue::Null));
    Ok(match operator {
        "NULL" => Cond::NotExists(Path::attribute(name)),
        "NOT_NULL" => Cond::Exists(Path::attribute(name)),
        "CONTAINS" => Cond::Contains(path(), next()),
        "NOT_CONTAINS" => Cond::NotContains(path(), next()),
        "BEGINS_WITH" => Cond::BeginsWith(path(), next()),
        "BETWEEN" => {
            let low = next();
            Cond::Between(path(), low, next())
        }
        other => {
            let op = match other {
                "EQ" => Comparator::Eq,
                "NE" => Comparator::Ne,
                "LE" => Comparator::Le,
                "LT" => Comparator::Lt,
                "GE" => Comparator::Ge,
                _ => Comparator::Gt,
            };
            Cond::Compare(op, path(), next())
        }
    })
}

/// `AttributeUpdates`: `PUT` (the default) sets, `ADD` adds to a number or set (or appends
/// to a list), `DELETE` removes the attribute or, with a set value, those elements.
pub fn attribute_updates(updates: &Value) -> Result<Update, ExprError> {
    let mut actions = Vec::new();
    for (name, spec) in entries(updates, "AttributeUpdates")? {
        let value = match spec.get("Value") {
            Some(v) if !v.is_null() => Some(attr_value(v)?),
            _ => None,
        };
        let action = spec.get("Action").and_then(Value::as_str).unwrap_or("PUT");
        let path = Path::attribute(name.clone());
        actions.push(match (action, value) {
            ("DELETE", None) => Action::Remove(path),
            (_, None) => {
                return Err(invalid(
                    "Only DELETE action is allowed when no attribute value is specified",
                ));
            }
            ("PUT", Some(value)) => Action::Set(path, crate::update::SetValue::Operand(
                crate::update::SetOperand::Value(value),
            )),
            ("ADD", Some(value)) => {
                if !matches!(value, AttrValue::L(_) | AttrValue::Ss(_) | AttrValue::Ns(_) | AttrValue::Bs(_) | AttrValue::N(_)) {
                    return Err(invalid(format!(
                        "ADD action is not supported for the type {}",
                        type_code(&value)
                    )));
                }
                Action::LegacyAdd(path, value)
            }
            ("DELETE", Some(value)) => {
                if !matches!(value, AttrValue::Ss(_) | AttrValue::Ns(_) | AttrValue::Bs(_)) {
                    return Err(invalid(format!(
                        "DELETE action with value is not supported for the type {}",
                        type_code(&value)
                    )));
                }
                Action::LegacyDelete(path, value)
            }
            (other, Some(_)) => {
                return Err(ExprError::new(format!(
                    "1 validation error detected: Value '{other}' at 'attributeUpdates.{name}.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"
                )));
            }
        });
    }
    Ok(Update { actions })
}

/// `KeyConditions`, the first equality taken as the partition key (see
/// [`key_conditions_for_schema`]).
pub fn key_conditions(conditions: &Value) -> Result<KeyCondition, ExprError> {
    let parsed = key_condition_list(conditions)?;
    let first_eq = parsed
        .iter()
        .position(|(_, c)| matches!(c, SortCondition::Eq(_)))
        .ok_or_else(|| ExprError::new("Query key condition not supported"))?;
    let partition = parsed[first_eq].0.clone();
    let sort = parsed
        .iter()
        .find(|(n, _)| *n != partition)
        .map(|(n, _)| n.clone());
    from_conditions(parsed, &partition, sort.as_deref())
}

/// `KeyConditions` for a table or index keyed by `partition_key` and optionally `sort_key`.
pub fn key_conditions_for_schema(
    conditions: &Value,
    partition_key: &str,
    sort_key: Option<&str>,
) -> Result<KeyCondition, ExprError> {
    from_conditions(key_condition_list(conditions)?, partition_key, sort_key)
}

fn key_condition_list(conditions: &Value) -> Result<Vec<(String, SortCondition)>, ExprError> {
    let mut out = Vec::new();
    for (name, spec) in entries(conditions, "KeyConditions")? {
        let operator = spec
            .get("ComparisonOperator")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let values = value_list(spec)?;
        check_values(operator, &values, name, "keyConditions")?;
        let mut values = values.into_iter();
        let mut next = || values.next().unwrap_or(AttrValue::Null);
        let condition = match operator {
            "EQ" => SortCondition::Eq(next()),
            "LE" => SortCondition::Le(next()),
            "LT" => SortCondition::Lt(next()),
            "GE" => SortCondition::Ge(next()),
            "GT" => SortCondition::Gt(next()),
            "BEGINS_WITH" => SortCondition::BeginsWith(next()),
            "BETWEEN" => {
                let low = next();
                SortCondition::Between(low, next())
            }
            _ => {
                return Err(ExprError::new(
                    "Attempted conditional constraint is not an indexable operation",
                ));
            }
        };
        out.push((name.clone(), condition));
    }
    if !(1..=2).contains(&out.len()) {
        return Err(ExprError::new("Conditions can be of length 1 or 2 only"));
    }
    Ok(out)
}

/// `AttributesToGet`: a list of top-level attribute names, without duplicates.
pub fn attributes_to_get(names: &Value) -> Result<Projection, ExprError> {
    let names: Vec<String> = names
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(invalid(format!(
                "Duplicate value in attribute name: {name}"
            )));
        }
    }
    Ok(Projection::of_attributes(names))
}

/// Fails when a request mixes expression and non-expression parameters: `legacy` and
/// `expressions` name the parameters the request carried, in the order DynamoDB lists them.
pub fn check_not_mixed(legacy: &[&str], expressions: &[&str]) -> Result<(), ExprError> {
    if legacy.is_empty() || expressions.is_empty() {
        return Ok(());
    }
    Err(ExprError::new(format!(
        "Can not use both expression and non-expression parameters in the same request: \
         Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
        legacy.join(", "),
        expressions.join(", ")
    )))
}
