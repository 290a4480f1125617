//! Cross-service effects. A service crate never depends on another service crate: it calls
//! these traits, and the binary wires each to the service that implements it.

use std::collections::BTreeMap;

use crate::{BoxFuture, RequestContext, ServiceError};

/// A message attribute as it crosses services (SNS → SQS, Lambda destinations → SQS).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageAttribute {
    /// `String`, `Number`, `Binary`, or one of those with a custom suffix (`Number.float`).
    pub data_type: String,
    pub string_value: Option<String>,
    pub binary_value: Option<Vec<u8>>,
}

/// A message to put on a queue.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueMessage {
    pub body: String,
    pub attributes: BTreeMap<String, MessageAttribute>,
    /// Required by FIFO queues.
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
    /// Becomes the `AWSTraceHeader` system attribute.
    pub trace_header: Option<String>,
}

/// Sends messages to queues by ARN (implemented by SQS).
pub trait QueueSender: Send + Sync + 'static {
    /// Sends one message; returns its message id. The queue's own validation applies, so a
    /// missing queue or an oversized message fails as it would for a client.
    fn send_to_queue<'a>(
        &'a self,
        queue_arn: &'a str,
        message: QueueMessage,
    ) -> BoxFuture<'a, Result<String, ServiceError>>;

    /// Sends messages to (possibly different) queues, one result per message in order.
    /// Implementations write them together where they can.
    fn send_many<'a>(
        &'a self,
        messages: Vec<(String, QueueMessage)>,
    ) -> BoxFuture<'a, Vec<Result<String, ServiceError>>> {
        Box::pin(async move {
            let mut results = Vec::with_capacity(messages.len());
            for (queue_arn, message) in messages {
                results.push(self.send_to_queue(&queue_arn, message).await);
            }
            results
        })
    }
}

/// A message to publish to a topic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicMessage {
    pub message: String,
    pub subject: Option<String>,
    pub attributes: BTreeMap<String, MessageAttribute>,
}

/// Publishes to topics by ARN (implemented by SNS; Lambda destinations and dead-letter
/// topics use it).
pub trait TopicPublisher: Send + Sync + 'static {
    /// Publishes one message; returns its message id. `ctx` gives the caller's endpoint for
    /// the URLs SNS puts in notifications. A missing topic fails as it would for a client.
    fn publish_to_topic<'a>(
        &'a self,
        ctx: &'a RequestContext,
        topic_arn: &'a str,
        message: TopicMessage,
    ) -> BoxFuture<'a, Result<String, ServiceError>>;
}

/// How a function is invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    /// Wait for the result.
    RequestResponse,
    /// Queue the event and return; retries and destinations follow the function's settings.
    Event,
}

/// What a synchronous invocation returned.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationResult {
    pub payload: Vec<u8>,
    /// `Unhandled` or `Handled` when the function failed (AWS's `X-Amz-Function-Error`).
    pub function_error: Option<String>,
    pub executed_version: String,
}

/// Invokes functions by (possibly qualified) name or ARN (implemented by Lambda).
pub trait FunctionInvoker: Send + Sync + 'static {
    fn invoke<'a>(
        &'a self,
        ctx: &'a RequestContext,
        function: &'a str,
        payload: Vec<u8>,
        invocation_type: InvocationType,
    ) -> BoxFuture<'a, Result<InvocationResult, ServiceError>>;
}

/// One log line bound for a log stream.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    pub timestamp_ms: i64,
    pub message: String,
}

/// Appends events to log streams, creating the group and stream when missing (implemented by
/// CloudWatch Logs; Lambda writes function output through it).
pub trait LogWriter: Send + Sync + 'static {
    fn append_log_events<'a>(
        &'a self,
        account_id: &'a str,
        region: &'a str,
        group: &'a str,
        stream: &'a str,
        events: Vec<LogEvent>,
    ) -> BoxFuture<'a, Result<(), ServiceError>>;
}

/// An HTTP request for a function URL, as the edge hands it over.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionUrlRequest {
    pub method: String,
    /// The path below the function URL's root, starting with `/`.
    pub path: String,
    pub query: Option<String>,
    /// Header names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub source_ip: String,
}

/// What a function URL answers.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionUrlResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Serves function URLs by their id (implemented by Lambda).
pub trait FunctionUrlHandler: Send + Sync + 'static {
    fn handle(
        &self,
        url_id: &str,
        request: FunctionUrlRequest,
    ) -> BoxFuture<'_, FunctionUrlResponse>;
}

/// A message taken from a queue by another service (Lambda's event source mappings).
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumedMessage {
    pub message_id: String,
    /// Deletes the message or changes its visibility until it is received again.
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    /// Present when the message has attributes.
    pub md5_of_message_attributes: Option<String>,
    /// System attributes by name: `ApproximateReceiveCount`, `SentTimestamp`, `SenderId`,
    /// `ApproximateFirstReceiveTimestamp`, the FIFO ones and `AWSTraceHeader` when present.
    pub attributes: BTreeMap<String, String>,
    pub message_attributes: BTreeMap<String, MessageAttribute>,
}

/// What a consumer must know about a queue before polling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDescription {
    pub fifo: bool,
    /// The queue's default visibility timeout, which a received message stays hidden for.
    pub visibility_timeout_secs: i64,
}

/// Receives from and settles messages of queues by ARN (implemented by SQS): the same
/// receive, delete and visibility rules clients get, so redrive policies apply unchanged.
pub trait QueueConsumer: Send + Sync + 'static {
    /// Whether the queue exists, and its type and visibility timeout.
    fn describe_queue<'a>(
        &'a self,
        queue_arn: &'a str,
    ) -> BoxFuture<'a, Result<QueueDescription, ServiceError>>;

    /// Receives up to `max_messages` (1–10), waiting up to `wait` for the first one to arrive.
    fn receive<'a>(
        &'a self,
        queue_arn: &'a str,
        max_messages: usize,
        wait: std::time::Duration,
    ) -> BoxFuture<'a, Result<Vec<ConsumedMessage>, ServiceError>>;

    /// Deletes received messages; a stale receipt handle is ignored, as SQS does.
    fn delete<'a>(
        &'a self,
        queue_arn: &'a str,
        receipt_handles: Vec<String>,
    ) -> BoxFuture<'a, Result<(), ServiceError>>;

    /// Makes received messages visible again after `timeout_secs`.
    fn change_visibility<'a>(
        &'a self,
        queue_arn: &'a str,
        receipt_handles: Vec<String>,
        timeout_secs: i64,
    ) -> BoxFuture<'a, Result<(), ServiceError>>;
}
