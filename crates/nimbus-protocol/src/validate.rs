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
    checker.value(shape, input, "", None)
}

struct Checker<'a> {
    service: &'a ServiceModel,
    protocol: Protocol,
}

/// Nesting limit: deeper input is refused rather than risking the stack.
const MAX_DEPTH: usize = 64;

impl Checker<'_> {
    fn value(
        &self,
        shape: &'static Shape,
        value: &mut Value,
        path: &str,
        member: Option<&str>,
    ) -> Result<(), ServiceError> {
        if path.matches('.').count() > MAX_DEPTH {
            return Err(self.type_error(path, member, "input is nested too deeply"));
        }
        match (&shape.kind, &mut *value) {
            (_, Value::Null) => Ok(()),
            (ShapeKind::Structure { members, .. }, Value::Object(map)) => {
                for m in members.iter() {
                    let child = join(path, m.name);
                    match map.get_mut(m.name) {
                        Some(v) if !v.is_null() => self.value(m.target, v, &child, Some(m.name))?,
                        _ if m.required => return Err(self.missing(&child, m.name)),
                        _ => {}
                    }
                }
                Ok(())
            }
            (ShapeKind::List { member: item, .. }, Value::Array(items)) => {
                self.length(shape, items.len() as i64, path, member, "length")?;
                for (i, v) in items.iter_mut().enumerate() {
                    self.value(item, v, &format!("{path}.{}.member", i + 1), member)?;
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
                    let mut key_value = Value::String(k.clone());
                    self.value(key, &mut key_value, &format!("{path}.{k}.key"), member)?;
                    self.value(item, v, &format!("{path}.{k}.value"), member)?;
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
        path: &str,
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

    fn missing(&self, path: &str, name: &str) -> ServiceError {
        if self.compatible() {
            return ServiceError::missing_parameter(name);
        }
        self.coral(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: \
             Member must not be null",
            coral_path(path)
        ))
    }

    fn invalid(&self, path: &str, member: Option<&str>, constraint: &str) -> ServiceError {
        if self.compatible() {
            let name = member.unwrap_or(path);
            return ServiceError::invalid_parameter_value(format!(
                "Value for parameter {name} is invalid. Reason: {constraint}."
            ));
        }
        self.coral(format!(
            "1 validation error detected: Value at '{}' failed to satisfy constraint: {constraint}",
            coral_path(path)
        ))
    }

    fn type_error(&self, path: &str, member: Option<&str>, what: &str) -> ServiceError {
        if self.compatible() || self.protocol == Protocol::AwsQuery {
            return self.invalid(path, member, what);
        }
        ServiceError::validation(
            "SerializationException",
            format!("Invalid value at '{}': {what}", coral_path(path)),
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

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
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
