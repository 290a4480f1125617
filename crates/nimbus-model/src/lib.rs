//! Placeholder: the smallest model surface the edge server compiles against. The generated
//! crate replaces this file wholesale.

/// One AWS service as described by its model.
#[derive(Debug)]
pub struct ServiceModel {
    /// Model name (`sqs`).
    pub name: &'static str,
    /// `X-Amz-Target` prefix for awsJson services.
    pub target_prefix: &'static str,
    pub operations: &'static [OperationModel],
}

/// One operation of a service.
#[derive(Debug)]
pub struct OperationModel {
    pub name: &'static str,
}

/// A few SQS operations, enough for edge tests.
pub static SQS: ServiceModel = ServiceModel {
    name: "sqs",
    target_prefix: "AmazonSQS",
    operations: &[
        OperationModel {
            name: "CreateQueue",
        },
        OperationModel {
            name: "GetQueueUrl",
        },
        OperationModel { name: "ListQueues" },
        OperationModel {
            name: "SendMessage",
        },
    ],
};
