//! Function settings from CreateFunction and UpdateFunctionConfiguration, checked against
//! AWS's limits, and the `FunctionConfiguration` AWS reports.

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::lambda as wire;
use nimbus_runtime::RuntimeFamily;

use crate::deploy::is_reserved;
use crate::record::{FunctionRecord, function_arn};
use crate::{errors, logging_config};

/// The runtimes nimbus runs on the host.
pub const SUPPORTED_RUNTIMES: &[&str] = &[
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
    "nodejs24.x",
    "provided",
    "provided.al2",
    "provided.al2023",
];

pub fn check_runtime(runtime: &str) -> Result<(), ServiceError> {
    if SUPPORTED_RUNTIMES.contains(&runtime) {
        return Ok(());
    }
    Err(errors::invalid(format!(
        "The runtime parameter of {runtime} is not supported by nimbus. Supported runtimes: {}",
        SUPPORTED_RUNTIMES.join(", ")
    )))
}

pub(crate) fn check_range(
    field: &str,
    value: i32,
    min: i32,
    max: i32,
) -> Result<u32, ServiceError> {
    if (min..=max).contains(&value) {
        return u32::try_from(value).map_err(|_| errors::invalid(format!("{field} is invalid")));
    }
    Err(ServiceError::validation(
        "ValidationException",
        format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must have value {}",
            if value < min {
                format!("greater than or equal to {min}")
            } else {
                format!("less than or equal to {max}")
            }
        ),
    ))
}

pub fn check_timeout(value: i32) -> Result<u32, ServiceError> {
    check_range("timeout", value, 1, 900)
}

pub fn check_memory(value: i32) -> Result<u32, ServiceError> {
    check_range("memorySize", value, 128, 10240)
}

fn check_environment(
    env: Option<wire::Environment>,
) -> Result<Option<std::collections::BTreeMap<String, String>>, ServiceError> {
    let Some(vars) = env.map(|e| e.variables.unwrap_or_default()) else {
        return Ok(None);
    };
    if let Some(reserved) = vars.keys().find(|k| is_reserved(k)) {
        return Err(errors::invalid(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {reserved}"
        )));
    }
    let size: usize = vars.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > 4096 {
        return Err(errors::invalid(
            "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit.",
        ));
    }
    Ok(Some(vars.into_iter().collect()))
}

fn check_handler(runtime: &str, handler: Option<&String>) -> Result<(), ServiceError> {
    let needs_handler = RuntimeFamily::of(runtime) != Some(RuntimeFamily::Provided);
    if needs_handler && handler.is_none_or(String::is_empty) {
        return Err(errors::invalid(
            "Handler is required for the runtime of this function.",
        ));
    }
    Ok(())
}

/// A new function's record from CreateFunction (code fields are filled in on create).
pub fn new_record(input: &mut wire::CreateFunctionRequest) -> Result<FunctionRecord, ServiceError> {
    if input.package_type.as_deref() == Some("Image") || input.code.image_uri.is_some() {
        return Err(errors::invalid(
            "nimbus runs Zip packages only; container images are not supported.",
        ));
    }
    let runtime = input
        .runtime
        .clone()
        .ok_or_else(|| errors::invalid("Runtime and Handler are mandatory parameters for functions created with deployment packages."))?;
    check_runtime(&runtime)?;
    check_handler(&runtime, input.handler.as_ref())?;
    let logging = input.logging_config.take();
    let mut record = FunctionRecord {
        name: input.function_name.clone(),
        runtime,
        handler: input.handler.clone(),
        role: input.role.clone(),
        description: input.description.clone().unwrap_or_default(),
        timeout_secs: check_timeout(input.timeout.unwrap_or(3))?,
        memory_mb: check_memory(input.memory_size.unwrap_or(128))?,
        environment: check_environment(input.environment.take())?.unwrap_or_default(),
        architectures: input
            .architectures
            .clone()
            .unwrap_or_else(|| vec!["x86_64".into()]),
        layers: input.layers.clone().unwrap_or_default(),
        code_sha256: String::new(),
        code_size: 0,
        last_modified: String::new(),
        revision_id: String::new(),
        tracing_mode: input
            .tracing_config
            .as_ref()
            .and_then(|t| t.mode.clone())
            .unwrap_or_else(|| "PassThrough".into()),
        ephemeral_storage_mb: input.ephemeral_storage.as_ref().map_or(Ok(512), |e| {
            check_range("ephemeralStorage.size", e.size, 512, 10240)
        })?,
        log_format: "Text".into(),
        log_group: None,
        application_log_level: None,
        system_log_level: None,
        dead_letter_target: input
            .dead_letter_config
            .as_ref()
            .and_then(|d| d.target_arn.clone()),
        kms_key_arn: input.kms_key_arn.clone(),
        reserved_concurrency: None,
        policy: Vec::new(),
        url: None,
    };
    if let Some(logging) = logging {
        logging_config::apply(&mut record, logging)?;
    }
    Ok(record)
}

/// Applies UpdateFunctionConfiguration's members to a record.
pub fn apply_update(
    record: &mut FunctionRecord,
    input: wire::UpdateFunctionConfigurationRequest,
) -> Result<(), ServiceError> {
    if let Some(runtime) = input.runtime {
        check_runtime(&runtime)?;
        record.runtime = runtime;
    }
    if let Some(handler) = input.handler {
        record.handler = Some(handler);
    }
    check_handler(&record.runtime, record.handler.as_ref())?;
    if let Some(role) = input.role {
        record.role = role;
    }
    if let Some(description) = input.description {
        record.description = description;
    }
    if let Some(timeout) = input.timeout {
        record.timeout_secs = check_timeout(timeout)?;
    }
    if let Some(memory) = input.memory_size {
        record.memory_mb = check_memory(memory)?;
    }
    if let Some(env) = check_environment(input.environment)? {
        record.environment = env;
    }
    if let Some(layers) = input.layers {
        record.layers = layers;
    }
    if let Some(mode) = input.tracing_config.and_then(|t| t.mode) {
        record.tracing_mode = mode;
    }
    if let Some(storage) = input.ephemeral_storage {
        record.ephemeral_storage_mb =
            check_range("ephemeralStorage.size", storage.size, 512, 10240)?;
    }
    if let Some(logging) = input.logging_config {
        logging_config::apply(record, logging)?;
    }
    if let Some(dlq) = input.dead_letter_config {
        record.dead_letter_target = dlq.target_arn.filter(|t| !t.is_empty());
    }
    if input.kms_key_arn.is_some() {
        record.kms_key_arn = input.kms_key_arn;
    }
    Ok(())
}

/// `$LATEST`'s `FunctionConfiguration`, named by its unqualified ARN.
pub fn configuration(ctx: &RequestContext, record: &FunctionRecord) -> wire::FunctionConfiguration {
    configuration_as(record, function_arn(ctx, &record.name), "$LATEST")
}

/// The `FunctionConfiguration` AWS reports for one version, named by `arn` (qualified when
/// the request named a version or alias). Functions are ready as soon as they are stored, so
/// `State` is `Active` and `LastUpdateStatus` `Successful` (the waiters return at once).
pub fn configuration_as(
    record: &FunctionRecord,
    arn: String,
    version: &str,
) -> wire::FunctionConfiguration {
    wire::FunctionConfiguration {
        function_name: Some(record.name.clone()),
        function_arn: Some(arn),
        runtime: Some(record.runtime.clone()),
        role: Some(record.role.clone()),
        handler: record.handler.clone(),
        code_size: Some(record.code_size),
        description: Some(record.description.clone()),
        timeout: i32::try_from(record.timeout_secs).ok(),
        memory_size: i32::try_from(record.memory_mb).ok(),
        last_modified: Some(record.last_modified.clone()),
        code_sha256: Some(record.code_sha256.clone()),
        version: Some(version.to_owned()),
        environment: (!record.environment.is_empty()).then(|| wire::EnvironmentResponse {
            variables: Some(record.environment.clone().into_iter().collect()),
            error: None,
        }),
        kms_key_arn: record.kms_key_arn.clone(),
        tracing_config: Some(wire::TracingConfigResponse {
            mode: Some(record.tracing_mode.clone()),
        }),
        dead_letter_config: record
            .dead_letter_target
            .clone()
            .map(|t| wire::DeadLetterConfig {
                target_arn: Some(t),
            }),
        revision_id: Some(record.revision_id.clone()),
        layers: (!record.layers.is_empty()).then(|| {
            record
                .layers
                .iter()
                .map(|arn| wire::Layer {
                    arn: Some(arn.clone()),
                    ..Default::default()
                })
                .collect()
        }),
        state: Some("Active".into()),
        last_update_status: Some("Successful".into()),
        package_type: Some("Zip".into()),
        architectures: Some(record.architectures.clone()),
        ephemeral_storage: Some(wire::EphemeralStorage {
            size: i32::try_from(record.ephemeral_storage_mb).unwrap_or(512),
        }),
        snap_start: Some(wire::SnapStartResponse {
            apply_on: Some("None".into()),
            optimization_status: Some("Off".into()),
        }),
        logging_config: Some(logging_config::report(record)),
        ..Default::default()
    }
}
