//! A function's settings as stored, and how names and ARNs refer to functions.

use std::collections::BTreeMap;

use nimbus_core::{RequestContext, ServiceError};
use serde::{Deserialize, Serialize};

use crate::errors;

/// Everything Lambda keeps about a function apart from its code and tags. Stored as JSON
/// (format 1 in `schema`); new fields must have defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionRecord {
    pub name: String,
    pub runtime: String,
    pub handler: Option<String>,
    pub role: String,
    #[serde(default)]
    pub description: String,
    pub timeout_secs: u32,
    pub memory_mb: u32,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    pub architectures: Vec<String>,
    #[serde(default)]
    pub layers: Vec<String>,
    pub code_sha256: String,
    pub code_size: i64,
    /// ISO 8601 with milliseconds and offset, as AWS prints `LastModified`.
    pub last_modified: String,
    pub revision_id: String,
    pub tracing_mode: String,
    pub ephemeral_storage_mb: u32,
    /// `Text` or `JSON`.
    pub log_format: String,
    #[serde(default)]
    pub log_group: Option<String>,
    #[serde(default)]
    pub application_log_level: Option<String>,
    #[serde(default)]
    pub system_log_level: Option<String>,
    #[serde(default)]
    pub dead_letter_target: Option<String>,
    #[serde(default)]
    pub kms_key_arn: Option<String>,
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
    /// The resource policy's statements (AddPermission), as AWS renders them.
    #[serde(default)]
    pub policy: Vec<serde_json::Value>,
    #[serde(default)]
    pub url: Option<UrlConfig>,
}

/// A function URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UrlConfig {
    /// The id in the URL's path or host.
    pub id: String,
    /// `NONE` or `AWS_IAM`.
    pub auth_type: String,
    /// `BUFFERED` or `RESPONSE_STREAM`.
    pub invoke_mode: String,
    /// The `Cors` structure as the API takes it.
    #[serde(default)]
    pub cors: Option<serde_json::Value>,
    pub created: String,
    pub last_modified: String,
}

impl FunctionRecord {
    /// The log group function output goes to.
    pub fn log_group(&self) -> String {
        self.log_group
            .clone()
            .unwrap_or_else(|| format!("/aws/lambda/{}", self.name))
    }
}

/// A function named in a request: its name and the qualifier, if one was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: String,
    pub qualifier: Option<String>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A version number, `$LATEST` or an alias name, at most 128 characters.
fn valid_qualifier(qualifier: &str) -> bool {
    !qualifier.is_empty()
        && qualifier.len() <= 128
        && qualifier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '$' | '-' | '_'))
}

/// Reads `my-function`, `my-function:v1`, `123456789012:function:my-function` or a full ARN.
/// An ARN of another account or region names a function that does not exist here.
pub fn parse_function_ref(
    ctx: &RequestContext,
    text: &str,
    qualifier: Option<&str>,
) -> Result<FunctionRef, ServiceError> {
    let parts: Vec<&str> = text.split(':').collect();
    let (account, region, name, inline_qualifier) = match parts.as_slice() {
        [name] => (None, None, *name, None),
        [name, q] => (None, None, *name, Some(*q)),
        [account, "function", name] => (Some(*account), None, *name, None),
        [account, "function", name, q] => (Some(*account), None, *name, Some(*q)),
        ["arn", _, "lambda", region, account, "function", name] => {
            (Some(*account), Some(*region), *name, None)
        }
        ["arn", _, "lambda", region, account, "function", name, q] => {
            (Some(*account), Some(*region), *name, Some(*q))
        }
        _ => return Err(name_constraint(text)),
    };
    if !valid_name(name) {
        return Err(name_constraint(text));
    }
    if account.is_some_and(|a| a != ctx.account_id) || region.is_some_and(|r| r != ctx.region) {
        return Err(errors::function_not_found(&function_arn(ctx, name)));
    }
    // The pattern admits an empty qualifier, which names nothing.
    let qualifier = qualifier.filter(|q| !q.is_empty());
    if let Some(q) = qualifier.filter(|q| !valid_qualifier(q)) {
        return Err(ServiceError::validation(
            "ValidationException",
            format!(
                "1 validation error detected: Value '{q}' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"
            ),
        ));
    }
    if inline_qualifier.is_some_and(|q| !valid_qualifier(q)) {
        return Err(name_constraint(text));
    }
    let qualifier = match (inline_qualifier, qualifier) {
        (Some(a), Some(b)) if a != b => {
            return Err(errors::invalid(
                "The derived qualifier from the function name does not match the specified qualifier.",
            ));
        }
        (a, b) => a.or(b).map(str::to_owned),
    };
    Ok(FunctionRef {
        name: name.to_owned(),
        qualifier,
    })
}

fn name_constraint(text: &str) -> ServiceError {
    ServiceError::validation(
        "ValidationException",
        format!(
            "1 validation error detected: Value '{text}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
        ),
    )
}

/// The unqualified ARN of a function.
pub fn function_arn(ctx: &RequestContext, name: &str) -> String {
    format!(
        "arn:aws:lambda:{}:{}:function:{name}",
        ctx.region, ctx.account_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_arns() {
        let ctx = RequestContext::internal("000000000000", "us-east-1", "http://x");
        let plain = parse_function_ref(&ctx, "f", None).ok();
        assert_eq!(plain.map(|r| r.name), Some("f".into()));
        let arn = parse_function_ref(
            &ctx,
            "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST",
            None,
        )
        .ok();
        assert_eq!(arn.and_then(|r| r.qualifier), Some("$LATEST".into()));
        let other = parse_function_ref(&ctx, "111111111111:function:f", None);
        assert_eq!(
            other.err().map(|e| e.code),
            Some("ResourceNotFoundException".into())
        );
        assert!(parse_function_ref(&ctx, "bad name", None).is_err());
        assert!(parse_function_ref(&ctx, "f:1", Some("2")).is_err());
        assert!(parse_function_ref(&ctx, "f", Some("a.b")).is_err());
        assert!(parse_function_ref(&ctx, "f:a.b", None).is_err());
        let aliased = parse_function_ref(&ctx, "000000000000:function:f:live", None).ok();
        assert_eq!(aliased.and_then(|r| r.qualifier), Some("live".into()));
    }
}
