//! Checks canonical input against the shape tables: member types, required members and the
//! documented min/max. Failures become the error AWS gives for the protocol family:
//! awsQuery-compatible services (SQS, CloudWatch) answer `MissingParameter` /
//! `InvalidParameterValue`, awsQuery services `ValidationError`, the others
//! `ValidationException` (bad types: `SerializationException`), with AWS's
//! "1 validation error detected" wording.
//!
//! Enum membership is left to the services: they answer with their own codes
//! (SQS `InvalidAttributeName`), and model enum lists lag behind what clients send.

use nimbus_core::ServiceError;
use nimbus_model::{ServiceModel, Shape, ShapeKind};
use serde_json::Value;

use crate::{Protocol, timestamp};

/// Validates `input` (and normalises timestamps to epoch seconds) against `shape`.
pub fn check(
    service: &ServiceModel,
    protocol: Protocol,
    shape: &'static Shape,
    input: &mut Value,
) -> Result<(), ServiceError> {
    let checker = Checker { service, protocol };
    checker.value(shape, input, &Path::Root, 0, None)
}

/// Where a value sits in the input (`TableName`, `Item.pk.value.S`, `Entries.1.member.Id`),
/// spelled out only when an error names it: valid input, the common case, allocates nothing
/// for its paths.
enum Path<'p> {
    Root,
    Member(&'p Path<'p>, &'p str),
    ListItem(&'p Path<'p>, usize),
    MapKey(&'p Path<'p>, &'p str),
    MapValue(&'p Path<'p>, &'p str),
}

impl Path<'_> {
    fn render(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Member(Path::Root, name) => (*name).to_owned(),
            Path::Member(parent, name) => format!("{}.{name}", parent.render()),
            Path::ListItem(parent, index) => format!("{}.{}.member", parent.render(), index + 1),
            Path::MapKey(parent, key) => format!("{}.{key}.key", parent.render()),
            Path::MapValue(parent, key) => format!("{}.{key}.value", parent.render()),
        }
    }
}

struct Checker<'a> {
    service: &'a ServiceModel,
    protocol: Protocol,
}

/// Nesting limit: deeper input is refused rather than risking the stack.
const MAX_DEPTH: usize = 64;

impl Checker<'_> {
    /// `dots` counts the dots of the rendered path, which bounds the nesting.
    fn value(
        &self,
        shape: &'static Shape,
        value: &mut Value,
        path: &Path<'_>,
        dots: usize,
        member: Option<&str>,
    ) -> Result<(), ServiceError> {
        if dots > MAX_DEPTH {
            return Err(self.type_error(path, member, "input is nested too deeply"));
        }
        match (&shape.kind, &mut *value) {
            (_, Value::Null) => Ok(()),
            (ShapeKind::Structure { members, .. }, Value::Object(map)) => {
                let child_dots = if matches!(path, Path::Root) {
                    dots
                } else {
                    dots + 1
                };
                for m in members.iter() {
                    let child = Path::Member(path, m.name);
                    match map.get_mut(m.name) {
                        Some(v) if !v.is_null() => {
                            self.value(m.target, v, &child, child_dots, Some(m.name))?;
                        }
                        _ if m.required => return Err(self.missing(&child, m.name)),
                        _ => {}
                    }
                }
                Ok(())
            }
            (ShapeKind::List { member: item, .. }, Value::Array(items)) => {
                self.length(shape, items.len() as i64, path, member, "length")?;
                for (i, v) in items.iter_mut().enumerate() {
                    self.value(item, v, &Path::ListItem(path, i), dots + 2, member)?;
                }
                Ok(())
            }
            (
                ShapeKind::Map {
                    key, value: item, ..
                },
                Value::Object(map),
            ) => {
                self.length(shape, map.len() as i64, path, member, "length")?;
                for (k, v) in map.iter_mut() {
                    // A key's own dots count too, as they do in the rendered path.
                    let child_dots = dots + 2 + k.matches('.').count();
                    let mut key_value = Value::String(k.clone());
                    self.value(
                        key,
                        &mut key_value,
                        &Path::MapKey(path, k),
                        child_dots,
                        member,
                    )?;
                    self.value(item, v, &Path::MapValue(path, k), child_dots, member)?;
                }
                Ok(())
            }
            (ShapeKind::String { .. }, Value::String(s)) => {
                self.length(shape, s.chars().count() as i64, path, member, "length")
            }
            (ShapeKind::Blob, Value::String(s)) => {
                self.length(shape, s.len() as i64 * 3 / 4, path, member, "length")
            }
            (ShapeKind::Integer | ShapeKind::Long, Value::Number(n)) => match n.as_i64() {
                Some(v) if matches!(shape.kind, ShapeKind::Long) || i32::try_from(v).is_ok() => {
                    self.length(shape, v, path, member, "value")
                }
                _ => Err(self.type_error(path, member, "expected an integer")),
            },
            (ShapeKind::Float | ShapeKind::Double, Value::Number(_)) => Ok(()),
            (ShapeKind::Boolean, Value::Bool(_)) => Ok(()),
            (ShapeKind::Timestamp { .. }, Value::Number(_)) => Ok(()),
            (ShapeKind::Timestamp { .. }, Value::String(s)) => match timestamp::parse(s) {
                Some(secs) => {
                    *value = seconds(secs);
                    Ok(())
                }
                None => Err(self.type_error(path, member, "expected a timestamp")),
            },
            (kind, _) => {
                Err(self.type_error(path, member, &format!("expected a {}", kind.type_name())))
            }
        }
    }

    fn length(
        &self,
        shape: &Shape,
        actual: i64,
        path: &Path<'_>,
        member: Option<&str>,
        what: &str,
    ) -> Result<(), ServiceError> {
        let (bound, word) = match (shape.min, shape.max) {
            (Some(min), _) if actual < min => (min, "greater"),
            (_, Some(max)) if actual > max => (max, "less"),
            _ => return Ok(()),
        };
        let constraint = if what == "value" {
            format!("Member must have value {word} than or equal to {bound}")
        } else {
            format!("Member must have length {word} than or equal to {bound}")
        };
        Err(self.invalid(path, member, &constraint))
    }

    fn compatible(&self) -> bool {
        self.service.aws_query_compatible
    }

    fn missing(&self, path: &Path<'_>, name: &str) -> ServiceError {
        if self.compatible() {
            return ServiceError::missing_parameter(name);
        }
        self.coral(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: \
             Member must not be null",
            coral_path(&path.render())
        ))
    }

    fn invalid(&self, path: &Path<'_>, member: Option<&str>, constraint: &str) -> ServiceError {
        let path = path.render();
        if self.compatible() {
            let name = member.unwrap_or(&path);
            return ServiceError::invalid_parameter_value(format!(
                "Value for parameter {name} is invalid. Reason: {constraint}."
            ));
        }
        self.coral(format!(
            "1 validation error detected: Value at '{}' failed to satisfy constraint: {constraint}",
            coral_path(&path)
        ))
    }

    fn type_error(&self, path: &Path<'_>, member: Option<&str>, what: &str) -> ServiceError {
        if self.compatible() || self.protocol == Protocol::AwsQuery {
            return self.invalid(path, member, what);
        }
        ServiceError::validation(
            "SerializationException",
            format!("Invalid value at '{}': {what}", coral_path(&path.render())),
        )
    }

    fn coral(&self, message: String) -> ServiceError {
        if self.protocol == Protocol::AwsQuery || self.service.speaks("query") {
            ServiceError::validation("ValidationError", message)
        } else {
            ServiceError::validation("ValidationException", message)
        }
    }
}

/// AWS names members in validation messages with a lower-case first letter (`roleArn`).
fn coral_path(path: &str) -> String {
    path.split('.')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn seconds(secs: f64) -> Value {
    if secs.fract() == 0.0 && secs.abs() < 9.0e15 {
        Value::from(secs as i64)
    } else {
        serde_json::Number::from_f64(secs).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The error DynamoDB's `operation` input gets for `input`, as (code, message).
    fn dynamodb_error(operation: &str, mut input: Value) -> (String, String) {
        let service = &nimbus_model::dynamodb::SERVICE;
        let shape = service.operation(operation).unwrap().input.unwrap();
        let err = check(service, Protocol::AwsJson10, shape, &mut input).unwrap_err();
        (err.code.to_string(), err.message)
    }

    #[test]
    fn errors_name_nested_paths() {
        let (code, message) = dynamodb_error(
            "TransactWriteItems",
            json!({"TransactItems": [{"ConditionCheck": null}, {"Put": {"Item": {}}}]}),
        );
        assert_eq!(code, "ValidationException");
        assert_eq!(
            message,
            "1 validation error detected: Value null at 'transactItems.2.member.put.tableName' failed to satisfy constraint: Member must not be null"
        );
        let (code, message) = dynamodb_error(
            "PutItem",
            json!({"TableName": "t", "Item": {"a.b": {"S": 5}}}),
        );
        assert_eq!(code, "SerializationException");
        assert!(
            message.starts_with("Invalid value at 'item.a.b.value.s': expected a "),
            "{message}"
        );
    }

    #[test]
    fn nesting_is_bounded_by_the_path_depth() {
        // Each map level adds `.k.value.M`: three dots.
        let nested = |levels: usize| {
            let leaf = json!({"S": "x"});
            let value = (0..levels).fold(leaf, |inner, _| json!({"M": {"k": inner}}));
            json!({"TableName": "t", "Item": {"k": value}})
        };
        let service = &nimbus_model::dynamodb::SERVICE;
        let shape = service.operation("PutItem").unwrap().input.unwrap();
        assert!(check(service, Protocol::AwsJson10, shape, &mut nested(20)).is_ok());
        let (code, message) = dynamodb_error("PutItem", nested(21));
        assert_eq!(code, "SerializationException");
        assert!(message.ends_with("input is nested too deeply"), "{message}");
    }
}
