//! The one error of this crate: a ValidationException message, as AWS words it.

use crate::ValueError;

/// Invalid input; the service answers `ValidationException` with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    pub message: String,
}

impl ExprError {
    pub fn new(message: impl Into<String>) -> ExprError {
        ExprError {
            message: message.into(),
        }
    }
}

impl From<ValueError> for ExprError {
    fn from(error: ValueError) -> ExprError {
        ExprError::new(error.message)
    }
}
