//! SQS's errors as AWS sends them: the model's shape name, the legacy query code, the status.

use nimbus_core::ServiceError;

fn sqs(
    code: &'static str,
    query_code: &'static str,
    status: u16,
    message: impl Into<String>,
) -> ServiceError {
    ServiceError::new(code, status, message).with_query_code(query_code)
}

pub fn queue_does_not_exist() -> ServiceError {
    sqs(
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        400,
        "The specified queue does not exist.",
    )
}

pub fn queue_name_exists(message: impl Into<String>) -> ServiceError {
    sqs("QueueNameExists", "QueueAlreadyExists", 400, message)
}

pub fn queue_deleted_recently(name: &str) -> ServiceError {
    sqs(
        "QueueDeletedRecently",
        "AWS.SimpleQueueService.QueueDeletedRecently",
        400,
        format!(
            "You must wait 60 seconds after deleting a queue before you can create another queue with the same name: {name}"
        ),
    )
}

pub fn invalid_attribute_name(message: impl Into<String>) -> ServiceError {
    sqs("InvalidAttributeName", "InvalidAttributeName", 400, message)
}

pub fn invalid_attribute_value(message: impl Into<String>) -> ServiceError {
    sqs(
        "InvalidAttributeValue",
        "InvalidAttributeValue",
        400,
        message,
    )
}

pub fn invalid_parameter_value(message: impl Into<String>) -> ServiceError {
    sqs(
        "InvalidParameterValue",
        "InvalidParameterValue",
        400,
        message,
    )
}

pub fn missing_parameter(name: &str) -> ServiceError {
    sqs(
        "MissingParameter",
        "MissingParameter",
        400,
        format!("The request must contain the parameter {name}."),
    )
}

pub fn invalid_message_contents() -> ServiceError {
    sqs(
        "InvalidMessageContents",
        "InvalidMessageContents",
        400,
        "Invalid characters found. Valid characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
    )
}

pub fn receipt_handle_is_invalid(handle: &str) -> ServiceError {
    sqs(
        "ReceiptHandleIsInvalid",
        "ReceiptHandleIsInvalid",
        404,
        format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
    )
}

pub fn message_not_inflight() -> ServiceError {
    sqs(
        "MessageNotInflight",
        "AWS.SimpleQueueService.MessageNotInflight",
        400,
        "Message does not exist or is not available for visibility timeout change.",
    )
}

pub fn purge_queue_in_progress(queue_name: &str) -> ServiceError {
    sqs(
        "PurgeQueueInProgress",
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        403,
        format!("Only one PurgeQueue operation on {queue_name} is allowed every 60 seconds."),
    )
}

pub fn over_limit(message: impl Into<String>) -> ServiceError {
    sqs("OverLimit", "OverLimit", 403, message)
}

pub fn empty_batch_request(entry_shape: &str) -> ServiceError {
    sqs(
        "EmptyBatchRequest",
        "AWS.SimpleQueueService.EmptyBatchRequest",
        400,
        format!("There should be at least one {entry_shape} in the request."),
    )
}

pub fn too_many_entries_in_batch_request() -> ServiceError {
    sqs(
        "TooManyEntriesInBatchRequest",
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        400,
        "Maximum number of entries per request are 10.",
    )
}

pub fn batch_entry_ids_not_distinct(id: &str) -> ServiceError {
    sqs(
        "BatchEntryIdsNotDistinct",
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        400,
        format!("Id {id} repeated."),
    )
}

pub fn invalid_batch_entry_id(id: &str) -> ServiceError {
    sqs(
        "InvalidBatchEntryId",
        "AWS.SimpleQueueService.InvalidBatchEntryId",
        400,
        format!(
            "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long. Invalid id: {id}"
        ),
    )
}

pub fn batch_request_too_long(limit: usize) -> ServiceError {
    sqs(
        "BatchRequestTooLong",
        "AWS.SimpleQueueService.BatchRequestTooLong",
        400,
        format!("Batch requests cannot be longer than {limit} bytes."),
    )
}

pub fn unsupported_operation(message: impl Into<String>) -> ServiceError {
    sqs(
        "UnsupportedOperation",
        "AWS.SimpleQueueService.UnsupportedOperation",
        400,
        message,
    )
}

pub fn resource_not_found(message: impl Into<String>) -> ServiceError {
    sqs(
        "ResourceNotFoundException",
        "ResourceNotFoundException",
        404,
        message,
    )
}

/// An engine failure: logged with detail, reported as AWS's opaque internal error.
pub fn internal(err: &nimbus_store::DbError) -> ServiceError {
    tracing::error!(%err, "sqs storage failure");
    match err {
        nimbus_store::DbError::Closed => ServiceError::service_unavailable(),
        _ => ServiceError::internal(),
    }
}
