//! The Lambda errors nimbus returns, with AWS's wording.

use nimbus_core::ServiceError;
use nimbus_model::lambda::errors;
use nimbus_store::DbError;

use crate::code::ZipError;

pub fn function_not_found(arn: &str) -> ServiceError {
    errors::resource_not_found_exception(format!("Function not found: {arn}"))
}

pub fn function_exists(name: &str) -> ServiceError {
    errors::resource_conflict_exception(format!("Function already exist: {name}"))
}

pub fn revision_mismatch() -> ServiceError {
    errors::precondition_failed_exception(
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
    )
}

pub fn invalid(message: impl Into<String>) -> ServiceError {
    errors::invalid_parameter_value_exception(message)
}

/// Why uploaded code (a function's or a layer's zip) was refused, as AWS words it.
pub fn zip_refused(err: &ZipError) -> ServiceError {
    match err {
        ZipError::TooLarge => invalid("Unzipped size must be smaller than 262144000 bytes"),
        ZipError::Io(detail) => {
            tracing::error!(%detail, "unpacking code failed");
            errors::service_exception("An internal error occurred.")
        }
        ZipError::Unreadable | ZipError::UnsafePath(_) => bad_zip(),
    }
}

pub fn bad_zip() -> ServiceError {
    invalid("Could not unzip uploaded file. Please check your file, then try to upload again.")
}

pub fn throttled(reason: &str) -> ServiceError {
    errors::too_many_requests_exception("Rate Exceeded.")
        .with_field("Reason", serde_json::Value::String(reason.to_owned()))
}

pub fn internal(err: &DbError) -> ServiceError {
    tracing::error!(%err, "lambda store failure");
    errors::service_exception("An internal error occurred.")
}
