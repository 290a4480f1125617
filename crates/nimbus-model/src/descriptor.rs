//! Static descriptors of a service model. The generator emits one [`ServiceModel`] per service;
//! protocol codecs walk its [`Shape`] graph to read and write every wire format, so no codec
//! knows any service.

/// One AWS service as its model describes it.
#[derive(Debug)]
pub struct ServiceModel {
    /// Model name (`sqs`, `sts`, `iam`).
    pub name: &'static str,
    /// Protocols the model declares, most preferred first (`json`, `query`, `rest-json`…).
    pub protocols: &'static [&'static str],
    /// awsJson version (`1.0`, `1.1`).
    pub json_version: Option<&'static str>,
    /// awsJson `X-Amz-Target` prefix (`AmazonSQS`).
    pub target_prefix: Option<&'static str>,
    /// SigV4 credential-scope service name.
    pub signing_name: &'static str,
    /// The API version, sent as `Version` in awsQuery requests.
    pub api_version: &'static str,
    /// XML namespace of awsQuery responses.
    pub xml_namespace: Option<&'static str>,
    /// Smithy namespace prefixed to awsJson `__type` values (`com.amazonaws.sqs`), if the
    /// service sends one.
    pub error_namespace: Option<&'static str>,
    /// The service answers awsJson but keeps legacy awsQuery error codes
    /// (`x-amzn-query-error`) and accepts awsQuery requests.
    pub aws_query_compatible: bool,
    /// Operations, sorted by name.
    pub operations: &'static [OperationModel],
    /// Shapes, sorted by name.
    pub shapes: &'static [&'static Shape],
}

impl ServiceModel {
    /// Finds an operation by its model name.
    pub fn operation(&'static self, name: &str) -> Option<&'static OperationModel> {
        self.operations
            .binary_search_by(|op| op.name.cmp(name))
            .ok()
            .map(|i| &self.operations[i])
    }

    /// Finds a shape by its model name.
    pub fn shape(&'static self, name: &str) -> Option<&'static Shape> {
        self.shapes
            .binary_search_by(|s| s.name.cmp(name))
            .ok()
            .map(|i| self.shapes[i])
    }

    /// Whether the model declares the given protocol (`json`, `query`, `rest-json`,
    /// `smithy-rpc-v2-cbor`).
    pub fn speaks(&self, protocol: &str) -> bool {
        self.protocols.contains(&protocol)
    }
}

/// One operation.
#[derive(Debug)]
pub struct OperationModel {
    pub name: &'static str,
    /// HTTP method for restJson routing.
    pub http_method: &'static str,
    /// restJson request URI template (`/2015-03-31/functions/{FunctionName}/invocations`).
    pub request_uri: &'static str,
    /// restJson success status, when not 200.
    pub response_code: Option<u16>,
    pub input: Option<&'static Shape>,
    pub output: Option<&'static Shape>,
    /// awsQuery element wrapping the output (`SendMessageResult`).
    pub result_wrapper: Option<&'static str>,
    /// Names of the error shapes the operation may return.
    pub errors: &'static [&'static str],
}

/// One shape of the model.
#[derive(Debug)]
pub struct Shape {
    pub name: &'static str,
    pub kind: ShapeKind,
    /// Documented minimum (length for strings, blobs and collections; value for numbers).
    pub min: Option<i64>,
    /// Documented maximum, same units as `min`.
    pub max: Option<i64>,
    /// Shape-level `flattened` (lists and maps in awsQuery/XML).
    pub flattened: bool,
    /// Shape-level `locationName`.
    pub location_name: Option<&'static str>,
    /// The shape is an error.
    pub exception: bool,
    /// Legacy awsQuery error code, for error shapes that have one.
    pub error_code: Option<&'static str>,
    /// HTTP status of an error shape.
    pub error_status: Option<u16>,
}

/// What a shape holds.
#[derive(Debug)]
pub enum ShapeKind {
    Structure {
        members: &'static [Member],
        /// restJson: the member bound to the whole body.
        payload: Option<&'static str>,
    },
    List {
        member: &'static Shape,
        /// awsQuery/XML element name of each item (default `member`).
        member_location_name: Option<&'static str>,
    },
    Map {
        key: &'static Shape,
        value: &'static Shape,
        /// awsQuery/XML element names of key and value (default `key`/`value`).
        key_location_name: Option<&'static str>,
        value_location_name: Option<&'static str>,
    },
    /// A string; `enum_values` is empty unless the model lists allowed values.
    String {
        enum_values: &'static [&'static str],
    },
    Integer,
    Long,
    Boolean,
    Float,
    Double,
    /// `format` is the shape's `timestampFormat` (`iso8601`, `unixTimestamp`, `rfc822`), if set.
    Timestamp {
        format: Option<&'static str>,
    },
    Blob,
}

impl ShapeKind {
    /// Model type name, as used in messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            ShapeKind::Structure { .. } => "structure",
            ShapeKind::List { .. } => "list",
            ShapeKind::Map { .. } => "map",
            ShapeKind::String { .. } => "string",
            ShapeKind::Integer => "integer",
            ShapeKind::Long => "long",
            ShapeKind::Boolean => "boolean",
            ShapeKind::Float => "float",
            ShapeKind::Double => "double",
            ShapeKind::Timestamp { .. } => "timestamp",
            ShapeKind::Blob => "blob",
        }
    }
}

impl Shape {
    /// Members of a structure (empty for other kinds).
    pub fn members(&self) -> &'static [Member] {
        match self.kind {
            ShapeKind::Structure { members, .. } => members,
            _ => &[],
        }
    }

    /// A member of a structure by its model name.
    pub fn member(&self, name: &str) -> Option<&'static Member> {
        self.members().iter().find(|m| m.name == name)
    }
}

/// Where a restJson member travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Body,
    Uri,
    QueryString,
    Header,
    /// A map of headers sharing a prefix (`location_name`).
    Headers,
    StatusCode,
}

/// One member of a structure.
#[derive(Debug)]
pub struct Member {
    /// Model name, also the awsJson key.
    pub name: &'static str,
    pub target: &'static Shape,
    pub location: Location,
    /// awsQuery/XML name, header name, URI label or query key, depending on `location`.
    pub location_name: Option<&'static str>,
    /// EC2-style query name.
    pub query_name: Option<&'static str>,
    pub xml_attribute: bool,
    /// Effective `flattened`: set on the member or on its target shape.
    pub flattened: bool,
    pub required: bool,
    pub idempotency_token: bool,
    /// Member-level `timestampFormat`, overriding the protocol default.
    pub timestamp_format: Option<&'static str>,
    /// A string carrying JSON (restJson headers send it base64-encoded).
    pub json_value: bool,
}

impl Member {
    /// The awsQuery/XML name of the member.
    pub fn xml_name(&self) -> &'static str {
        self.location_name.unwrap_or(self.name)
    }
}
