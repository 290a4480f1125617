//! Invoke: synchronous, asynchronous (`Event`) and `DryRun`, with AWS's error shapes.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use nimbus_core::effects::{FunctionInvoker, InvocationResult, InvocationType};
use nimbus_core::{BoxFuture, RequestContext, ServiceError};
use nimbus_model::lambda::errors as wire_errors;
use nimbus_runtime::{Invocation, Limits, Outcome, Throttled};

use crate::record::{FunctionRef, function_arn, parse_function_ref};
use crate::versions::{Version, qualified_arn};
use crate::{Lambda, errors};

/// AWS's payload limits: 6 MB synchronous, 1 MB asynchronous.
const MAX_SYNC_PAYLOAD: usize = 6 * 1024 * 1024;
const MAX_ASYNC_PAYLOAD: usize = 1024 * 1024;
/// `LogType=Tail` returns at most the last 4 KB.
const LOG_TAIL_BYTES: usize = 4096;

/// `InvocationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvokeMode {
    RequestResponse,
    Event,
    DryRun,
}

/// One Invoke call.
#[derive(Debug, Clone)]
pub struct InvokeRequest {
    /// Name, partial ARN or ARN, possibly with a qualifier.
    pub function: String,
    pub qualifier: Option<String>,
    pub payload: Bytes,
    pub mode: InvokeMode,
    /// `LogType=Tail`.
    pub want_log: bool,
    /// Base64 JSON passed to the function's context.
    pub client_context: Option<String>,
    /// The id the invocation runs under; the Invoke operation passes its own request id,
    /// since AWS answers Invoke with the id the function saw. `None` draws a new one.
    pub request_id: Option<String>,
}

/// What Invoke answers.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeOutput {
    /// 200, 202 (Event) or 204 (DryRun).
    pub status: u16,
    pub payload: Bytes,
    /// `Unhandled` when the function failed.
    pub function_error: Option<String>,
    /// Base64 of the last 4 KB of the invocation's log, when asked for.
    pub log_result: Option<String>,
    pub executed_version: Option<String>,
}

/// How one invocation is made, besides its target and payload.
pub(crate) struct Call {
    /// Base64 JSON passed to the function's context.
    pub client_context: Option<String>,
    /// `LogType=Tail`.
    pub want_log: bool,
    pub request_id: String,
}

/// What one invocation runs.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub version: Version,
    /// The ARN the function was invoked by (qualified when a qualifier was given), which the
    /// function sees as its invoked ARN.
    pub arn: String,
}

fn trace_id(ctx: &RequestContext, now_secs: i64) -> String {
    if let Some(header) = &ctx.trace_header {
        return header.clone();
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{now_secs:08x}-{};Parent={};Sampled=0",
        &id[..24],
        &id[16..32]
    )
}

fn log_tail(log: &str) -> String {
    let mut start = log.len().saturating_sub(LOG_TAIL_BYTES);
    while !log.is_char_boundary(start) {
        start += 1;
    }
    base64::engine::general_purpose::STANDARD.encode(&log.as_bytes()[start..])
}

fn error_payload(error_type: &str, message: String) -> Bytes {
    serde_json::json!({ "errorType": error_type, "errorMessage": message })
        .to_string()
        .into()
}

impl Lambda {
    /// Invokes a function by name or ARN.
    pub async fn invoke(
        self: &Arc<Self>,
        ctx: &RequestContext,
        request: InvokeRequest,
    ) -> Result<InvokeOutput, ServiceError> {
        let InvokeRequest {
            function,
            qualifier,
            payload,
            mode,
            want_log,
            client_context,
            request_id,
        } = request;
        let reference = parse_function_ref(ctx, &function, qualifier.as_deref())?;
        let target = self.target(ctx, &reference)?;
        let limit = if mode == InvokeMode::Event {
            MAX_ASYNC_PAYLOAD
        } else {
            MAX_SYNC_PAYLOAD
        };
        if payload.len() > limit {
            return Err(wire_errors::request_too_large_exception(format!(
                "Request must be smaller than {limit} bytes for the InvokeFunction operation"
            )));
        }
        if !payload.is_empty() && serde_json::from_slice::<serde::de::IgnoredAny>(&payload).is_err()
        {
            return Err(wire_errors::invalid_request_content_exception(
                "Could not parse request body into json: Could not parse payload into json",
            ));
        }
        // Checks that the version exists, and prepares it while an event waits in the queue.
        let deployed = self.deployed(ctx, &reference.name, target.version).await?;
        match mode {
            InvokeMode::DryRun => Ok(InvokeOutput {
                status: 204,
                payload: Bytes::new(),
                function_error: None,
                log_result: None,
                executed_version: None,
            }),
            InvokeMode::Event => {
                self.enqueue_event(ctx, &reference, payload, request_id)
                    .await?;
                Ok(InvokeOutput {
                    status: 202,
                    payload: Bytes::new(),
                    function_error: None,
                    log_result: None,
                    executed_version: None,
                })
            }
            InvokeMode::RequestResponse => {
                drop(deployed);
                let call = Call {
                    client_context,
                    want_log,
                    request_id: request_id.unwrap_or_else(nimbus_core::ids::uuid),
                };
                self.run_with_id(ctx, &reference.name, &target, payload, call)
                    .await
            }
        }
    }

    /// The version a reference runs and the ARN it was invoked by. An alias picks one of
    /// its versions by weight, for each invocation.
    pub(crate) fn target(
        &self,
        ctx: &RequestContext,
        reference: &FunctionRef,
    ) -> Result<Target, ServiceError> {
        let Some(qualifier) = reference.qualifier.as_deref() else {
            return Ok(Target {
                version: Version::Latest,
                arn: function_arn(ctx, &reference.name),
            });
        };
        let arn = qualified_arn(ctx, &reference.name, qualifier);
        if let Some(version) = Version::parse(qualifier) {
            return Ok(Target { version, arn });
        }
        let alias = self
            .alias_for_invoke(ctx, &reference.name, qualifier)
            .map_err(|err| {
                if err.status == 404 {
                    errors::function_not_found(&arn)
                } else {
                    err
                }
            })?;
        let version = Version::parse(alias.pick()).unwrap_or(Version::Latest);
        Ok(Target { version, arn })
    }

    /// Runs one invocation under a given request id (an asynchronous event keeps its id
    /// across retries).
    pub(crate) async fn run_with_id(
        &self,
        ctx: &RequestContext,
        name: &str,
        target: &Target,
        payload: Bytes,
        call: Call,
    ) -> Result<InvokeOutput, ServiceError> {
        let Call {
            client_context,
            want_log,
            request_id,
        } = call;
        let deployed = self.deployed(ctx, name, target.version).await?;
        let executed_version = Some(deployed.version.label());
        let failed = |payload: Bytes| InvokeOutput {
            status: 200,
            payload,
            function_error: Some("Unhandled".into()),
            log_result: None,
            executed_version: executed_version.clone(),
        };
        let spec = match &deployed.launch {
            Ok(spec) => spec,
            Err(err) => return Ok(failed(error_payload(err.error_type(), err.to_string()))),
        };
        let now_ms = self.clock.now_ms();
        let invocation = Invocation {
            request_id: request_id.clone(),
            payload,
            function_arn: target.arn.clone(),
            client_context,
            trace_id: trace_id(ctx, now_ms / 1000),
            deadline_ms: chrono::Utc::now().timestamp_millis()
                + i64::from(deployed.record.timeout_secs) * 1000,
            wait_for_output: want_log,
        };
        // Every version and alias of the function shares its reserved concurrency.
        let function_key = Self::function_key(ctx, name);
        let scope = Self::scope_key(ctx);
        let limits = Limits {
            function: &function_key,
            reserved: deployed
                .record
                .reserved_concurrency
                .map(|r| usize::try_from(r).unwrap_or(usize::MAX)),
            scope: &scope,
            unreserved: self.unreserved_pool(ctx)?,
        };
        let result = match self
            .executor
            .invoke(&deployed.pool_key, spec, limits, invocation, &deployed.sink)
            .await
        {
            Ok(Ok(result)) => result,
            Ok(Err(err)) => {
                tracing::warn!(%err, function = name, "starting an instance failed");
                return Ok(failed(error_payload(
                    "Runtime.InvalidEntrypoint",
                    format!("RequestId: {request_id} Error: fork/exec: {err}"),
                )));
            }
            Err(Throttled::Function) => {
                self.count_throttle(ctx, name);
                return Err(errors::throttled(
                    "ReservedFunctionConcurrentInvocationLimitExceeded",
                ));
            }
            Err(Throttled::Account) => {
                self.count_throttle(ctx, name);
                return Err(errors::throttled("ConcurrentInvocationLimitExceeded"));
            }
        };
        let log_result = want_log.then(|| log_tail(&result.log));
        let mut output = match result.outcome {
            Outcome::Success(body) => InvokeOutput {
                status: 200,
                payload: body,
                function_error: None,
                log_result: None,
                executed_version: executed_version.clone(),
            },
            Outcome::FunctionError(body) | Outcome::InitError(body) => failed(body),
            Outcome::Timeout(after) => failed(error_payload(
                "Sandbox.Timedout",
                format!(
                    "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                    after.as_secs_f64()
                ),
            )),
            Outcome::Crashed(reason) => failed(error_payload(
                "Runtime.ExitError",
                format!("RequestId: {request_id} Error: Runtime exited with error: {reason}"),
            )),
            Outcome::OutOfMemory => failed(error_payload(
                "Runtime.OutOfMemory",
                format!("RequestId: {request_id} Error: Runtime exited with error: signal: killed"),
            )),
        };
        output.log_result = log_result;
        Ok(output)
    }
}

/// Lambda as other services call it (SNS deliveries, EventBridge targets, …).
#[derive(Clone)]
pub struct LambdaInvoker(pub Arc<Lambda>);

impl FunctionInvoker for LambdaInvoker {
    fn invoke<'a>(
        &'a self,
        ctx: &'a RequestContext,
        function: &'a str,
        payload: Vec<u8>,
        invocation_type: InvocationType,
    ) -> BoxFuture<'a, Result<InvocationResult, ServiceError>> {
        Box::pin(async move {
            let mode = match invocation_type {
                InvocationType::RequestResponse => InvokeMode::RequestResponse,
                InvocationType::Event => InvokeMode::Event,
            };
            let request = InvokeRequest {
                function: function.to_owned(),
                qualifier: None,
                payload: payload.into(),
                mode,
                want_log: false,
                client_context: None,
                request_id: None,
            };
            let output = self.0.invoke(ctx, request).await?;
            Ok(InvocationResult {
                payload: output.payload.to_vec(),
                function_error: output.function_error,
                executed_version: output.executed_version.unwrap_or_else(|| "$LATEST".into()),
            })
        })
    }
}
