//! SNS's errors with AWS's messages; codes, statuses and legacy codes come from the model.

use nimbus_core::ServiceError;
use nimbus_model::sns::errors as model;
use nimbus_store::DbError;

pub fn invalid_parameter(detail: impl std::fmt::Display) -> ServiceError {
    model::invalid_parameter_exception(format!("Invalid parameter: {detail}"))
}

pub fn invalid_parameter_value(message: impl Into<String>) -> ServiceError {
    model::invalid_parameter_value_exception(message)
}

pub fn topic_not_found() -> ServiceError {
    model::not_found_exception("Topic does not exist")
}

pub fn subscription_not_found() -> ServiceError {
    model::not_found_exception("Subscription does not exist")
}

pub fn resource_not_found() -> ServiceError {
    model::resource_not_found_exception("Resource does not exist")
}

pub fn attribute_name(name: &str) -> ServiceError {
    invalid_parameter(format!("AttributeName {name}"))
}

/// An engine failure: logged here, reported to the client as AWS's internal error.
pub fn internal(err: &DbError) -> ServiceError {
    tracing::error!(%err, "sns store failure");
    model::internal_error_exception("Internal Error")
}
