//! The one error type every service operation returns. Protocol codecs render it in the
//! caller's wire format (JSON `__type`, XML `<Error>`, CBOR) without knowing the service.

use std::borrow::Cow;
use std::fmt;

/// Who caused a failure: AWS's `Sender` (client error) or `Receiver` (server error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Sender,
    Receiver,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Sender => "Sender",
            Fault::Receiver => "Receiver",
        }
    }
}

/// An AWS error as the client must see it.
///
/// `code` is the error shape name from the service model (`QueueDoesNotExist`); `query_code`
/// is the legacy awsQuery code when it differs (`AWS.SimpleQueueService.NonExistentQueue`),
/// sent in XML errors and in the `x-amzn-query-error` header of awsQueryCompatible services.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceError {
    pub code: Cow<'static, str>,
    pub query_code: Option<Cow<'static, str>>,
    pub message: String,
    pub status: u16,
    pub fault: Fault,
    /// Extra members of the error body (e.g. DynamoDB's `Item`, Lambda's `Reason`).
    pub fields: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ServiceError {
    /// A client error with the given shape name and HTTP status.
    pub fn new(
        code: impl Into<Cow<'static, str>>,
        status: u16,
        message: impl Into<String>,
    ) -> Self {
        ServiceError {
            code: code.into(),
            query_code: None,
            message: message.into(),
            status,
            fault: if status >= 500 {
                Fault::Receiver
            } else {
                Fault::Sender
            },
            fields: None,
        }
    }

    /// Sets the legacy awsQuery code.
    pub fn with_query_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.query_code = Some(code.into());
        self
    }

    /// Adds a member to the error body.
    pub fn with_field(mut self, name: &str, value: serde_json::Value) -> Self {
        self.fields
            .get_or_insert_with(Default::default)
            .insert(name.to_owned(), value);
        self
    }

    /// The code an awsQuery (XML) client must see.
    pub fn wire_query_code(&self) -> &str {
        self.query_code.as_deref().unwrap_or(&self.code)
    }

    /// AWS's common `MissingParameter` error.
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            "MissingParameter",
            400,
            format!("The request must contain the parameter {name}."),
        )
    }

    /// AWS's common `InvalidParameterValue` error.
    pub fn invalid_parameter_value(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterValue", 400, message)
    }

    /// AWS's common `ValidationError`/`ValidationException` family, here by shape name.
    pub fn validation(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, 400, message)
    }

    /// An operation this server does not implement.
    pub fn not_implemented(operation: &str) -> Self {
        Self::new(
            "NotImplemented",
            501,
            format!("The operation {operation} is not implemented by nimbus."),
        )
    }

    /// An unknown operation name.
    pub fn unknown_operation(operation: &str) -> Self {
        Self::new(
            "UnknownOperationException",
            400,
            format!("Unknown operation {operation}"),
        )
    }

    /// An internal failure. The detail goes to the log, not to the client.
    pub fn internal() -> Self {
        let mut err = Self::new(
            "InternalFailure",
            500,
            "The request processing has failed because of an unknown error, exception or failure.",
        );
        err.fault = Fault::Receiver;
        err
    }

    /// The store is overloaded or shutting down.
    pub fn service_unavailable() -> Self {
        Self::new(
            "ServiceUnavailable",
            503,
            "The service is unavailable. Please try again.",
        )
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for ServiceError {}
