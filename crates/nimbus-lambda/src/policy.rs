//! A function's resource policies: AddPermission, RemovePermission, GetPolicy. The function,
//! each version and each alias has its own policy; all statements are kept with the function,
//! and a statement's `Resource` (the ARN, qualified or not) says whose policy it is in.

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::lambda::errors as wire_errors;
use serde_json::{Value, json};

use crate::Lambda;
use crate::record::{FunctionRef, function_arn};
use crate::versions::qualified_arn;
use crate::versions_api::resolve;

/// What AddPermission grants.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    pub statement_id: String,
    pub action: String,
    pub principal: String,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
    pub principal_org_id: Option<String>,
    pub function_url_auth_type: Option<String>,
}

/// The statement AWS stores for a grant.
fn statement(resource: &str, grant: &Grant) -> Value {
    let principal = if grant.principal == "*" {
        json!("*")
    } else if grant.principal.chars().all(|c| c.is_ascii_digit()) {
        json!({ "AWS": format!("arn:aws:iam::{}:root", grant.principal) })
    } else if grant.principal.starts_with("arn:") {
        json!({ "AWS": grant.principal })
    } else {
        json!({ "Service": grant.principal })
    };
    let mut condition = serde_json::Map::new();
    if let Some(arn) = &grant.source_arn {
        condition.insert("ArnLike".into(), json!({ "AWS:SourceArn": arn }));
    }
    let mut equals = serde_json::Map::new();
    if let Some(account) = &grant.source_account {
        equals.insert("AWS:SourceAccount".into(), json!(account));
    }
    if let Some(org) = &grant.principal_org_id {
        equals.insert("aws:PrincipalOrgID".into(), json!(org));
    }
    if let Some(auth) = &grant.function_url_auth_type {
        equals.insert("lambda:FunctionUrlAuthType".into(), json!(auth));
    }
    if !equals.is_empty() {
        condition.insert("StringEquals".into(), Value::Object(equals));
    }
    let mut statement = json!({
        "Sid": grant.statement_id,
        "Effect": "Allow",
        "Principal": principal,
        "Action": grant.action,
        "Resource": resource,
    });
    if !condition.is_empty() {
        statement["Condition"] = Value::Object(condition);
    }
    statement
}

impl Lambda {
    /// Adds a statement; returns it as JSON text.
    pub async fn add_permission(
        &self,
        ctx: &RequestContext,
        function: &FunctionRef,
        grant: Grant,
        revision: Option<String>,
    ) -> Result<String, ServiceError> {
        let valid_sid = !grant.statement_id.is_empty()
            && grant.statement_id.len() <= 100
            && grant
                .statement_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_sid {
            return Err(ServiceError::validation(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{}' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)",
                    grant.statement_id
                ),
            ));
        }
        let resource = self.policy_resource(ctx, function)?;
        let statement = statement(&resource, &grant);
        let text = statement.to_string();
        self.update_function(ctx, &function.name, revision, None, move |f| {
            let sid = &grant.statement_id;
            if f.record.policy.iter().any(|s| s["Sid"] == json!(sid) && s["Resource"] == json!(resource)) {
                return Err(wire_errors::resource_conflict_exception(format!(
                    "The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."
                )));
            }
            f.record.policy.push(statement);
            Ok(())
        })
        .await?;
        Ok(text)
    }

    pub async fn remove_permission(
        &self,
        ctx: &RequestContext,
        function: &FunctionRef,
        statement_id: String,
        revision: Option<String>,
    ) -> Result<(), ServiceError> {
        let resource = self.policy_resource(ctx, function)?;
        self.update_function(ctx, &function.name, revision, None, move |f| {
            let before = f.record.policy.len();
            f.record
                .policy
                .retain(|s| s["Sid"] != json!(statement_id) || s["Resource"] != json!(resource));
            if f.record.policy.len() == before {
                return Err(wire_errors::resource_not_found_exception(
                    "Statement not found: no policy statement with that id.",
                ));
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// The ARN whose policy a reference names; the version or alias must exist.
    fn policy_resource(
        &self,
        ctx: &RequestContext,
        function: &FunctionRef,
    ) -> Result<String, ServiceError> {
        match function.qualifier.as_deref() {
            None => Ok(function_arn(ctx, &function.name)),
            Some(qualifier) => {
                resolve(self, ctx, function)?;
                Ok(qualified_arn(ctx, &function.name, qualifier))
            }
        }
    }

    /// The policy document of the function, version or alias, and the function's revision.
    pub fn get_policy(
        &self,
        ctx: &RequestContext,
        function: &FunctionRef,
    ) -> Result<(String, String), ServiceError> {
        let resource = json!(self.policy_resource(ctx, function)?);
        let stored = self.get_function(ctx, &function.name)?;
        let statements: Vec<&Value> = stored
            .record
            .policy
            .iter()
            .filter(|s| s["Resource"] == resource)
            .collect();
        if statements.is_empty() {
            return Err(wire_errors::resource_not_found_exception(
                "The resource you requested does not exist.",
            ));
        }
        let document = json!({
            "Version": "2012-10-17",
            "Id": "default",
            "Statement": statements,
        });
        Ok((document.to_string(), stored.record.revision_id))
    }
}
