//! Key condition expressions: the partition key equality and an optional sort key range.

use crate::{AttrValue, ExprError, Params};

/// A parsed `KeyConditionExpression` (or legacy `KeyConditions`).
///
/// The text alone does not say which attribute is the partition key (`a = :x AND b = :y`);
/// [`KeyCondition::parse`] takes the first equality, and the service calls
/// [`KeyCondition::for_key_schema`] to orient it against the table or index key schema.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyCondition {
    pub partition: (String, AttrValue),
    pub sort: Option<(String, SortCondition)>,
}

/// The condition on the sort key.
#[derive(Debug, Clone, PartialEq)]
pub enum SortCondition {
    Eq(AttrValue),
    Lt(AttrValue),
    Le(AttrValue),
    Gt(AttrValue),
    Ge(AttrValue),
    Between(AttrValue, AttrValue),
    BeginsWith(AttrValue),
}

impl KeyCondition {
    /// Parses a `KeyConditionExpression`.
    pub fn parse(text: &str, params: &mut Params) -> Result<KeyCondition, ExprError> {
        let _ = (text, params);
        Err(ExprError::new(
            "KeyConditionExpression is not supported yet",
        ))
    }

    /// Orients the condition against the key schema (`partition_key`, `sort_key`), with
    /// DynamoDB's errors for conditions that do not fit it.
    pub fn for_key_schema(
        self,
        partition_key: &str,
        sort_key: Option<&str>,
    ) -> Result<KeyCondition, ExprError> {
        let _ = (partition_key, sort_key);
        Err(ExprError::new(
            "KeyConditionExpression is not supported yet",
        ))
    }
}
