//! The parameters older clients still send, converted to the expression structures:
//! `Expected` (+ `ConditionalOperator`), `AttributeUpdates`, `KeyConditions`, `QueryFilter`,
//! `ScanFilter` and `AttributesToGet`. Each function takes the parameter's wire JSON
//! (`serde_json::Value`) as the request carried it.

use serde_json::Value;

use crate::{Condition, ExprError, KeyCondition, Projection, Update};

/// `Expected` with the request's `ConditionalOperator` (`AND` when absent).
pub fn expected(
    expected: &Value,
    conditional_operator: Option<&str>,
) -> Result<Condition, ExprError> {
    let _ = (expected, conditional_operator);
    Err(ExprError::new("Expected is not supported yet"))
}

/// `QueryFilter` or `ScanFilter` with the request's `ConditionalOperator`.
pub fn filter(filter: &Value, conditional_operator: Option<&str>) -> Result<Condition, ExprError> {
    let _ = (filter, conditional_operator);
    Err(ExprError::new(
        "QueryFilter and ScanFilter are not supported yet",
    ))
}

/// `AttributeUpdates`.
pub fn attribute_updates(updates: &Value) -> Result<Update, ExprError> {
    let _ = updates;
    Err(ExprError::new("AttributeUpdates is not supported yet"))
}

/// `KeyConditions`.
pub fn key_conditions(conditions: &Value) -> Result<KeyCondition, ExprError> {
    let _ = conditions;
    Err(ExprError::new("KeyConditions is not supported yet"))
}

/// `AttributesToGet`.
pub fn attributes_to_get(names: &Value) -> Result<Projection, ExprError> {
    let _ = names;
    Err(ExprError::new("AttributesToGet is not supported yet"))
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
