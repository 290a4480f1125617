//! Adapts provisioned concurrency to the generated wire shapes.

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::lambda as wire;

use crate::Lambda;
use crate::provisioned::ProvisionedReport;
use crate::record::parse_function_ref;
use crate::versions::qualified_arn;

/// Largest page of ListProvisionedConcurrencyConfigs.
const MAX_PAGE: i32 = 50;

fn count(value: u32) -> Option<i32> {
    i32::try_from(value).ok()
}

/// The fields every provisioned concurrency answer carries.
struct Fields {
    requested: Option<i32>,
    ready: Option<i32>,
    status: Option<String>,
    status_reason: Option<String>,
    last_modified: Option<String>,
}

fn fields(report: ProvisionedReport) -> Fields {
    Fields {
        requested: count(report.config.requested),
        ready: count(report.ready),
        status: Some(report.status.to_owned()),
        status_reason: report.status_reason,
        last_modified: Some(report.config.last_modified),
    }
}

pub(crate) async fn put(
    lambda: &Lambda,
    ctx: &RequestContext,
    input: wire::PutProvisionedConcurrencyConfigRequest,
) -> Result<wire::PutProvisionedConcurrencyConfigResponse, ServiceError> {
    let reference = parse_function_ref(ctx, &input.function_name, Some(&input.qualifier))?;
    let report = lambda
        .put_provisioned(
            ctx,
            &reference.name,
            reference.qualifier.as_deref(),
            input.provisioned_concurrent_executions,
        )
        .await?;
    let f = fields(report);
    Ok(wire::PutProvisionedConcurrencyConfigResponse {
        requested_provisioned_concurrent_executions: f.requested,
        available_provisioned_concurrent_executions: f.ready,
        allocated_provisioned_concurrent_executions: f.ready,
        status: f.status,
        status_reason: f.status_reason,
        last_modified: f.last_modified,
    })
}

pub(crate) async fn get(
    lambda: &Lambda,
    ctx: &RequestContext,
    input: wire::GetProvisionedConcurrencyConfigRequest,
) -> Result<wire::GetProvisionedConcurrencyConfigResponse, ServiceError> {
    let reference = parse_function_ref(ctx, &input.function_name, Some(&input.qualifier))?;
    let report = lambda
        .get_provisioned(ctx, &reference.name, reference.qualifier.as_deref())
        .await?;
    let f = fields(report);
    Ok(wire::GetProvisionedConcurrencyConfigResponse {
        requested_provisioned_concurrent_executions: f.requested,
        available_provisioned_concurrent_executions: f.ready,
        allocated_provisioned_concurrent_executions: f.ready,
        status: f.status,
        status_reason: f.status_reason,
        last_modified: f.last_modified,
    })
}

pub(crate) async fn delete(
    lambda: &Lambda,
    ctx: &RequestContext,
    input: wire::DeleteProvisionedConcurrencyConfigRequest,
) -> Result<(), ServiceError> {
    let reference = parse_function_ref(ctx, &input.function_name, Some(&input.qualifier))?;
    lambda
        .delete_provisioned(ctx, &reference.name, reference.qualifier.as_deref())
        .await
}

pub(crate) async fn list(
    lambda: &Lambda,
    ctx: &RequestContext,
    name: &str,
    input: wire::ListProvisionedConcurrencyConfigsRequest,
) -> Result<wire::ListProvisionedConcurrencyConfigsResponse, ServiceError> {
    let max = input.max_items.unwrap_or(MAX_PAGE);
    if !(1..=MAX_PAGE).contains(&max) {
        return Err(ServiceError::validation(
            "ValidationException",
            format!(
                "1 validation error detected: Value '{max}' at 'maxItems' failed to satisfy constraint: Member must have value {}",
                if max < 1 {
                    "greater than or equal to 1"
                } else {
                    "less than or equal to 50"
                }
            ),
        ));
    }
    let (reports, next) = lambda
        .list_provisioned(
            ctx,
            name,
            input.marker.as_deref(),
            usize::try_from(max).unwrap_or(50),
        )
        .await?;
    let items = reports
        .into_iter()
        .map(|report| {
            let arn = qualified_arn(ctx, name, &report.config.qualifier);
            let f = fields(report);
            wire::ProvisionedConcurrencyConfigListItem {
                function_arn: Some(arn),
                requested_provisioned_concurrent_executions: f.requested,
                available_provisioned_concurrent_executions: f.ready,
                allocated_provisioned_concurrent_executions: f.ready,
                status: f.status,
                status_reason: f.status_reason,
                last_modified: f.last_modified,
            }
        })
        .collect();
    Ok(wire::ListProvisionedConcurrencyConfigsResponse {
        provisioned_concurrency_configs: Some(items),
        next_marker: next,
    })
}
