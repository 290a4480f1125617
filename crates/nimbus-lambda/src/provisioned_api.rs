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

/// One of the three answer shapes, which carry the same fields, filled from a report
/// (plus any `extra` fields, such as a list item's `FunctionArn`).
macro_rules! answer {
    ($shape:path, $report:expr $(, $field:ident: $value:expr)*) => {{
        let report: ProvisionedReport = $report;
        let ready = count(report.ready);
        $shape {
            requested_provisioned_concurrent_executions: count(report.config.requested),
            available_provisioned_concurrent_executions: ready,
            allocated_provisioned_concurrent_executions: ready,
            status: Some(report.status.to_owned()),
            status_reason: report.status_reason,
            last_modified: Some(report.config.last_modified),
            $($field: $value,)*
        }
    }};
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
    Ok(answer!(
        wire::PutProvisionedConcurrencyConfigResponse,
        report
    ))
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
    Ok(answer!(
        wire::GetProvisionedConcurrencyConfigResponse,
        report
    ))
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
                    "greater than or equal to 1".to_owned()
                } else {
                    format!("less than or equal to {MAX_PAGE}")
                }
            ),
        ));
    }
    let (reports, next) = lambda
        .list_provisioned(
            ctx,
            name,
            input.marker.as_deref(),
            usize::try_from(max).unwrap_or_default(),
        )
        .await?;
    let items = reports
        .into_iter()
        .map(|report| {
            let arn = qualified_arn(ctx, name, &report.config.qualifier);
            answer!(wire::ProvisionedConcurrencyConfigListItem, report, function_arn: Some(arn))
        })
        .collect();
    Ok(wire::ListProvisionedConcurrencyConfigsResponse {
        provisioned_concurrency_configs: Some(items),
        next_marker: next,
    })
}
