//! Adapts the generated IAM wire shapes to the domain operations. Policy documents leave
//! URL-encoded, as IAM sends them (SDKs decode them).

use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::Timestamp;
use nimbus_model::iam::{self as wire, IamApi};

use crate::names::encode_document;
use crate::page::{Page, PageRequest};
use crate::{Iam, ManagedPolicy, NewPolicy, NewRole, PolicyScope, Role};

/// IAM as the generated dispatcher calls it.
#[derive(Clone)]
pub struct IamService(pub Arc<Iam>);

fn from_wire_tags(tags: Option<Vec<wire::Tag>>) -> Vec<(String, String)> {
    tags.unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect()
}

fn to_wire_tags(tags: Vec<(String, String)>) -> Vec<wire::Tag> {
    tags.into_iter()
        .map(|(key, value)| wire::Tag { key, value })
        .collect()
}

/// What a role looks like on the wire. `ListRoles` leaves out tags, as IAM does.
fn to_wire_role(role: Role, with_tags: bool) -> wire::Role {
    let arn = role.arn();
    wire::Role {
        path: role.path,
        role_name: role.name,
        role_id: role.role_id,
        arn,
        create_date: Timestamp::from_millis(role.created_at_ms),
        assume_role_policy_document: Some(encode_document(&role.assume_role_policy)),
        description: role.description,
        max_session_duration: Some(role.max_session_duration),
        permissions_boundary: role.permissions_boundary.map(|arn| {
            wire::AttachedPermissionsBoundary {
                permissions_boundary_type: Some("Policy".to_owned()),
                permissions_boundary_arn: Some(arn),
            }
        }),
        tags: (with_tags && !role.tags.is_empty()).then(|| to_wire_tags(role.tags)),
        role_last_used: with_tags.then(wire::RoleLastUsed::default),
    }
}

fn to_wire_policy(policy: ManagedPolicy, with_tags: bool) -> wire::Policy {
    wire::Policy {
        policy_name: Some(policy.name),
        policy_id: Some(policy.policy_id),
        arn: Some(policy.arn),
        path: Some(policy.path),
        default_version_id: Some("v1".to_owned()),
        attachment_count: Some(i32::try_from(policy.attachment_count).unwrap_or(i32::MAX)),
        permissions_boundary_usage_count: Some(0),
        is_attachable: Some(true),
        description: policy.description,
        create_date: Some(Timestamp::from_millis(policy.created_at_ms)),
        update_date: Some(Timestamp::from_millis(policy.created_at_ms)),
        tags: (with_tags && !policy.tags.is_empty()).then(|| to_wire_tags(policy.tags)),
    }
}

fn page_request(marker: Option<String>, max_items: Option<i32>) -> PageRequest {
    PageRequest { marker, max_items }
}

/// The `IsTruncated`/`Marker` pair of a page, and its items.
fn split<T>(page: Page<T>) -> (Vec<T>, Option<bool>, Option<String>) {
    let truncated = page.is_truncated();
    (page.items, Some(truncated), page.marker)
}

impl IamApi for IamService {
    async fn create_role(
        &self,
        ctx: &RequestContext,
        input: wire::CreateRoleRequest,
    ) -> Result<wire::CreateRoleResponse, ServiceError> {
        let role = self
            .0
            .create_role(
                ctx,
                NewRole {
                    name: input.role_name,
                    path: input.path,
                    assume_role_policy: input.assume_role_policy_document,
                    description: input.description,
                    max_session_duration: input.max_session_duration,
                    permissions_boundary: input.permissions_boundary,
                    tags: from_wire_tags(input.tags),
                },
            )
            .await?;
        let mut role = to_wire_role(role, true);
        role.role_last_used = None;
        Ok(wire::CreateRoleResponse { role })
    }

    async fn get_role(
        &self,
        ctx: &RequestContext,
        input: wire::GetRoleRequest,
    ) -> Result<wire::GetRoleResponse, ServiceError> {
        let role = self.0.get_role(ctx, &input.role_name)?;
        Ok(wire::GetRoleResponse {
            role: to_wire_role(role, true),
        })
    }

    async fn list_roles(
        &self,
        ctx: &RequestContext,
        input: wire::ListRolesRequest,
    ) -> Result<wire::ListRolesResponse, ServiceError> {
        let page = self.0.list_roles(
            ctx,
            input.path_prefix.as_deref(),
            &page_request(input.marker, input.max_items),
        )?;
        let (roles, is_truncated, marker) = split(page);
        Ok(wire::ListRolesResponse {
            roles: roles.into_iter().map(|r| to_wire_role(r, false)).collect(),
            is_truncated,
            marker,
        })
    }

    async fn delete_role(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteRoleRequest,
    ) -> Result<(), ServiceError> {
        self.0.delete_role(ctx, &input.role_name).await
    }

    async fn update_assume_role_policy(
        &self,
        ctx: &RequestContext,
        input: wire::UpdateAssumeRolePolicyRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .update_assume_role_policy(ctx, &input.role_name, &input.policy_document)
            .await
    }

    async fn tag_role(
        &self,
        ctx: &RequestContext,
        input: wire::TagRoleRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .tag_role(ctx, &input.role_name, from_wire_tags(Some(input.tags)))
            .await
    }

    async fn untag_role(
        &self,
        ctx: &RequestContext,
        input: wire::UntagRoleRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .untag_role(ctx, &input.role_name, input.tag_keys)
            .await
    }

    async fn list_role_tags(
        &self,
        ctx: &RequestContext,
        input: wire::ListRoleTagsRequest,
    ) -> Result<wire::ListRoleTagsResponse, ServiceError> {
        let page = self.0.list_role_tags(
            ctx,
            &input.role_name,
            &page_request(input.marker, input.max_items),
        )?;
        let (tags, is_truncated, marker) = split(page);
        Ok(wire::ListRoleTagsResponse {
            tags: to_wire_tags(tags),
            is_truncated,
            marker,
        })
    }

    async fn put_role_policy(
        &self,
        ctx: &RequestContext,
        input: wire::PutRolePolicyRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .put_role_policy(
                ctx,
                &input.role_name,
                &input.policy_name,
                &input.policy_document,
            )
            .await
    }

    async fn get_role_policy(
        &self,
        ctx: &RequestContext,
        input: wire::GetRolePolicyRequest,
    ) -> Result<wire::GetRolePolicyResponse, ServiceError> {
        let policy = self
            .0
            .get_role_policy(ctx, &input.role_name, &input.policy_name)?;
        Ok(wire::GetRolePolicyResponse {
            role_name: policy.role_name,
            policy_name: policy.policy_name,
            policy_document: encode_document(&policy.document),
        })
    }

    async fn delete_role_policy(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteRolePolicyRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .delete_role_policy(ctx, &input.role_name, &input.policy_name)
            .await
    }

    async fn list_role_policies(
        &self,
        ctx: &RequestContext,
        input: wire::ListRolePoliciesRequest,
    ) -> Result<wire::ListRolePoliciesResponse, ServiceError> {
        let page = self.0.list_role_policies(
            ctx,
            &input.role_name,
            &page_request(input.marker, input.max_items),
        )?;
        let (policy_names, is_truncated, marker) = split(page);
        Ok(wire::ListRolePoliciesResponse {
            policy_names,
            is_truncated,
            marker,
        })
    }

    async fn attach_role_policy(
        &self,
        ctx: &RequestContext,
        input: wire::AttachRolePolicyRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .attach_role_policy(ctx, &input.role_name, &input.policy_arn)
            .await
    }

    async fn detach_role_policy(
        &self,
        ctx: &RequestContext,
        input: wire::DetachRolePolicyRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .detach_role_policy(ctx, &input.role_name, &input.policy_arn)
            .await
    }

    async fn list_attached_role_policies(
        &self,
        ctx: &RequestContext,
        input: wire::ListAttachedRolePoliciesRequest,
    ) -> Result<wire::ListAttachedRolePoliciesResponse, ServiceError> {
        let page = self.0.list_attached_role_policies(
            ctx,
            &input.role_name,
            input.path_prefix.as_deref(),
            &page_request(input.marker, input.max_items),
        )?;
        let (attached, is_truncated, marker) = split(page);
        Ok(wire::ListAttachedRolePoliciesResponse {
            attached_policies: Some(
                attached
                    .into_iter()
                    .map(|p| wire::AttachedPolicy {
                        policy_name: Some(p.policy_name),
                        policy_arn: Some(p.policy_arn),
                    })
                    .collect(),
            ),
            is_truncated,
            marker,
        })
    }

    async fn create_policy(
        &self,
        ctx: &RequestContext,
        input: wire::CreatePolicyRequest,
    ) -> Result<wire::CreatePolicyResponse, ServiceError> {
        let policy = self
            .0
            .create_policy(
                ctx,
                NewPolicy {
                    name: input.policy_name,
                    path: input.path,
                    document: input.policy_document,
                    description: input.description,
                    tags: from_wire_tags(input.tags),
                },
            )
            .await?;
        Ok(wire::CreatePolicyResponse {
            policy: Some(to_wire_policy(policy, true)),
        })
    }

    async fn get_policy(
        &self,
        ctx: &RequestContext,
        input: wire::GetPolicyRequest,
    ) -> Result<wire::GetPolicyResponse, ServiceError> {
        let policy = self.0.get_policy(ctx, &input.policy_arn)?;
        Ok(wire::GetPolicyResponse {
            policy: Some(to_wire_policy(policy, true)),
        })
    }

    async fn delete_policy(
        &self,
        ctx: &RequestContext,
        input: wire::DeletePolicyRequest,
    ) -> Result<(), ServiceError> {
        self.0.delete_policy(ctx, &input.policy_arn).await
    }

    async fn list_policies(
        &self,
        ctx: &RequestContext,
        input: wire::ListPoliciesRequest,
    ) -> Result<wire::ListPoliciesResponse, ServiceError> {
        let scope = match input.scope.as_deref() {
            Some(text) => PolicyScope::parse(text)?,
            None => PolicyScope::All,
        };
        let page = self.0.list_policies(
            ctx,
            scope,
            input.only_attached.unwrap_or(false),
            input.path_prefix.as_deref(),
            &page_request(input.marker, input.max_items),
        )?;
        let (policies, is_truncated, marker) = split(page);
        Ok(wire::ListPoliciesResponse {
            policies: Some(
                policies
                    .into_iter()
                    .map(|p| to_wire_policy(p, false))
                    .collect(),
            ),
            is_truncated,
            marker,
        })
    }

    async fn reset(&self) -> Result<(), ServiceError> {
        self.0.reset_iam().await
    }
}
