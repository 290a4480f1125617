//! Adapts the generated Lambda wire shapes to the domain operations.

use std::collections::BTreeMap;
use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::Blob;
use nimbus_model::lambda::{self as wire, LambdaApi};

use crate::code_download::function_code_url;
use crate::invoke::{InvokeMode, InvokeRequest};
use crate::policy::Grant;
use crate::record::{FunctionRef, function_arn, parse_function_ref};
use crate::settings::{apply_update, configuration, new_record};
use crate::url_api;
use crate::versions::PublishRequest;
use crate::versions_api;
use crate::wire_shapes::layer_output;
use crate::{Lambda, errors};
use crate::{async_api, esm, layers_api, provisioned_api};

/// The Lambda service as the generated dispatcher calls it.
#[derive(Clone)]
pub struct LambdaService(pub Arc<Lambda>);

/// Operations on `$LATEST` only: a version or alias qualifier names nothing they act on.
fn latest_only(ctx: &RequestContext, reference: &FunctionRef) -> Result<(), ServiceError> {
    match reference.qualifier.as_deref() {
        None | Some("$LATEST") => Ok(()),
        Some(q) => Err(errors::function_not_found(&format!(
            "{}:{q}",
            function_arn(ctx, &reference.name)
        ))),
    }
}

fn function_name(
    ctx: &RequestContext,
    text: &str,
    qualifier: Option<&str>,
) -> Result<String, ServiceError> {
    let reference = parse_function_ref(ctx, text, qualifier)?;
    latest_only(ctx, &reference)?;
    Ok(reference.name)
}

/// Tags name functions by ARN.
fn function_of_arn(ctx: &RequestContext, arn: &str) -> Result<String, ServiceError> {
    if !arn.starts_with("arn:") {
        return Err(errors::invalid(format!("Invalid ARN: {arn}")));
    }
    function_name(ctx, arn, None)
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), ServiceError> {
    if tags.len() > 50 {
        return Err(errors::invalid(
            "Number of tags exceeds resource tag limit.",
        ));
    }
    Ok(())
}

const MAX_LIST_ITEMS: i32 = 50;

impl LambdaApi for LambdaService {
    async fn create_function(
        &self,
        ctx: &RequestContext,
        mut input: wire::CreateFunctionRequest,
    ) -> Result<wire::FunctionConfiguration, ServiceError> {
        let name = function_name(ctx, &input.function_name, None)?;
        input.function_name = name;
        let record = new_record(&mut input)?;
        self.0.check_layers(ctx, &record.layers)?;
        let Some(zip) = input.code.zip_file.take() else {
            return Err(errors::invalid(
                "nimbus accepts function code as ZipFile; S3 locations are not supported yet.",
            ));
        };
        let tags: BTreeMap<String, String> = input.tags.unwrap_or_default().into_iter().collect();
        check_tags(&tags)?;
        let record = self
            .0
            .create_function(ctx, record, zip.into_inner(), tags)
            .await?;
        if input.publish == Some(true) {
            return versions_api::publish(&self.0, ctx, &record.name, PublishRequest::default())
                .await;
        }
        Ok(configuration(ctx, &record))
    }

    async fn get_function(
        &self,
        ctx: &RequestContext,
        input: wire::GetFunctionRequest,
    ) -> Result<wire::GetFunctionResponse, ServiceError> {
        let reference = parse_function_ref(ctx, &input.function_name, input.qualifier.as_deref())?;
        let resolved = versions_api::resolve(&self.0, ctx, &reference)?;
        let function = self.0.get_function(ctx, &reference.name)?;
        Ok(wire::GetFunctionResponse {
            configuration: Some(resolved.configuration()),
            code: Some(wire::FunctionCodeLocation {
                repository_type: Some("S3".into()),
                location: Some(function_code_url(ctx, &reference.name, &resolved.version)),
                ..Default::default()
            }),
            tags: (!function.tags.is_empty()).then(|| function.tags.into_iter().collect()),
            concurrency: function
                .record
                .reserved_concurrency
                .map(|r| wire::Concurrency {
                    reserved_concurrent_executions: i32::try_from(r).ok(),
                }),
            ..Default::default()
        })
    }

    async fn get_function_configuration(
        &self,
        ctx: &RequestContext,
        input: wire::GetFunctionConfigurationRequest,
    ) -> Result<wire::FunctionConfiguration, ServiceError> {
        let reference = parse_function_ref(ctx, &input.function_name, input.qualifier.as_deref())?;
        Ok(versions_api::resolve(&self.0, ctx, &reference)?.configuration())
    }

    async fn list_functions(
        &self,
        ctx: &RequestContext,
        input: wire::ListFunctionsRequest,
    ) -> Result<wire::ListFunctionsResponse, ServiceError> {
        let max = input
            .max_items
            .unwrap_or(MAX_LIST_ITEMS)
            .clamp(1, MAX_LIST_ITEMS);
        match input.function_version.as_deref() {
            None => {}
            Some("ALL") => {
                return versions_api::list_every_version(
                    &self.0,
                    ctx,
                    input.marker.as_deref(),
                    usize::try_from(max).unwrap_or(50),
                );
            }
            Some(other) => {
                return Err(ServiceError::validation(
                    "ValidationException",
                    format!(
                        "1 validation error detected: Value '{other}' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]"
                    ),
                ));
            }
        }
        let (functions, next) = self.0.list_functions(
            ctx,
            input.marker.as_deref(),
            usize::try_from(max).unwrap_or(50),
        )?;
        Ok(wire::ListFunctionsResponse {
            functions: Some(functions.iter().map(|f| configuration(ctx, f)).collect()),
            next_marker: next,
        })
    }

    async fn update_function_code(
        &self,
        ctx: &RequestContext,
        input: wire::UpdateFunctionCodeRequest,
    ) -> Result<wire::FunctionConfiguration, ServiceError> {
        let name = function_name(ctx, &input.function_name, None)?;
        let Some(zip) = input.zip_file else {
            return Err(errors::invalid(
                "nimbus accepts function code as ZipFile; S3 locations are not supported yet.",
            ));
        };
        let architectures = input.architectures;
        let record = self
            .0
            .update_function(
                ctx,
                &name,
                input.revision_id,
                Some(zip.into_inner()),
                move |f| {
                    if let Some(architectures) = architectures {
                        f.record.architectures = architectures;
                    }
                    Ok(())
                },
            )
            .await?;
        if input.publish == Some(true) {
            return versions_api::publish(&self.0, ctx, &name, PublishRequest::default()).await;
        }
        Ok(configuration(ctx, &record))
    }

    async fn update_function_configuration(
        &self,
        ctx: &RequestContext,
        mut input: wire::UpdateFunctionConfigurationRequest,
    ) -> Result<wire::FunctionConfiguration, ServiceError> {
        let name = function_name(ctx, &input.function_name, None)?;
        let revision = input.revision_id.take();
        if let Some(layers) = &input.layers {
            self.0.check_layers(ctx, layers)?;
        }
        let record = self
            .0
            .update_function(ctx, &name, revision, None, move |f| {
                apply_update(&mut f.record, input)
            })
            .await?;
        Ok(configuration(ctx, &record))
    }

    async fn delete_function(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteFunctionRequest,
    ) -> Result<wire::DeleteFunctionResponse, ServiceError> {
        let reference = parse_function_ref(ctx, &input.function_name, input.qualifier.as_deref())?;
        match reference.qualifier.as_deref() {
            Some(qualifier) => {
                versions_api::delete_qualified(&self.0, ctx, &reference.name, qualifier).await?;
            }
            None => self.0.delete_function(ctx, &reference.name).await?,
        }
        Ok(wire::DeleteFunctionResponse {
            status_code: Some(204),
        })
    }

    async fn invoke(
        &self,
        ctx: &RequestContext,
        input: wire::InvocationRequest,
    ) -> Result<wire::InvocationResponse, ServiceError> {
        let mode = match input.invocation_type.as_deref() {
            None | Some("RequestResponse") => InvokeMode::RequestResponse,
            Some("Event") => InvokeMode::Event,
            Some("DryRun") => InvokeMode::DryRun,
            Some(other) => {
                return Err(ServiceError::validation(
                    "ValidationException",
                    format!(
                        "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
                    ),
                ));
            }
        };
        let want_log = match input.log_type.as_deref() {
            None | Some("None") => false,
            Some("Tail") => mode == InvokeMode::RequestResponse,
            Some(other) => {
                return Err(ServiceError::validation(
                    "ValidationException",
                    format!(
                        "1 validation error detected: Value '{other}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [Tail, None]"
                    ),
                ));
            }
        };
        let payload = input.payload.map(Blob::into_inner).unwrap_or_default();
        let request = InvokeRequest {
            function: input.function_name,
            qualifier: input.qualifier,
            payload: payload.into(),
            mode,
            want_log,
            client_context: input.client_context,
            request_id: Some(ctx.request_id.clone()),
        };
        let output = self.0.invoke(ctx, request).await?;
        Ok(wire::InvocationResponse {
            status_code: Some(i32::from(output.status)),
            function_error: output.function_error,
            log_result: output.log_result,
            payload: (output.status == 200).then(|| Blob(output.payload.to_vec())),
            executed_version: output.executed_version,
            durable_execution_arn: None,
        })
    }

    async fn put_function_concurrency(
        &self,
        ctx: &RequestContext,
        input: wire::PutFunctionConcurrencyRequest,
    ) -> Result<wire::Concurrency, ServiceError> {
        let name = function_name(ctx, &input.function_name, None)?;
        self.0
            .put_reserved_concurrency(ctx, &name, input.reserved_concurrent_executions)
            .await
    }

    async fn get_function_concurrency(
        &self,
        ctx: &RequestContext,
        input: wire::GetFunctionConcurrencyRequest,
    ) -> Result<wire::GetFunctionConcurrencyResponse, ServiceError> {
        let name = function_name(ctx, &input.function_name, None)?;
        let function = self.0.get_function(ctx, &name)?;
        Ok(wire::GetFunctionConcurrencyResponse {
            reserved_concurrent_executions: function
                .record
                .reserved_concurrency
                .and_then(|r| i32::try_from(r).ok()),
        })
    }

    async fn delete_function_concurrency(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteFunctionConcurrencyRequest,
    ) -> Result<(), ServiceError> {
        let name = function_name(ctx, &input.function_name, None)?;
        self.0.delete_reserved_concurrency(ctx, &name).await
    }

    async fn put_provisioned_concurrency_config(
        &self,
        ctx: &RequestContext,
        input: wire::PutProvisionedConcurrencyConfigRequest,
    ) -> Result<wire::PutProvisionedConcurrencyConfigResponse, ServiceError> {
        provisioned_api::put(&self.0, ctx, input).await
    }

    async fn get_provisioned_concurrency_config(
        &self,
        ctx: &RequestContext,
        input: wire::GetProvisionedConcurrencyConfigRequest,
    ) -> Result<wire::GetProvisionedConcurrencyConfigResponse, ServiceError> {
        provisioned_api::get(&self.0, ctx, input).await
    }

    async fn delete_provisioned_concurrency_config(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteProvisionedConcurrencyConfigRequest,
    ) -> Result<(), ServiceError> {
        provisioned_api::delete(&self.0, ctx, input).await
    }

    async fn list_provisioned_concurrency_configs(
        &self,
        ctx: &RequestContext,
        input: wire::ListProvisionedConcurrencyConfigsRequest,
    ) -> Result<wire::ListProvisionedConcurrencyConfigsResponse, ServiceError> {
        let name = function_name(ctx, &input.function_name, None)?;
        provisioned_api::list(&self.0, ctx, &name, input).await
    }

    async fn get_account_settings(
        &self,
        ctx: &RequestContext,
        _input: wire::GetAccountSettingsRequest,
    ) -> Result<wire::GetAccountSettingsResponse, ServiceError> {
        let (functions, reserved, code) = self.0.account_usage(ctx)?;
        let limit = i32::try_from(self.0.config.account_concurrency).unwrap_or(i32::MAX);
        Ok(wire::GetAccountSettingsResponse {
            account_limit: Some(wire::AccountLimit {
                total_code_size: Some(80 * 1024 * 1024 * 1024),
                code_size_unzipped: Some(262_144_000),
                code_size_zipped: Some(52_428_800),
                concurrent_executions: Some(limit),
                unreserved_concurrent_executions: Some(
                    limit.saturating_sub(i32::try_from(reserved).unwrap_or(i32::MAX)),
                ),
            }),
            account_usage: Some(wire::AccountUsage {
                total_code_size: Some(code),
                function_count: Some(functions),
            }),
        })
    }

    async fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: wire::TagResourceRequest,
    ) -> Result<(), ServiceError> {
        let name = function_of_arn(ctx, &input.resource)?;
        self.0
            .update_function(ctx, &name, None, None, move |f| {
                f.tags.extend(input.tags);
                check_tags(&f.tags)
            })
            .await?;
        Ok(())
    }

    async fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: wire::UntagResourceRequest,
    ) -> Result<(), ServiceError> {
        let name = function_of_arn(ctx, &input.resource)?;
        self.0
            .update_function(ctx, &name, None, None, move |f| {
                for key in &input.tag_keys {
                    f.tags.remove(key);
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn list_tags(
        &self,
        ctx: &RequestContext,
        input: wire::ListTagsRequest,
    ) -> Result<wire::ListTagsResponse, ServiceError> {
        let name = function_of_arn(ctx, &input.resource)?;
        let function = self.0.get_function(ctx, &name)?;
        Ok(wire::ListTagsResponse {
            tags: Some(function.tags.into_iter().collect()),
        })
    }

    async fn create_function_url_config(
        &self,
        ctx: &RequestContext,
        input: wire::CreateFunctionUrlConfigRequest,
    ) -> Result<wire::CreateFunctionUrlConfigResponse, ServiceError> {
        url_api::create(&self.0, ctx, input).await
    }

    async fn get_function_url_config(
        &self,
        ctx: &RequestContext,
        input: wire::GetFunctionUrlConfigRequest,
    ) -> Result<wire::GetFunctionUrlConfigResponse, ServiceError> {
        url_api::get(&self.0, ctx, &input)
    }

    async fn update_function_url_config(
        &self,
        ctx: &RequestContext,
        input: wire::UpdateFunctionUrlConfigRequest,
    ) -> Result<wire::UpdateFunctionUrlConfigResponse, ServiceError> {
        url_api::update(&self.0, ctx, input).await
    }

    async fn delete_function_url_config(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteFunctionUrlConfigRequest,
    ) -> Result<(), ServiceError> {
        let (name, alias) = url_api::target(ctx, &input.function_name, input.qualifier.as_deref())?;
        self.0.delete_url(ctx, &name, alias.as_deref()).await
    }

    async fn list_function_url_configs(
        &self,
        ctx: &RequestContext,
        input: wire::ListFunctionUrlConfigsRequest,
    ) -> Result<wire::ListFunctionUrlConfigsResponse, ServiceError> {
        let name = function_name(ctx, &input.function_name, None)?;
        url_api::list(&self.0, ctx, &name)
    }

    async fn add_permission(
        &self,
        ctx: &RequestContext,
        input: wire::AddPermissionRequest,
    ) -> Result<wire::AddPermissionResponse, ServiceError> {
        let reference = parse_function_ref(ctx, &input.function_name, input.qualifier.as_deref())?;
        let grant = Grant {
            statement_id: input.statement_id,
            action: input.action,
            principal: input.principal,
            source_arn: input.source_arn,
            source_account: input.source_account,
            principal_org_id: input.principal_org_id,
            function_url_auth_type: input.function_url_auth_type,
        };
        let statement = self
            .0
            .add_permission(ctx, &reference, grant, input.revision_id)
            .await?;
        Ok(wire::AddPermissionResponse {
            statement: Some(statement),
        })
    }

    async fn remove_permission(
        &self,
        ctx: &RequestContext,
        input: wire::RemovePermissionRequest,
    ) -> Result<(), ServiceError> {
        let reference = parse_function_ref(ctx, &input.function_name, input.qualifier.as_deref())?;
        self.0
            .remove_permission(ctx, &reference, input.statement_id, input.revision_id)
            .await
    }

    async fn get_policy(
        &self,
        ctx: &RequestContext,
        input: wire::GetPolicyRequest,
    ) -> Result<wire::GetPolicyResponse, ServiceError> {
        let reference = parse_function_ref(ctx, &input.function_name, input.qualifier.as_deref())?;
        let (policy, revision) = self.0.get_policy(ctx, &reference)?;
        Ok(wire::GetPolicyResponse {
            policy: Some(policy),
            revision_id: Some(revision),
        })
    }

    async fn publish_layer_version(
        &self,
        ctx: &RequestContext,
        input: wire::PublishLayerVersionRequest,
    ) -> Result<wire::PublishLayerVersionResponse, ServiceError> {
        layers_api::publish_layer_version(&self.0, ctx, input).await
    }

    async fn get_layer_version(
        &self,
        ctx: &RequestContext,
        input: wire::GetLayerVersionRequest,
    ) -> Result<wire::GetLayerVersionResponse, ServiceError> {
        let version = self
            .0
            .get_layer_version(ctx, &input.layer_name, input.version_number)?;
        Ok(layer_output(ctx, version))
    }

    async fn get_layer_version_by_arn(
        &self,
        ctx: &RequestContext,
        input: wire::GetLayerVersionByArnRequest,
    ) -> Result<wire::GetLayerVersionResponse, ServiceError> {
        layers_api::get_layer_version_by_arn(&self.0, ctx, input).await
    }

    async fn list_layers(
        &self,
        ctx: &RequestContext,
        input: wire::ListLayersRequest,
    ) -> Result<wire::ListLayersResponse, ServiceError> {
        layers_api::list_layers(&self.0, ctx, input).await
    }

    async fn list_layer_versions(
        &self,
        ctx: &RequestContext,
        input: wire::ListLayerVersionsRequest,
    ) -> Result<wire::ListLayerVersionsResponse, ServiceError> {
        layers_api::list_layer_versions(&self.0, ctx, input).await
    }

    async fn delete_layer_version(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteLayerVersionRequest,
    ) -> Result<(), ServiceError> {
        self.0
            .delete_layer_version(ctx, &input.layer_name, input.version_number)
            .await
    }

    async fn put_function_event_invoke_config(
        &self,
        ctx: &RequestContext,
        input: wire::PutFunctionEventInvokeConfigRequest,
    ) -> Result<wire::FunctionEventInvokeConfig, ServiceError> {
        async_api::put(&self.0, ctx, input, true).await
    }

    async fn update_function_event_invoke_config(
        &self,
        ctx: &RequestContext,
        input: wire::UpdateFunctionEventInvokeConfigRequest,
    ) -> Result<wire::FunctionEventInvokeConfig, ServiceError> {
        async_api::update(&self.0, ctx, input).await
    }

    async fn get_function_event_invoke_config(
        &self,
        ctx: &RequestContext,
        input: wire::GetFunctionEventInvokeConfigRequest,
    ) -> Result<wire::FunctionEventInvokeConfig, ServiceError> {
        async_api::get(&self.0, ctx, &input)
    }

    async fn list_function_event_invoke_configs(
        &self,
        ctx: &RequestContext,
        input: wire::ListFunctionEventInvokeConfigsRequest,
    ) -> Result<wire::ListFunctionEventInvokeConfigsResponse, ServiceError> {
        async_api::list(&self.0, ctx, &input)
    }

    async fn delete_function_event_invoke_config(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteFunctionEventInvokeConfigRequest,
    ) -> Result<(), ServiceError> {
        async_api::delete(&self.0, ctx, &input).await
    }

    async fn publish_version(
        &self,
        ctx: &RequestContext,
        input: wire::PublishVersionRequest,
    ) -> Result<wire::FunctionConfiguration, ServiceError> {
        let name = function_name(ctx, &input.function_name, None)?;
        let request = PublishRequest {
            description: input.description,
            code_sha256: input.code_sha256,
            revision_id: input.revision_id,
        };
        versions_api::publish(&self.0, ctx, &name, request).await
    }

    async fn list_versions_by_function(
        &self,
        ctx: &RequestContext,
        input: wire::ListVersionsByFunctionRequest,
    ) -> Result<wire::ListVersionsByFunctionResponse, ServiceError> {
        let name = function_name(ctx, &input.function_name, None)?;
        versions_api::list_versions(
            &self.0,
            ctx,
            &name,
            input.marker.as_deref(),
            input.max_items,
        )
    }

    async fn create_alias(
        &self,
        ctx: &RequestContext,
        input: wire::CreateAliasRequest,
    ) -> Result<wire::AliasConfiguration, ServiceError> {
        let name = function_name(ctx, &input.function_name, None)?;
        versions_api::create_alias(&self.0, ctx, &name, input).await
    }

    async fn update_alias(
        &self,
        ctx: &RequestContext,
        input: wire::UpdateAliasRequest,
    ) -> Result<wire::AliasConfiguration, ServiceError> {
        let name = function_name(ctx, &input.function_name, None)?;
        versions_api::update_alias(&self.0, ctx, &name, input).await
    }

    async fn get_alias(
        &self,
        ctx: &RequestContext,
        input: wire::GetAliasRequest,
    ) -> Result<wire::AliasConfiguration, ServiceError> {
        let name = function_name(ctx, &input.function_name, None)?;
        let alias = self.0.get_alias(ctx, &name, &input.name)?;
        Ok(versions_api::alias_configuration(ctx, &name, alias))
    }

    async fn list_aliases(
        &self,
        ctx: &RequestContext,
        input: wire::ListAliasesRequest,
    ) -> Result<wire::ListAliasesResponse, ServiceError> {
        let name = function_name(ctx, &input.function_name, None)?;
        versions_api::list_aliases(&self.0, ctx, &name, &input)
    }

    async fn delete_alias(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteAliasRequest,
    ) -> Result<(), ServiceError> {
        let name = function_name(ctx, &input.function_name, None)?;
        self.0.delete_alias(ctx, &name, &input.name).await
    }

    async fn create_event_source_mapping(
        &self,
        ctx: &RequestContext,
        input: wire::CreateEventSourceMappingRequest,
    ) -> Result<wire::EventSourceMappingConfiguration, ServiceError> {
        let mapping = self.0.create_mapping(ctx, input).await?;
        Ok(esm::configuration(&mapping))
    }

    async fn get_event_source_mapping(
        &self,
        ctx: &RequestContext,
        input: wire::GetEventSourceMappingRequest,
    ) -> Result<wire::EventSourceMappingConfiguration, ServiceError> {
        Ok(esm::configuration(&self.0.get_mapping(ctx, &input.uuid)?))
    }

    async fn list_event_source_mappings(
        &self,
        ctx: &RequestContext,
        input: wire::ListEventSourceMappingsRequest,
    ) -> Result<wire::ListEventSourceMappingsResponse, ServiceError> {
        let (page, next) = self.0.list_mapping_page(ctx, &input)?;
        Ok(wire::ListEventSourceMappingsResponse {
            next_marker: next,
            event_source_mappings: Some(page.iter().map(esm::configuration).collect()),
        })
    }

    async fn update_event_source_mapping(
        &self,
        ctx: &RequestContext,
        input: wire::UpdateEventSourceMappingRequest,
    ) -> Result<wire::EventSourceMappingConfiguration, ServiceError> {
        let mapping = self.0.update_mapping(ctx, input).await?;
        Ok(esm::configuration(&mapping))
    }

    async fn delete_event_source_mapping(
        &self,
        ctx: &RequestContext,
        input: wire::DeleteEventSourceMappingRequest,
    ) -> Result<wire::EventSourceMappingConfiguration, ServiceError> {
        let mapping = self.0.delete_mapping(ctx, &input.uuid).await?;
        Ok(esm::configuration(&mapping))
    }

    async fn reset(&self) -> Result<(), ServiceError> {
        self.0.reset().await
    }
}
