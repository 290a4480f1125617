//! The CloudWatch Logs errors nimbus returns, with AWS's wording.

use nimbus_core::ServiceError;
use nimbus_model::logs::errors;
use nimbus_store::DbError;

pub fn group_not_found() -> ServiceError {
    errors::resource_not_found_exception("The specified log group does not exist.")
}

pub fn stream_not_found() -> ServiceError {
    errors::resource_not_found_exception("The specified log stream does not exist.")
}

pub fn group_exists() -> ServiceError {
    errors::resource_already_exists_exception("The specified log group already exists")
}

pub fn stream_exists() -> ServiceError {
    errors::resource_already_exists_exception("The specified log stream already exists")
}

pub fn invalid(message: impl Into<String>) -> ServiceError {
    errors::invalid_parameter_exception(message)
}

pub fn internal(err: &DbError) -> ServiceError {
    tracing::error!(%err, "logs store failure");
    errors::service_unavailable_exception("The service cannot complete the request.")
}
