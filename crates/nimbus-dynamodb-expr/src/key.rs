//! Key condition expressions: the partition key equality and an optional sort key range.

use crate::condition::{Comparator, Cond, Operand};
use crate::{AttrValue, ExprError, Params, Path, cond_parse};

/// A parsed `KeyConditionExpression` (or legacy `KeyConditions`).
///
/// The text alone does not say which attribute is the partition key (`a = :x AND b = :y`):
/// [`KeyCondition::parse`] takes the first equality as the partition key; the service
/// should use [`KeyCondition::parse_for_schema`] (or [`KeyCondition::for_key_schema`]),
/// which orients the conditions by the key schema with DynamoDB's errors.
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

fn error(message: &str) -> ExprError {
    ExprError::new(message)
}

impl KeyCondition {
    /// Parses a `KeyConditionExpression`; the first equality is taken as the partition key.
    pub fn parse(text: &str, params: &mut Params) -> Result<KeyCondition, ExprError> {
        let conditions = parse_conditions(text, params)?;
        let first_eq = conditions
            .iter()
            .position(|(_, c)| matches!(c, SortCondition::Eq(_)))
            .ok_or_else(|| error("Query key condition not supported"))?;
        let mut conditions = conditions;
        let (name, SortCondition::Eq(value)) = conditions.remove(first_eq) else {
            return Err(error("Query key condition not supported"));
        };
        Ok(KeyCondition {
            partition: (name, value),
            sort: conditions.pop(),
        })
    }

    /// Parses a `KeyConditionExpression` for a table or index keyed by `partition_key` and
    /// optionally `sort_key`.
    pub fn parse_for_schema(
        text: &str,
        params: &mut Params,
        partition_key: &str,
        sort_key: Option<&str>,
    ) -> Result<KeyCondition, ExprError> {
        from_conditions(parse_conditions(text, params)?, partition_key, sort_key)
    }

    /// Re-orients the condition by the key schema (`partition_key`, `sort_key`), with
    /// DynamoDB's errors for conditions that do not fit it.
    pub fn for_key_schema(
        self,
        partition_key: &str,
        sort_key: Option<&str>,
    ) -> Result<KeyCondition, ExprError> {
        let (name, value) = self.partition;
        let mut conditions = vec![(name, SortCondition::Eq(value))];
        conditions.extend(self.sort);
        from_conditions(conditions, partition_key, sort_key)
    }

    /// The condition's attributes with their conditions, partition key first.
    pub fn conditions(&self) -> Vec<(&str, SortCondition)> {
        let mut out = vec![(
            self.partition.0.as_str(),
            SortCondition::Eq(self.partition.1.clone()),
        )];
        if let Some((name, condition)) = &self.sort {
            out.push((name.as_str(), condition.clone()));
        }
        out
    }
}

/// Builds the key condition from per-attribute conditions, as DynamoDB checks a query's
/// conditions against the key schema.
pub(crate) fn from_conditions(
    mut conditions: Vec<(String, SortCondition)>,
    partition_key: &str,
    sort_key: Option<&str>,
) -> Result<KeyCondition, ExprError> {
    if sort_key.is_none() && conditions.len() > 1 {
        return Err(error("Query key condition not supported"));
    }
    let Some(at) = conditions.iter().position(|(n, _)| n == partition_key) else {
        return Err(ExprError::new(format!(
            "Query condition missed key schema element: {partition_key}"
        )));
    };
    let (name, condition) = conditions.remove(at);
    let SortCondition::Eq(value) = condition else {
        return Err(error("Query key condition not supported"));
    };
    let sort = match (conditions.pop(), sort_key) {
        (None, _) => None,
        (Some((name, condition)), Some(sort_key)) if name == sort_key => Some((name, condition)),
        (Some(_), Some(sort_key)) => {
            return Err(ExprError::new(format!(
                "Query condition missed key schema element: {sort_key}"
            )));
        }
        (Some(_), None) => return Err(error("Query key condition not supported")),
    };
    Ok(KeyCondition {
        partition: (name, value),
        sort,
    })
}

fn parse_conditions(
    text: &str,
    params: &mut Params,
) -> Result<Vec<(String, SortCondition)>, ExprError> {
    let root = cond_parse::parse(text, params, "KeyConditionExpression")?;
    let mut conditions = Vec::new();
    collect(&root, &mut conditions).map_err(ExprError::new)?;
    if conditions.len() > 2 {
        return Err(error("Conditions can be of length 1 or 2 only"));
    }
    Ok(conditions)
}

fn invalid_operator(name: &str) -> String {
    format!("Invalid operator used in KeyConditionExpression: {name}")
}

/// The one key attribute an operand list names, and the values, in order.
fn key_and_values<'a>(
    operands: &[&'a Operand],
) -> Result<(&'a Path, usize, Vec<AttrValue>), String> {
    let mut key: Option<(&Path, usize)> = None;
    let mut values = Vec::new();
    for (i, operand) in operands.iter().enumerate() {
        match operand {
            Operand::Size(_) => {
                return Err("KeyConditionExpressions cannot contain nested operations".to_owned());
            }
            Operand::Value(value) => values.push(value.clone()),
            Operand::Path(path) => {
                if key.is_some() {
                    return Err(
                        "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"
                            .to_owned(),
                    );
                }
                if path.is_nested() {
                    return Err(
                        "KeyConditionExpressions cannot have conditions on nested attributes"
                            .to_owned(),
                    );
                }
                key = Some((path, i));
            }
        }
    }
    let (path, at) = key.ok_or_else(|| {
        "Invalid condition in KeyConditionExpression: No key attribute specified".to_owned()
    })?;
    Ok((path, at, values))
}

fn collect(cond: &Cond, out: &mut Vec<(String, SortCondition)>) -> Result<(), String> {
    let (path, condition) = match cond {
        Cond::And(a, b) => {
            collect(a, out)?;
            return collect(b, out);
        }
        Cond::Or(..) => return Err(invalid_operator("OR")),
        Cond::Not(_) => return Err(invalid_operator("NOT")),
        Cond::In(..) => return Err(invalid_operator("IN")),
        Cond::Compare(Comparator::Ne, ..) => return Err(invalid_operator("<>")),
        Cond::Exists(_) => return Err(invalid_operator("attribute_exists")),
        Cond::NotExists(_) => return Err(invalid_operator("attribute_not_exists")),
        Cond::Type(..) => return Err(invalid_operator("attribute_type")),
        Cond::Contains(..) | Cond::NotContains(..) => return Err(invalid_operator("contains")),
        Cond::Always | Cond::Misused(_) | Cond::Invalid => {
            return Err(invalid_operator("size"));
        }
        Cond::Compare(op, a, b) => {
            let (path, at, mut values) = key_and_values(&[a, b])?;
            let value = values.pop().unwrap_or(AttrValue::Null);
            // `:v < k` means `k > :v`.
            let op = if at == 0 { *op } else { op.flipped() };
            let condition = match op {
                Comparator::Eq => SortCondition::Eq(value),
                Comparator::Lt => SortCondition::Lt(value),
                Comparator::Le => SortCondition::Le(value),
                Comparator::Gt => SortCondition::Gt(value),
                _ => SortCondition::Ge(value),
            };
            (path, condition)
        }
        Cond::Between(x, low, high) => {
            if !matches!(x, Operand::Path(_)) {
                return Err(
                    "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand"
                        .to_owned(),
                );
            }
            let (path, _, mut values) = key_and_values(&[x, low, high])?;
            let high = values.pop().unwrap_or(AttrValue::Null);
            let low = values.pop().unwrap_or(AttrValue::Null);
            (path, SortCondition::Between(low, high))
        }
        Cond::BeginsWith(x, prefix) => {
            if !matches!(x, Operand::Path(_)) {
                return Err(
                    "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand"
                        .to_owned(),
                );
            }
            let (path, _, mut values) = key_and_values(&[x, prefix])?;
            (
                path,
                SortCondition::BeginsWith(values.pop().unwrap_or(AttrValue::Null)),
            )
        }
    };
    let name = path.head();
    if out.iter().any(|(n, _)| n == name) {
        return Err("KeyConditionExpressions must only contain one condition per key".to_owned());
    }
    out.push((name.to_owned(), condition));
    Ok(())
}

impl Comparator {
    /// The comparator with its operands swapped.
    fn flipped(self) -> Comparator {
        match self {
            Comparator::Lt => Comparator::Gt,
            Comparator::Le => Comparator::Ge,
            Comparator::Gt => Comparator::Lt,
            Comparator::Ge => Comparator::Le,
            other => other,
        }
    }
}
