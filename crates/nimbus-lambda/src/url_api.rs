//! Adapts the function URL operations to the generated wire shapes.

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::lambda as wire;

use crate::Lambda;
use crate::record::parse_function_ref;
use crate::url_configs::{UrlChange, url_qualifier};
use crate::wire_shapes::{cors_value, url_config};

/// The function and alias a URL operation names (`$LATEST`'s URL has no alias).
pub(crate) fn target(
    ctx: &RequestContext,
    text: &str,
    qualifier: Option<&str>,
) -> Result<(String, Option<String>), ServiceError> {
    let reference = parse_function_ref(ctx, text, qualifier)?;
    let alias = url_qualifier(reference.qualifier.as_deref())?;
    Ok((reference.name, alias))
}

pub(crate) async fn create(
    lambda: &Lambda,
    ctx: &RequestContext,
    input: wire::CreateFunctionUrlConfigRequest,
) -> Result<wire::CreateFunctionUrlConfigResponse, ServiceError> {
    let (name, alias) = target(ctx, &input.function_name, input.qualifier.as_deref())?;
    let change = UrlChange {
        auth_type: Some(input.auth_type),
        invoke_mode: input.invoke_mode,
        cors: cors_value(input.cors.as_ref()),
    };
    let config = lambda
        .put_url(ctx, &name, alias.clone(), change, true)
        .await?;
    let url = url_config(lambda, ctx, &name, alias.as_deref(), config);
    Ok(wire::CreateFunctionUrlConfigResponse {
        function_url: url.function_url,
        function_arn: url.function_arn,
        auth_type: url.auth_type,
        cors: url.cors,
        creation_time: url.creation_time,
        invoke_mode: url.invoke_mode,
    })
}

pub(crate) fn get(
    lambda: &Lambda,
    ctx: &RequestContext,
    input: &wire::GetFunctionUrlConfigRequest,
) -> Result<wire::GetFunctionUrlConfigResponse, ServiceError> {
    let (name, alias) = target(ctx, &input.function_name, input.qualifier.as_deref())?;
    let config = lambda.get_url(ctx, &name, alias.as_deref())?;
    let url = url_config(lambda, ctx, &name, alias.as_deref(), config);
    Ok(wire::GetFunctionUrlConfigResponse {
        function_url: url.function_url,
        function_arn: url.function_arn,
        auth_type: url.auth_type,
        cors: url.cors,
        creation_time: url.creation_time,
        last_modified_time: url.last_modified_time,
        invoke_mode: url.invoke_mode,
    })
}

pub(crate) async fn update(
    lambda: &Lambda,
    ctx: &RequestContext,
    input: wire::UpdateFunctionUrlConfigRequest,
) -> Result<wire::UpdateFunctionUrlConfigResponse, ServiceError> {
    let (name, alias) = target(ctx, &input.function_name, input.qualifier.as_deref())?;
    let change = UrlChange {
        auth_type: input.auth_type,
        invoke_mode: input.invoke_mode,
        cors: cors_value(input.cors.as_ref()),
    };
    let config = lambda
        .put_url(ctx, &name, alias.clone(), change, false)
        .await?;
    let url = url_config(lambda, ctx, &name, alias.as_deref(), config);
    Ok(wire::UpdateFunctionUrlConfigResponse {
        function_url: url.function_url,
        function_arn: url.function_arn,
        auth_type: url.auth_type,
        cors: url.cors,
        creation_time: url.creation_time,
        last_modified_time: url.last_modified_time,
        invoke_mode: url.invoke_mode,
    })
}

/// `$LATEST`'s URL and its aliases' URLs.
pub(crate) fn list(
    lambda: &Lambda,
    ctx: &RequestContext,
    name: &str,
) -> Result<wire::ListFunctionUrlConfigsResponse, ServiceError> {
    Ok(wire::ListFunctionUrlConfigsResponse {
        function_url_configs: lambda
            .list_urls(ctx, name)?
            .into_iter()
            .map(|(alias, c)| url_config(lambda, ctx, name, alias.as_deref(), c))
            .collect(),
        next_marker: None,
    })
}
