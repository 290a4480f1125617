//! SQS's errors with AWS's messages; codes, statuses and legacy codes come from the model.

use nimbus_core::ServiceError;
use nimbus_model::sqs::errors as model;

/// SQS's common errors that are not shapes of its model.
fn common(code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::new(code, 400, message).with_query_code(code)
}

pub fn queue_does_not_exist() -> ServiceError {
    model::queue_does_not_exist("The specified queue does not exist.")
}

pub fn queue_name_exists(message: impl Into<String>) -> ServiceError {
    model::queue_name_exists(message)
}

pub fn queue_deleted_recently(name: &str) -> ServiceError {
    model::queue_deleted_recently(format!(
        "You must wait 60 seconds after deleting a queue before you can create another queue with the same name: {name}"
    ))
}

pub fn invalid_attribute_name(message: impl Into<String>) -> ServiceError {
    model::invalid_attribute_name(message)
}

pub fn invalid_attribute_value(message: impl Into<String>) -> ServiceError {
    model::invalid_attribute_value(message)
}

pub fn invalid_parameter_value(message: impl Into<String>) -> ServiceError {
    common("InvalidParameterValue", message)
}

pub fn missing_parameter(name: &str) -> ServiceError {
    common(
        "MissingParameter",
        format!("The request must contain the parameter {name}."),
    )
}

pub fn invalid_message_contents() -> ServiceError {
    model::invalid_message_contents(
        "Invalid characters found. Valid characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
    )
}

pub fn receipt_handle_is_invalid(handle: &str) -> ServiceError {
    model::receipt_handle_is_invalid(format!(
        "The input receipt handle \"{handle}\" is not a valid receipt handle."
    ))
}

pub fn purge_queue_in_progress(queue_name: &str) -> ServiceError {
    model::purge_queue_in_progress(format!(
        "Only one PurgeQueue operation on {queue_name} is allowed every 60 seconds."
    ))
}

pub fn over_limit(message: impl Into<String>) -> ServiceError {
    model::over_limit(message)
}

pub fn empty_batch_request(entry_shape: &str) -> ServiceError {
    model::empty_batch_request(format!(
        "There should be at least one {entry_shape} in the request."
    ))
}

pub fn too_many_entries_in_batch_request() -> ServiceError {
    model::too_many_entries_in_batch_request("Maximum number of entries per request are 10.")
}

pub fn batch_entry_ids_not_distinct(id: &str) -> ServiceError {
    model::batch_entry_ids_not_distinct(format!("Id {id} repeated."))
}

pub fn invalid_batch_entry_id(id: &str) -> ServiceError {
    model::invalid_batch_entry_id(format!(
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long. Invalid id: {id}"
    ))
}

pub fn batch_request_too_long(limit: usize) -> ServiceError {
    model::batch_request_too_long(format!(
        "Batch requests cannot be longer than {limit} bytes."
    ))
}

pub fn unsupported_operation(message: impl Into<String>) -> ServiceError {
    model::unsupported_operation(message)
}

pub fn resource_not_found(message: impl Into<String>) -> ServiceError {
    model::resource_not_found_exception(message)
}

/// An engine failure: logged with detail, reported as AWS's opaque internal error.
pub fn internal(err: &nimbus_store::DbError) -> ServiceError {
    tracing::error!(%err, "sqs storage failure");
    match err {
        nimbus_store::DbError::Closed => ServiceError::service_unavailable(),
        _ => ServiceError::internal(),
    }
}

pub fn message_not_inflight() -> ServiceError {
    model::message_not_inflight("The message referred to isn't in flight.")
}
