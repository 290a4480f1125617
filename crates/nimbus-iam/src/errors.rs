//! STS and IAM errors with AWS's messages; codes and statuses come from the models.

use nimbus_core::ServiceError;
use nimbus_model::iam::errors as iam;
use nimbus_model::sts::errors as sts;

/// awsQuery's common validation error (400 `ValidationError`).
pub fn validation(message: impl Into<String>) -> ServiceError {
    ServiceError::validation("ValidationError", message)
}

/// AWS's "1 validation error detected" wording for a value that fails a pattern.
pub fn pattern_mismatch(value: &str, member: &str, pattern: &str) -> ServiceError {
    validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: {pattern}"
    ))
}

pub fn invalid_path() -> ServiceError {
    validation(
        "The specified value for path is invalid. It must begin and end with / and contain only \
         alphanumeric characters and/or / characters.",
    )
}

pub fn no_such_role(name: &str) -> ServiceError {
    iam::no_such_entity_exception(format!("The role with name {name} cannot be found."))
}

pub fn no_such_role_policy(role: &str, policy: &str) -> ServiceError {
    iam::no_such_entity_exception(format!(
        "The role policy with name {policy} cannot be found for role {role}."
    ))
}

pub fn no_such_policy(arn: &str) -> ServiceError {
    iam::no_such_entity_exception(format!("Policy {arn} was not found."))
}

pub fn policy_not_attachable(arn: &str) -> ServiceError {
    iam::no_such_entity_exception(format!("Policy {arn} does not exist or is not attachable."))
}

pub fn policy_not_attached(arn: &str) -> ServiceError {
    iam::no_such_entity_exception(format!("Policy {arn} was not found."))
}

pub fn role_exists(name: &str) -> ServiceError {
    iam::entity_already_exists_exception(format!("Role with name {name} already exists."))
}

pub fn policy_exists(name: &str) -> ServiceError {
    iam::entity_already_exists_exception(format!(
        "A policy called {name} already exists. Duplicate names are not allowed."
    ))
}

pub fn role_has_attached_policies() -> ServiceError {
    iam::delete_conflict_exception("Cannot delete entity, must detach all policies first.")
}

pub fn role_has_inline_policies() -> ServiceError {
    iam::delete_conflict_exception("Cannot delete entity, must delete policies first.")
}

pub fn policy_is_attached() -> ServiceError {
    iam::delete_conflict_exception("Cannot delete a policy attached to entities.")
}

pub fn malformed_policy(message: impl Into<String>) -> ServiceError {
    iam::malformed_policy_document_exception(message)
}

pub fn limit_exceeded(message: impl Into<String>) -> ServiceError {
    iam::limit_exceeded_exception(message)
}

pub fn invalid_input(message: impl Into<String>) -> ServiceError {
    iam::invalid_input_exception(message)
}

pub fn sts_malformed_policy(message: impl Into<String>) -> ServiceError {
    sts::malformed_policy_document_exception(message)
}

pub fn access_denied(message: impl Into<String>) -> ServiceError {
    ServiceError::new("AccessDenied", 403, message)
}

/// An engine failure: logged with detail, reported as AWS's opaque internal error.
pub fn internal(err: &nimbus_store::DbError) -> ServiceError {
    tracing::error!(%err, "iam storage failure");
    match err {
        nimbus_store::DbError::Closed => ServiceError::service_unavailable(),
        _ => ServiceError::internal(),
    }
}
