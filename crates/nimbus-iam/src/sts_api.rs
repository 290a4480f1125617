//! Adapts the generated STS wire shapes to the domain operations.

use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::Timestamp;
use nimbus_model::sts::{self as wire, StsApi};

use crate::{Iam, IssuedCredentials};

/// STS as the generated dispatcher calls it.
#[derive(Clone)]
pub struct StsService(pub Arc<Iam>);

fn to_wire_credentials(issued: &IssuedCredentials) -> wire::Credentials {
    wire::Credentials {
        access_key_id: issued.access_key_id.clone(),
        secret_access_key: issued.secret_access_key.clone(),
        session_token: issued.session_token.clone(),
        expiration: Timestamp::from_millis(issued.expires_at_ms),
    }
}

impl StsApi for StsService {
    async fn get_caller_identity(
        &self,
        ctx: &RequestContext,
        _input: wire::GetCallerIdentityRequest,
    ) -> Result<wire::GetCallerIdentityResponse, ServiceError> {
        let identity = self.0.caller_identity(ctx)?;
        Ok(wire::GetCallerIdentityResponse {
            user_id: Some(identity.user_id),
            account: Some(identity.account),
            arn: Some(identity.arn),
        })
    }

    async fn assume_role(
        &self,
        ctx: &RequestContext,
        input: wire::AssumeRoleRequest,
    ) -> Result<wire::AssumeRoleResponse, ServiceError> {
        let issued = self
            .0
            .assume_role(
                ctx,
                &input.role_arn,
                &input.role_session_name,
                input.duration_seconds,
                input.policy.as_deref(),
            )
            .await?;
        Ok(wire::AssumeRoleResponse {
            credentials: Some(to_wire_credentials(&issued)),
            assumed_role_user: Some(wire::AssumedRoleUser {
                assumed_role_id: issued.identity.user_id.clone(),
                arn: issued.identity.arn.clone(),
            }),
            packed_policy_size: None,
            source_identity: input.source_identity,
        })
    }

    async fn get_session_token(
        &self,
        ctx: &RequestContext,
        input: wire::GetSessionTokenRequest,
    ) -> Result<wire::GetSessionTokenResponse, ServiceError> {
        let issued = self.0.session_token(ctx, input.duration_seconds).await?;
        Ok(wire::GetSessionTokenResponse {
            credentials: Some(to_wire_credentials(&issued)),
        })
    }

    async fn get_access_key_info(
        &self,
        _ctx: &RequestContext,
        input: wire::GetAccessKeyInfoRequest,
    ) -> Result<wire::GetAccessKeyInfoResponse, ServiceError> {
        Ok(wire::GetAccessKeyInfoResponse {
            account: Some(self.0.access_key_account(&input.access_key_id)),
        })
    }

    async fn reset(&self) -> Result<(), ServiceError> {
        self.0.reset_sts().await
    }
}
