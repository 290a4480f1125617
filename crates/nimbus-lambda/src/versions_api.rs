//! Adapts versions and aliases to the generated wire shapes, and reads qualified function
//! references for GetFunction, GetFunctionConfiguration and DeleteFunction.

use std::collections::BTreeMap;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::lambda as wire;

use crate::aliases::{AliasChange, AliasRecord};
use crate::record::{FunctionRecord, FunctionRef, function_arn};
use crate::settings::configuration_as;
use crate::versions::{PublishRequest, PublishedVersion, Version, qualified_arn};
use crate::{Lambda, errors};

/// Default and largest page of ListVersionsByFunction and ListAliases.
const DEFAULT_PAGE: i32 = 50;
const MAX_PAGE: i32 = 10_000;

fn page_size(max_items: Option<i32>) -> usize {
    usize::try_from(max_items.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)).unwrap_or(50)
}

/// The settings a possibly qualified reference names, and how to report them.
pub(crate) struct Resolved {
    pub record: FunctionRecord,
    /// The ARN as named: unqualified, or qualified by the version or alias given.
    pub arn: String,
    /// `$LATEST` or the version number (an alias reports the version it points to).
    pub version: String,
}

impl Resolved {
    pub fn configuration(&self) -> wire::FunctionConfiguration {
        configuration_as(&self.record, self.arn.clone(), &self.version)
    }
}

/// Reads the settings a reference names. An alias names its own version (not the one a
/// weighted invocation might run).
pub(crate) fn resolve(
    lambda: &Lambda,
    ctx: &RequestContext,
    reference: &FunctionRef,
) -> Result<Resolved, ServiceError> {
    let name = &reference.name;
    let Some(qualifier) = reference.qualifier.as_deref() else {
        return Ok(Resolved {
            record: lambda.get_function(ctx, name)?.record,
            arn: function_arn(ctx, name),
            version: "$LATEST".into(),
        });
    };
    let arn = qualified_arn(ctx, name, qualifier);
    let version = match Version::parse(qualifier) {
        Some(version) => version,
        None => {
            let alias = lambda
                .get_alias(ctx, name, qualifier)
                .map_err(|_| errors::function_not_found(&arn))?;
            Version::parse(&alias.function_version).unwrap_or(Version::Latest)
        }
    };
    let record = match version {
        Version::Latest => lambda.get_function(ctx, name)?.record,
        Version::Published(n) => {
            lambda.get_function(ctx, name)?;
            lambda.get_version(ctx, name, n)?
        }
    };
    Ok(Resolved {
        record,
        arn,
        version: version.label(),
    })
}

pub(crate) fn version_configuration(
    ctx: &RequestContext,
    version: &PublishedVersion,
) -> wire::FunctionConfiguration {
    let label = version.number.to_string();
    configuration_as(
        &version.record,
        qualified_arn(ctx, &version.record.name, &label),
        &label,
    )
}

/// DeleteFunction with a qualifier deletes one version.
pub(crate) async fn delete_qualified(
    lambda: &Lambda,
    ctx: &RequestContext,
    name: &str,
    qualifier: &str,
) -> Result<(), ServiceError> {
    match Version::parse(qualifier) {
        Some(Version::Published(n)) => lambda.delete_version(ctx, name, n).await,
        Some(Version::Latest) => Err(errors::invalid(
            "$LATEST version cannot be deleted without deleting the function.",
        )),
        None => Err(errors::invalid("Deletion of aliases is not supported.")),
    }
}

pub(crate) async fn publish(
    lambda: &Lambda,
    ctx: &RequestContext,
    name: &str,
    request: PublishRequest,
) -> Result<wire::FunctionConfiguration, ServiceError> {
    let version = lambda.publish_version(ctx, name, request).await?;
    Ok(version_configuration(ctx, &version))
}

pub(crate) fn list_versions(
    lambda: &Lambda,
    ctx: &RequestContext,
    name: &str,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> Result<wire::ListVersionsByFunctionResponse, ServiceError> {
    let max = page_size(max_items);
    let latest = lambda.get_function(ctx, name)?.record;
    let (include_latest, after) = match marker.map(Version::parse) {
        None => (true, 0),
        Some(Some(Version::Latest)) => (false, 0),
        Some(Some(Version::Published(n))) => (false, n),
        Some(None) => return Err(errors::invalid("Invalid Marker")),
    };
    let mut items = Vec::new();
    if include_latest {
        items.push(configuration_as(
            &latest,
            qualified_arn(ctx, name, "$LATEST"),
            "$LATEST",
        ));
    }
    let room = max - items.len();
    let (versions, more_versions) = if room == 0 {
        let (peek, _) = lambda.list_versions(ctx, name, after, 1)?;
        (Vec::new(), !peek.is_empty())
    } else {
        lambda.list_versions(ctx, name, after, room)?
    };
    let last_label = versions
        .last()
        .map(|v| v.number.to_string())
        .unwrap_or_else(|| "$LATEST".into());
    items.extend(versions.iter().map(|v| version_configuration(ctx, v)));
    Ok(wire::ListVersionsByFunctionResponse {
        versions: Some(items),
        next_marker: more_versions.then_some(last_label),
    })
}

/// Functions in name order without a page limit, for listings that flatten versions.
const EVERY_FUNCTION: usize = 1_000_000;

/// ListFunctions with `FunctionVersion=ALL`: each function's `$LATEST` followed by its
/// versions, `max` entries a page; the marker is the last entry's qualified name.
pub(crate) fn list_every_version(
    lambda: &Lambda,
    ctx: &RequestContext,
    marker: Option<&str>,
    max: usize,
) -> Result<wire::ListFunctionsResponse, ServiceError> {
    let (functions, _) = lambda.list_functions(ctx, None, EVERY_FUNCTION)?;
    let mut entries: Vec<(String, wire::FunctionConfiguration)> = Vec::new();
    for latest in functions {
        let name = latest.name.clone();
        let (versions, _) = lambda.list_versions(ctx, &name, 0, EVERY_FUNCTION)?;
        let arn = qualified_arn(ctx, &name, "$LATEST");
        entries.push((
            format!("{name}:$LATEST"),
            configuration_as(&latest, arn, "$LATEST"),
        ));
        for version in &versions {
            entries.push((
                format!("{name}:{}", version.number),
                version_configuration(ctx, version),
            ));
        }
    }
    let start = match marker {
        None => 0,
        Some(m) => entries
            .iter()
            .position(|(key, _)| key == m)
            .map(|i| i + 1)
            .ok_or_else(|| errors::invalid("Invalid Marker"))?,
    };
    let rest: Vec<_> = entries.into_iter().skip(start).collect();
    let next_marker = (rest.len() > max).then(|| rest[max - 1].0.clone());
    Ok(wire::ListFunctionsResponse {
        functions: Some(rest.into_iter().take(max).map(|(_, c)| c).collect()),
        next_marker,
    })
}

fn routing_of(config: Option<wire::AliasRoutingConfiguration>) -> Option<BTreeMap<String, f64>> {
    config.map(|c| {
        c.additional_version_weights
            .unwrap_or_default()
            .into_iter()
            .collect()
    })
}

pub(crate) fn alias_configuration(
    ctx: &RequestContext,
    function: &str,
    alias: AliasRecord,
) -> wire::AliasConfiguration {
    wire::AliasConfiguration {
        alias_arn: Some(qualified_arn(ctx, function, &alias.name)),
        name: Some(alias.name),
        function_version: Some(alias.function_version),
        description: Some(alias.description),
        routing_config: (!alias.routing.is_empty()).then(|| wire::AliasRoutingConfiguration {
            additional_version_weights: Some(alias.routing.into_iter().collect()),
        }),
        revision_id: Some(alias.revision_id),
    }
}

pub(crate) async fn create_alias(
    lambda: &Lambda,
    ctx: &RequestContext,
    name: &str,
    input: wire::CreateAliasRequest,
) -> Result<wire::AliasConfiguration, ServiceError> {
    let change = AliasChange {
        function_version: Some(input.function_version),
        description: input.description,
        routing: routing_of(input.routing_config),
        revision_id: None,
    };
    let alias = lambda.create_alias(ctx, name, &input.name, change).await?;
    Ok(alias_configuration(ctx, name, alias))
}

pub(crate) async fn update_alias(
    lambda: &Lambda,
    ctx: &RequestContext,
    name: &str,
    input: wire::UpdateAliasRequest,
) -> Result<wire::AliasConfiguration, ServiceError> {
    let change = AliasChange {
        function_version: input.function_version,
        description: input.description,
        routing: routing_of(input.routing_config),
        revision_id: input.revision_id,
    };
    let alias = lambda.update_alias(ctx, name, &input.name, change).await?;
    Ok(alias_configuration(ctx, name, alias))
}

pub(crate) fn list_aliases(
    lambda: &Lambda,
    ctx: &RequestContext,
    name: &str,
    input: &wire::ListAliasesRequest,
) -> Result<wire::ListAliasesResponse, ServiceError> {
    let max = page_size(input.max_items);
    let mut aliases: Vec<AliasRecord> = lambda
        .list_aliases(ctx, name, input.function_version.as_deref())?
        .into_iter()
        .filter(|a| input.marker.as_deref().is_none_or(|m| a.name.as_str() > m))
        .collect();
    let next_marker = (aliases.len() > max).then(|| aliases[max - 1].name.clone());
    aliases.truncate(max);
    Ok(wire::ListAliasesResponse {
        aliases: Some(
            aliases
                .into_iter()
                .map(|a| alias_configuration(ctx, name, a))
                .collect(),
        ),
        next_marker,
    })
}
