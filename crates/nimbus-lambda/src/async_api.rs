//! The asynchronous invocation settings operations (`*FunctionEventInvokeConfig*`), adapted
//! to the domain in `async_config`.

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::Timestamp;
use nimbus_model::lambda as wire;

use crate::async_config::{ConfigChange, EventInvokeConfig, qualifier_key};
use crate::record::{function_arn, parse_function_ref};
use crate::settings::check_range;
use crate::versions::Version;
use crate::{Lambda, errors};

const MAX_LIST_ITEMS: i32 = 50;

/// The function name and the qualifier a configuration is kept under.
fn target(
    ctx: &RequestContext,
    function: &str,
    qualifier: Option<&str>,
) -> Result<(String, String), ServiceError> {
    let reference = parse_function_ref(ctx, function, qualifier)?;
    Ok((
        reference.name,
        qualifier_key(reference.qualifier.as_deref()),
    ))
}

fn output(
    ctx: &RequestContext,
    name: &str,
    config: EventInvokeConfig,
) -> wire::FunctionEventInvokeConfig {
    wire::FunctionEventInvokeConfig {
        last_modified: Some(Timestamp::from_millis(config.last_modified_ms)),
        function_arn: Some(format!("{}:{}", function_arn(ctx, name), config.qualifier)),
        maximum_retry_attempts: config
            .max_retry_attempts
            .and_then(|n| i32::try_from(n).ok()),
        maximum_event_age_in_seconds: config
            .max_event_age_secs
            .and_then(|n| i32::try_from(n).ok()),
        destination_config: Some(wire::DestinationConfig {
            on_success: Some(wire::OnSuccess {
                destination: config.on_success,
            }),
            on_failure: Some(wire::OnFailure {
                destination: config.on_failure,
            }),
        }),
    }
}

/// Checks the settings Put and Update share and turns them into a change.
fn change(
    lambda: &Lambda,
    ctx: &RequestContext,
    name: &str,
    retries: Option<i32>,
    age: Option<i32>,
    destinations: Option<wire::DestinationConfig>,
) -> Result<ConfigChange, ServiceError> {
    if retries.is_none() && age.is_none() && destinations.is_none() {
        return Err(errors::invalid(
            "You must specify at least one of error handling or destination setting.",
        ));
    }
    let max_retry_attempts = retries
        .map(|n| check_range("maximumRetryAttempts", n, 0, 2))
        .transpose()?;
    let max_event_age_secs = age
        .map(|n| check_range("maximumEventAgeInSeconds", n, 60, 21_600))
        .transpose()?;
    let mut result = ConfigChange {
        max_retry_attempts,
        max_event_age_secs,
        ..ConfigChange::default()
    };
    if let Some(config) = destinations {
        let success = config
            .on_success
            .map(|d| d.destination.filter(|a| !a.is_empty()));
        let failure = config
            .on_failure
            .map(|d| d.destination.filter(|a| !a.is_empty()));
        for (field, destination) in [("onSuccess", &success), ("onFailure", &failure)] {
            if let Some(Some(arn)) = destination {
                lambda.check_destination(ctx, name, field, arn)?;
            }
        }
        result.on_success = Some(success.flatten());
        result.on_failure = Some(failure.flatten());
    }
    Ok(result)
}

pub(crate) async fn put(
    lambda: &Lambda,
    ctx: &RequestContext,
    input: wire::PutFunctionEventInvokeConfigRequest,
    replace: bool,
) -> Result<wire::FunctionEventInvokeConfig, ServiceError> {
    let (name, qualifier) = target(ctx, &input.function_name, input.qualifier.as_deref())?;
    // A version or alias must exist to carry settings.
    let exists = match Version::parse(&qualifier) {
        Some(Version::Latest) => true,
        Some(Version::Published(n)) => lambda.get_version(ctx, &name, n).is_ok(),
        None => lambda.get_alias(ctx, &name, &qualifier).is_ok(),
    };
    if !exists {
        return Err(nimbus_model::lambda::errors::resource_not_found_exception(
            "The function doesn't exist.",
        ));
    }
    let change = change(
        lambda,
        ctx,
        &name,
        input.maximum_retry_attempts,
        input.maximum_event_age_in_seconds,
        input.destination_config,
    )?;
    let config = lambda
        .put_event_invoke_config(ctx, &name, &qualifier, change, replace)
        .await?;
    Ok(output(ctx, &name, config))
}

pub(crate) async fn update(
    lambda: &Lambda,
    ctx: &RequestContext,
    input: wire::UpdateFunctionEventInvokeConfigRequest,
) -> Result<wire::FunctionEventInvokeConfig, ServiceError> {
    let as_put = wire::PutFunctionEventInvokeConfigRequest {
        function_name: input.function_name,
        qualifier: input.qualifier,
        maximum_retry_attempts: input.maximum_retry_attempts,
        maximum_event_age_in_seconds: input.maximum_event_age_in_seconds,
        destination_config: input.destination_config,
    };
    put(lambda, ctx, as_put, false).await
}

pub(crate) fn get(
    lambda: &Lambda,
    ctx: &RequestContext,
    input: &wire::GetFunctionEventInvokeConfigRequest,
) -> Result<wire::FunctionEventInvokeConfig, ServiceError> {
    let (name, qualifier) = target(ctx, &input.function_name, input.qualifier.as_deref())?;
    let config = lambda.get_event_invoke_config(ctx, &name, &qualifier)?;
    Ok(output(ctx, &name, config))
}

pub(crate) fn list(
    lambda: &Lambda,
    ctx: &RequestContext,
    input: &wire::ListFunctionEventInvokeConfigsRequest,
) -> Result<wire::ListFunctionEventInvokeConfigsResponse, ServiceError> {
    let (name, _) = target(ctx, &input.function_name, None)?;
    let max = match input.max_items {
        None => MAX_LIST_ITEMS,
        Some(n) => i32::try_from(check_range("maxItems", n, 1, MAX_LIST_ITEMS)?).unwrap_or(50),
    };
    let (configs, next) = lambda.list_event_invoke_configs(
        ctx,
        &name,
        input.marker.as_deref(),
        usize::try_from(max).unwrap_or(50),
    )?;
    Ok(wire::ListFunctionEventInvokeConfigsResponse {
        function_event_invoke_configs: Some(
            configs.into_iter().map(|c| output(ctx, &name, c)).collect(),
        ),
        next_marker: next,
    })
}

pub(crate) async fn delete(
    lambda: &Lambda,
    ctx: &RequestContext,
    input: &wire::DeleteFunctionEventInvokeConfigRequest,
) -> Result<(), ServiceError> {
    let (name, qualifier) = target(ctx, &input.function_name, input.qualifier.as_deref())?;
    lambda
        .delete_event_invoke_config(ctx, &name, &qualifier)
        .await
}
