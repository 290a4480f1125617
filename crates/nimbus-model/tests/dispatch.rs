//! The generated dispatcher: typed input in, typed output out, errors never panics.

use nimbus_core::{RequestContext, Service, ServiceError};
use nimbus_model::sqs::{self, SqsApi, SqsHandler};
use serde_json::json;

struct Queues;

impl SqsApi for Queues {
    async fn get_queue_url(
        &self,
        ctx: &RequestContext,
        input: sqs::GetQueueUrlRequest,
    ) -> Result<sqs::GetQueueUrlResult, ServiceError> {
        if input.queue_name == "missing" {
            return Err(sqs::errors::queue_does_not_exist(
                "The specified queue does not exist.",
            ));
        }
        Ok(sqs::GetQueueUrlResult {
            queue_url: Some(format!(
                "{}/{}/{}",
                ctx.base_url, ctx.account_id, input.queue_name
            )),
        })
    }
}

#[tokio::test]
async fn dispatch_table() {
    let handler = SqsHandler::new(Queues);
    let ctx = RequestContext::internal("000000000000", "us-east-1", "http://localhost:4566");
    // (operation, input, Ok(output) | Err((code, status)))
    let cases = [
        (
            "GetQueueUrl",
            json!({"QueueName": "jobs"}),
            Ok(json!({"QueueUrl": "http://localhost:4566/000000000000/jobs"})),
        ),
        (
            "GetQueueUrl",
            json!({"QueueName": "missing"}),
            Err(("QueueDoesNotExist", 400)),
        ),
        (
            "GetQueueUrl",
            json!({"QueueName": 5}),
            Err(("InvalidParameterValue", 400)),
        ),
        (
            "GetQueueUrl",
            json!({}),
            Err(("InvalidParameterValue", 400)),
        ),
        (
            "DeleteQueue",
            json!({"QueueUrl": "u"}),
            Err(("NotImplemented", 501)),
        ),
        (
            "Frobnicate",
            json!({}),
            Err(("UnknownOperationException", 400)),
        ),
    ];
    assert_eq!(handler.name(), "sqs");
    for (op, input, want) in cases {
        let got = handler.call(&ctx, op, input.clone()).await;
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{op} {input}"),
            (Err(err), Err((code, status))) => assert_eq!(
                (err.code.as_ref(), err.status),
                (code, status),
                "{op} {input}"
            ),
            (got, want) => panic!("{op} {input}: got {got:?}, want {want:?}"),
        }
    }
    handler.reset().await.unwrap();
}

#[test]
fn typed_shapes_use_model_names_and_skip_none() {
    let entry = sqs::SendMessageBatchRequestEntry {
        id: "a".into(),
        message_body: "b".into(),
        delay_seconds: Some(1),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&entry).unwrap(),
        json!({"Id": "a", "MessageBody": "b", "DelaySeconds": 1})
    );
    let lookup = nimbus_model::sqs::SERVICE.operation("SendMessage").unwrap();
    assert_eq!(lookup.result_wrapper, Some("SendMessageResult"));
    assert!(nimbus_model::ALL_SERVICES.iter().any(|s| s.name == "iam"));
}
