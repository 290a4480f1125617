//! Reading item-operation input straight from the request JSON, and setting up its
//! expressions (or the legacy parameters they replace).

use nimbus_core::ServiceError;
use nimbus_dynamodb_expr::{
    Condition, ExprError, Item, Params, Projection, item_from_json, legacy,
};
use serde_json::Value;

use crate::errors::validation;

/// An expression error as the client sees it.
pub fn expr_error(err: ExprError) -> ServiceError {
    validation(err.message)
}

pub fn str_field<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

pub fn bool_field(input: &Value, name: &str) -> bool {
    input.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// A required string member (the protocol layer has checked presence for modelled inputs).
pub fn required_str<'a>(input: &'a Value, name: &str) -> Result<&'a str, ServiceError> {
    str_field(input, name).ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(name)
        ))
    })
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// An item-shaped member (`Item`, `Key`), checked as DynamoDB checks attribute values.
pub fn item_field(input: &Value, name: &str) -> Result<Option<Item>, ServiceError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => item_from_json(value)
            .map(Some)
            .map_err(|e| validation(e.message)),
    }
}

pub fn required_item(input: &Value, name: &str) -> Result<Item, ServiceError> {
    item_field(input, name)?.ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(name)
        ))
    })
}

const LEGACY: &[&str] = &[
    "AttributesToGet",
    "AttributeUpdates",
    "ConditionalOperator",
    "Expected",
    "KeyConditions",
    "QueryFilter",
    "ScanFilter",
];
const EXPRESSIONS: &[&str] = &[
    "ConditionExpression",
    "FilterExpression",
    "KeyConditionExpression",
    "ProjectionExpression",
    "UpdateExpression",
];

/// The request's expression parameters, after checking it does not mix them with legacy ones.
pub fn params(input: &Value) -> Result<Params, ServiceError> {
    let present = |names: &[&'static str]| -> Vec<&'static str> {
        names
            .iter()
            .copied()
            .filter(|n| input.get(*n).is_some_and(|v| !v.is_null()))
            .collect()
    };
    let expressions = present(EXPRESSIONS);
    legacy::check_not_mixed(&present(LEGACY), &expressions).map_err(expr_error)?;
    let names = input.get("ExpressionAttributeNames");
    let values = input.get("ExpressionAttributeValues");
    if expressions.is_empty() {
        if names.is_some_and(|v| !v.is_null()) {
            return Err(validation(
                "ExpressionAttributeNames can only be specified when using expressions",
            ));
        }
        if values.is_some_and(|v| !v.is_null()) {
            return Err(validation(
                "ExpressionAttributeValues can only be specified when using expressions",
            ));
        }
    }
    Params::from_json(names, values).map_err(expr_error)
}

/// `ConditionExpression` or legacy `Expected`.
pub fn condition(input: &Value, params: &mut Params) -> Result<Option<Condition>, ServiceError> {
    if let Some(text) = str_field(input, "ConditionExpression") {
        return Condition::parse(text, params).map(Some).map_err(expr_error);
    }
    match input.get("Expected") {
        Some(expected) if !expected.is_null() => {
            legacy::expected(expected, str_field(input, "ConditionalOperator"))
                .map(Some)
                .map_err(expr_error)
        }
        _ => Ok(None),
    }
}

/// `FilterExpression` or legacy `QueryFilter`/`ScanFilter`.
pub fn filter(
    input: &Value,
    params: &mut Params,
    legacy_name: &str,
) -> Result<Option<Condition>, ServiceError> {
    if let Some(text) = str_field(input, "FilterExpression") {
        return Condition::parse_filter(text, params)
            .map(Some)
            .map_err(expr_error);
    }
    match input.get(legacy_name) {
        Some(filter) if !filter.is_null() => {
            legacy::filter(filter, str_field(input, "ConditionalOperator"))
                .map(Some)
                .map_err(expr_error)
        }
        _ => Ok(None),
    }
}

/// `ProjectionExpression` or legacy `AttributesToGet`.
pub fn projection(input: &Value, params: &mut Params) -> Result<Option<Projection>, ServiceError> {
    if let Some(text) = str_field(input, "ProjectionExpression") {
        return Projection::parse(text, params)
            .map(Some)
            .map_err(expr_error);
    }
    match input.get("AttributesToGet") {
        Some(names) if !names.is_null() => legacy::attributes_to_get(names)
            .map(Some)
            .map_err(expr_error),
        _ => Ok(None),
    }
}

/// `ReturnValues`, checked against what the operation allows.
pub fn return_values(
    input: &Value,
    allowed: &[&str],
    operation: &str,
) -> Result<String, ServiceError> {
    let value = str_field(input, "ReturnValues").unwrap_or("NONE");
    if allowed.contains(&value) {
        return Ok(value.to_owned());
    }
    if ["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"].contains(&value) {
        return Err(validation(format!(
            "ReturnValues can only be {} for {operation}",
            allowed.join(" or ")
        )));
    }
    Err(validation(format!(
        "1 validation error detected: Value '{value}' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"
    )))
}

/// Whether a failed condition should return the item (`ReturnValuesOnConditionCheckFailure`).
pub fn old_on_failure(input: &Value) -> bool {
    str_field(input, "ReturnValuesOnConditionCheckFailure") == Some("ALL_OLD")
}
