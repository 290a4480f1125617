//! Adapts the generated DynamoDB wire shapes to the control-plane operations.

use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::dynamodb::{self as wire, DynamodbApi};

use crate::{Dynamodb, settings};

/// The DynamoDB control plane as the generated dispatcher calls it.
#[derive(Clone)]
pub struct ControlPlane(pub Arc<Dynamodb>);

impl DynamodbApi for ControlPlane {
    async fn create_table(
        &self,
        ctx: &RequestContext,
        input: wire::CreateTableInput,
    ) -> Result<wire::CreateTableOutput, ServiceError> {
        Ok(wire::CreateTableOutput {
            table_description: Some(self.0.create_table(ctx, input).await?),
        })
    }

    async fn describe_table(
        &self,
        ctx: &RequestContext,
        input: wire::DescribeTableInput,
    ) -> Result<wire::DescribeTableOutput, ServiceError> {
        Ok(wire::DescribeTableOutput {
            table: Some(self.0.describe_table(ctx, &input.table_name)?),
        })
    }

    async fn list_tables(
        &self,
        ctx: &RequestContext,
        input: wire::ListTablesInput,
    ) -> Result<wire::ListTablesOutput, ServiceError> {
        self.0.list_tables(ctx, &input)
    }

    async fn update_table(
        &self,
        ctx: &RequestContext,
        input: wire::UpdateTableInput,
    ) -> Result<wire::UpdateTableOutput, ServiceError> {
        Ok(wire::UpdateTableOutput {
            table_description: Some(self.0.update_table(ctx, input).await?),
        })
    }

    async fn delete_table(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteTableInput,
    ) -> Result<wire::DeleteTableOutput, ServiceError> {
        Ok(wire::DeleteTableOutput {
            table_description: Some(self.0.delete_table(ctx, &input.table_name).await?),
        })
    }

    async fn update_time_to_live(
        &self,
        ctx: &RequestContext,
        input: wire::UpdateTimeToLiveInput,
    ) -> Result<wire::UpdateTimeToLiveOutput, ServiceError> {
        Ok(wire::UpdateTimeToLiveOutput {
            time_to_live_specification: Some(self.0.update_time_to_live(ctx, input).await?),
        })
    }

    async fn describe_time_to_live(
        &self,
        ctx: &RequestContext,
        input: wire::DescribeTimeToLiveInput,
    ) -> Result<wire::DescribeTimeToLiveOutput, ServiceError> {
        Ok(wire::DescribeTimeToLiveOutput {
            time_to_live_description: Some(self.0.describe_time_to_live(ctx, &input.table_name)?),
        })
    }

    async fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: wire::TagResourceInput,
    ) -> Result<(), ServiceError> {
        self.0.tag_resource(ctx, input).await
    }

    async fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: wire::UntagResourceInput,
    ) -> Result<(), ServiceError> {
        self.0.untag_resource(ctx, input).await
    }

    async fn list_tags_of_resource(
        &self,
        ctx: &RequestContext,
        input: wire::ListTagsOfResourceInput,
    ) -> Result<wire::ListTagsOfResourceOutput, ServiceError> {
        Ok(wire::ListTagsOfResourceOutput {
            tags: Some(self.0.list_tags(ctx, &input.resource_arn)?),
            next_token: None,
        })
    }

    async fn describe_continuous_backups(
        &self,
        ctx: &RequestContext,
        input: wire::DescribeContinuousBackupsInput,
    ) -> Result<wire::DescribeContinuousBackupsOutput, ServiceError> {
        Ok(wire::DescribeContinuousBackupsOutput {
            continuous_backups_description: Some(
                self.0.describe_continuous_backups(ctx, &input.table_name)?,
            ),
        })
    }

    async fn update_continuous_backups(
        &self,
        ctx: &RequestContext,
        input: wire::UpdateContinuousBackupsInput,
    ) -> Result<wire::UpdateContinuousBackupsOutput, ServiceError> {
        Ok(wire::UpdateContinuousBackupsOutput {
            continuous_backups_description: Some(
                self.0.update_continuous_backups(ctx, input).await?,
            ),
        })
    }

    async fn describe_endpoints(
        &self,
        ctx: &RequestContext,
        _input: wire::DescribeEndpointsRequest,
    ) -> Result<wire::DescribeEndpointsResponse, ServiceError> {
        Ok(wire::DescribeEndpointsResponse {
            endpoints: settings::endpoints(ctx),
        })
    }

    async fn describe_limits(
        &self,
        _ctx: &RequestContext,
        _input: wire::DescribeLimitsInput,
    ) -> Result<wire::DescribeLimitsOutput, ServiceError> {
        Ok(settings::limits())
    }

    async fn reset(&self) -> Result<(), ServiceError> {
        self.0.reset().await
    }
}
