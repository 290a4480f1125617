//! DynamoDB's errors with AWS's messages; codes and statuses of modelled errors come from the
//! generated model.

use nimbus_core::ServiceError;
use nimbus_model::dynamodb::errors as model;
use nimbus_store::DbError;

/// `ValidationException`, DynamoDB's common client error (not a shape of its model).
pub fn validation(message: impl Into<String>) -> ServiceError {
    ServiceError::new("ValidationException", 400, message)
}

/// A validation error prefixed as DynamoDB prefixes parameter checks.
pub fn invalid_parameter(detail: impl std::fmt::Display) -> ServiceError {
    validation(format!(
        "One or more parameter values were invalid: {detail}"
    ))
}

/// Item operations on a table that does not exist.
pub fn table_not_found() -> ServiceError {
    model::resource_not_found_exception("Requested resource not found")
}

/// Control-plane operations on a table that does not exist.
pub fn table_not_found_named(name: &str) -> ServiceError {
    model::resource_not_found_exception(format!(
        "Requested resource not found: Table: {name} not found"
    ))
}

/// Tagging operations on an ARN that names no table.
pub fn resource_arn_not_found(arn: &str) -> ServiceError {
    model::resource_not_found_exception(format!(
        "Requested resource not found: ResourcArn: {arn} not found"
    ))
}

pub fn table_exists(name: &str) -> ServiceError {
    model::resource_in_use_exception(format!("Table already exists: {name}"))
}

pub fn table_not_found_backups(name: &str) -> ServiceError {
    model::table_not_found_exception(format!("Table not found: {name}"))
}

pub fn conditional_check_failed() -> ServiceError {
    model::conditional_check_failed_exception("The conditional request failed")
}

pub fn limit_exceeded(message: impl Into<String>) -> ServiceError {
    model::limit_exceeded_exception(message)
}

pub fn key_schema_mismatch() -> ServiceError {
    validation("The provided key element does not match the schema")
}

pub fn item_too_large() -> ServiceError {
    validation("Item size has exceeded the maximum allowed size")
}

/// An engine failure: logged here, reported to the client as AWS's internal error.
pub fn internal(err: &DbError) -> ServiceError {
    tracing::error!(%err, "dynamodb store failure");
    model::internal_server_error("Internal server error")
}

pub fn resource_not_found(message: impl Into<String>) -> ServiceError {
    model::resource_not_found_exception(message)
}
