use nimbus_core::ServiceError;
use nimbus_model::sqs::errors as sqs_errors;
use serde_json::{Value, json};

use super::{Req, SERVICES, header, text};
use crate::{Protocol, encode_error, encode_error_for, identify};

#[test]
fn sqs_json_errors_carry_namespace_and_legacy_code() {
    // (error, status, __type, x-amzn-query-error)
    let cases: Vec<(ServiceError, u16, &str, &str)> = vec![
        (
            sqs_errors::queue_does_not_exist("The specified queue does not exist."),
            400,
            "com.amazonaws.sqs#QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue;Sender",
        ),
        (
            sqs_errors::queue_name_exists("x"),
            400,
            "com.amazonaws.sqs#QueueNameExists",
            "QueueAlreadyExists;Sender",
        ),
        (
            sqs_errors::receipt_handle_is_invalid("x"),
            404,
            "com.amazonaws.sqs#ReceiptHandleIsInvalid",
            "ReceiptHandleIsInvalid;Sender",
        ),
        (
            sqs_errors::purge_queue_in_progress("x"),
            403,
            "com.amazonaws.sqs#PurgeQueueInProgress",
            "AWS.SimpleQueueService.PurgeQueueInProgress;Sender",
        ),
        (
            sqs_errors::over_limit("x"),
            403,
            "com.amazonaws.sqs#OverLimit",
            "OverLimit;Sender",
        ),
        (
            ServiceError::missing_parameter("QueueUrl"),
            400,
            "com.amazonaws.sqs#MissingParameter",
            "MissingParameter;Sender",
        ),
        (
            ServiceError::internal(),
            500,
            "com.amazonaws.sqs#InternalFailure",
            "InternalFailure;Receiver",
        ),
    ];
    let req = Req::json("AmazonSQS.SendMessage", "{}");
    let id = identify(&req.wire(), SERVICES, None).unwrap();
    for (err, status, type_name, query_error) in cases {
        let resp = encode_error(&id, &err, "rid");
        assert_eq!(resp.status, status, "{type_name}");
        let body: Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(body["__type"], type_name);
        assert_eq!(
            body["message"],
            err.message.as_str(),
            "SQS uses lower-case message"
        );
        assert_eq!(header(&resp, "x-amzn-query-error"), Some(query_error));
        assert_eq!(header(&resp, "x-amzn-requestid"), Some("rid"));
        assert_eq!(
            header(&resp, "content-type"),
            Some("application/x-amz-json-1.0")
        );
    }
}

#[test]
fn query_errors_are_error_response_xml() {
    let sqs = &nimbus_model::sqs::SERVICE;
    let sts = &nimbus_model::sts::SERVICE;
    let resp = encode_error_for(
        Protocol::AwsQuery,
        Some(sqs),
        &sqs_errors::queue_does_not_exist(
            "The specified queue does not exist for this wsdl version.",
        ),
        "42",
    );
    assert_eq!(resp.status, 400);
    assert_eq!(
        text(&resp),
        "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><Error>\
         <Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>\
         <Message>The specified queue does not exist for this wsdl version.</Message><Detail/></Error>\
         <RequestId>42</RequestId></ErrorResponse>"
    );
    let err = nimbus_model::sts::errors::expired_token_exception("expired <now> & \"here\"");
    let resp = encode_error_for(Protocol::AwsQuery, Some(sts), &err, "7");
    assert_eq!(
        text(&resp),
        "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
         <Type>Sender</Type><Code>ExpiredTokenException</Code>\
         <Message>expired &lt;now&gt; &amp; &quot;here&quot;</Message></Error><RequestId>7</RequestId></ErrorResponse>"
    );
    let resp = encode_error_for(Protocol::AwsQuery, None, &ServiceError::internal(), "1");
    assert!(text(&resp).contains("<Type>Receiver</Type><Code>InternalFailure</Code>"));
    assert_eq!(resp.status, 500);
}

#[test]
fn iam_error_codes_come_from_the_model() {
    let err = nimbus_model::iam::errors::no_such_entity_exception(
        "The role with name x cannot be found.",
    );
    assert_eq!(
        (err.code.as_ref(), err.wire_query_code(), err.status),
        ("NoSuchEntityException", "NoSuchEntity", 404)
    );
    let resp = encode_error_for(
        Protocol::AwsQuery,
        Some(&nimbus_model::iam::SERVICE),
        &err,
        "1",
    );
    assert!(text(&resp).contains("<Code>NoSuchEntity</Code>"));
    assert_eq!(resp.status, 404);
}

#[test]
fn rest_json_and_cbor_errors() {
    let err = ServiceError::new("ResourceNotFoundException", 404, "Function not found: x")
        .with_field("Reason", json!("gone"));
    let resp = encode_error_for(Protocol::RestJson, None, &err, "r");
    assert_eq!(
        header(&resp, "x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );
    let body: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(
        body,
        json!({"Type": "User", "message": "Function not found: x", "Reason": "gone"})
    );
    let resp = encode_error_for(Protocol::RpcV2Cbor, None, &err, "r");
    assert_eq!(header(&resp, "smithy-protocol"), Some("rpc-v2-cbor"));
    assert_eq!(header(&resp, "content-type"), Some("application/cbor"));
    assert_eq!(resp.status, 404);
    // No namespace known: the bare code.
    let resp = encode_error_for(Protocol::AwsJson11, None, &err, "r");
    let body: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(body["__type"], "ResourceNotFoundException");
    assert_eq!(header(&resp, "x-amzn-query-error"), None);
}
