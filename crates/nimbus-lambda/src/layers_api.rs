//! The layer operations of the Lambda API, adapted to the domain in `layers`.

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::lambda as wire;

use crate::layers::{NewLayer, layer_arn, parse_layer_version_arn};
use crate::wire_shapes::{compatible, layer_output, list_item};
use crate::{Lambda, errors};

pub(crate) async fn publish_layer_version(
    lambda: &Lambda,
    ctx: &RequestContext,
    input: wire::PublishLayerVersionRequest,
) -> Result<wire::PublishLayerVersionResponse, ServiceError> {
    let Some(zip) = input.content.zip_file else {
        return Err(errors::invalid(
            "nimbus accepts layer content as ZipFile; S3 locations are not supported yet.",
        ));
    };
    let layer = NewLayer {
        name: input.layer_name,
        description: input.description.unwrap_or_default(),
        compatible_runtimes: input.compatible_runtimes.unwrap_or_default(),
        compatible_architectures: input.compatible_architectures.unwrap_or_default(),
        license_info: input.license_info,
    };
    let version = lambda
        .publish_layer_version(ctx, layer, zip.into_inner())
        .await?;
    let out = layer_output(ctx, version);
    Ok(wire::PublishLayerVersionResponse {
        content: out.content,
        layer_arn: out.layer_arn,
        layer_version_arn: out.layer_version_arn,
        description: out.description,
        created_date: out.created_date,
        version: out.version,
        compatible_runtimes: out.compatible_runtimes,
        license_info: out.license_info,
        compatible_architectures: out.compatible_architectures,
    })
}

pub(crate) async fn get_layer_version_by_arn(
    lambda: &Lambda,
    ctx: &RequestContext,
    input: wire::GetLayerVersionByArnRequest,
) -> Result<wire::GetLayerVersionResponse, ServiceError> {
    let (name, number) = parse_layer_version_arn(ctx, &input.arn).ok_or_else(|| {
        nimbus_model::lambda::errors::resource_not_found_exception(
            "The resource you requested does not exist.",
        )
    })?;
    Ok(layer_output(
        ctx,
        lambda.get_layer_version(ctx, &name, number)?,
    ))
}

pub(crate) async fn list_layers(
    lambda: &Lambda,
    ctx: &RequestContext,
    input: wire::ListLayersRequest,
) -> Result<wire::ListLayersResponse, ServiceError> {
    let versions = lambda.list_layer_versions(ctx, None)?;
    let mut layers: Vec<wire::LayersListItem> = Vec::new();
    for version in versions.into_iter().filter(|v| {
        compatible(
            v,
            input.compatible_runtime.as_deref(),
            input.compatible_architecture.as_deref(),
        )
    }) {
        if layers.last().and_then(|l| l.layer_name.as_deref()) == Some(version.name.as_str()) {
            continue; // newest matching version first
        }
        layers.push(wire::LayersListItem {
            layer_name: Some(version.name.clone()),
            layer_arn: Some(layer_arn(ctx, &version.name)),
            latest_matching_version: Some(list_item(ctx, version)),
        });
    }
    Ok(wire::ListLayersResponse {
        next_marker: None,
        layers: Some(layers),
    })
}

pub(crate) async fn list_layer_versions(
    lambda: &Lambda,
    ctx: &RequestContext,
    input: wire::ListLayerVersionsRequest,
) -> Result<wire::ListLayerVersionsResponse, ServiceError> {
    let versions = lambda.list_layer_versions(ctx, Some(&input.layer_name))?;
    Ok(wire::ListLayerVersionsResponse {
        next_marker: None,
        layer_versions: Some(
            versions
                .into_iter()
                .filter(|v| {
                    compatible(
                        v,
                        input.compatible_runtime.as_deref(),
                        input.compatible_architecture.as_deref(),
                    )
                })
                .map(|v| list_item(ctx, v))
                .collect(),
        ),
    })
}
