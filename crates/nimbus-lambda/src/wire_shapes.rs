//! Wire shapes Lambda answers with that several operations share: layer versions and
//! function URL configurations.

use nimbus_core::RequestContext;
use nimbus_model::lambda as wire;

use crate::Lambda;
use crate::layers::{LayerVersion, layer_arn};
use crate::record::{UrlConfig, function_arn};
use crate::versions::qualified_arn;

pub(crate) fn compatible(
    version: &LayerVersion,
    runtime: Option<&str>,
    architecture: Option<&str>,
) -> bool {
    runtime.is_none_or(|r| version.compatible_runtimes.iter().any(|c| c == r))
        && architecture.is_none_or(|a| version.compatible_architectures.iter().any(|c| c == a))
}

pub(crate) fn list_item(
    ctx: &RequestContext,
    version: LayerVersion,
) -> wire::LayerVersionsListItem {
    wire::LayerVersionsListItem {
        layer_version_arn: Some(format!(
            "{}:{}",
            layer_arn(ctx, &version.name),
            version.version
        )),
        version: Some(version.version),
        description: Some(version.description),
        created_date: Some(version.created),
        compatible_runtimes: Some(version.compatible_runtimes),
        license_info: version.license_info,
        compatible_architectures: Some(version.compatible_architectures),
    }
}

pub(crate) fn layer_output(
    ctx: &RequestContext,
    version: LayerVersion,
) -> wire::GetLayerVersionResponse {
    let arn = layer_arn(ctx, &version.name);
    wire::GetLayerVersionResponse {
        content: Some(wire::LayerVersionContentOutput {
            location: Some(crate::code_download::layer_code_url(
                ctx,
                &version.name,
                version.version,
            )),
            code_sha256: Some(version.code_sha256),
            code_size: Some(version.code_size),
            ..Default::default()
        }),
        layer_version_arn: Some(format!("{arn}:{}", version.version)),
        layer_arn: Some(arn),
        description: Some(version.description),
        created_date: Some(version.created),
        version: Some(version.version),
        compatible_runtimes: Some(version.compatible_runtimes),
        license_info: version.license_info,
        compatible_architectures: Some(version.compatible_architectures),
    }
}

pub(crate) fn cors_value(cors: Option<&wire::Cors>) -> Option<serde_json::Value> {
    cors.and_then(|c| serde_json::to_value(c).ok())
}

/// A URL configuration of `$LATEST` (`alias` is `None`) or of an alias.
pub(crate) fn url_config(
    lambda: &Lambda,
    ctx: &RequestContext,
    name: &str,
    alias: Option<&str>,
    config: UrlConfig,
) -> wire::FunctionUrlConfig {
    wire::FunctionUrlConfig {
        function_url: lambda.function_url(ctx, &config.id),
        function_arn: alias.map_or_else(
            || function_arn(ctx, name),
            |alias| qualified_arn(ctx, name, alias),
        ),
        creation_time: config.created,
        last_modified_time: config.last_modified,
        cors: config.cors.and_then(|c| serde_json::from_value(c).ok()),
        auth_type: config.auth_type,
        invoke_mode: Some(config.invoke_mode),
    }
}
