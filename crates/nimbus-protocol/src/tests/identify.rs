use super::{Req, SERVICES};
use crate::{IdentifyError, Protocol, identify};

#[test]
fn detection_recipe() {
    // (request, signing service, expected service/operation/protocol or error kind)
    let sigv4 = |svc: &str| {
        format!("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/{svc}/aws4_request")
    };
    let cases: Vec<(Req, Option<&str>, Result<(&str, &str, Protocol), &str>)> = vec![
        (
            Req::json("AmazonSQS.SendMessage", "{}"),
            Some("sqs"),
            Ok(("sqs", "SendMessage", Protocol::AwsJson10)),
        ),
        (
            Req::post(
                "/",
                &[
                    ("x-amz-target", "AmazonSQS.ListQueues"),
                    ("content-type", "application/x-amz-json-1.1"),
                ],
                b"{}",
            ),
            None,
            Ok(("sqs", "ListQueues", Protocol::AwsJson11)),
        ),
        (Req::json("AmazonSQS.Nope", "{}"), None, Err("unknown-op")),
        (
            Req::json("DynamoDB_20120810.GetItem", "{}"),
            None,
            Err("no-service"),
        ),
        (Req::json("garbage", "{}"), None, Err("no-service")),
        (
            Req::form("Action=GetCallerIdentity&Version=2011-06-15"),
            Some("sts"),
            Ok(("sts", "GetCallerIdentity", Protocol::AwsQuery)),
        ),
        // Unsigned: the Version picks the service.
        (
            Req::form("Action=SendMessage&Version=2012-11-05"),
            None,
            Ok(("sqs", "SendMessage", Protocol::AwsQuery)),
        ),
        // No version either: the action name.
        (
            Req::form("Action=ListRoles"),
            None,
            Ok(("iam", "ListRoles", Protocol::AwsQuery)),
        ),
        (
            Req::form("Action=Frobnicate&Version=2011-06-15"),
            None,
            Err("unknown-op"),
        ),
        (Req::form("Version=2011-06-15"), None, Err("malformed")),
        (
            Req::post(
                "/",
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("authorization", &sigv4("iam")),
                ],
                b"Action=GetUser",
            ),
            Some("iam"),
            Ok(("iam", "GetUser", Protocol::AwsQuery)),
        ),
        (
            Req {
                query: Some("Action=ListQueues&Version=2012-11-05".into()),
                method: http::Method::GET,
                ..Req::post("/", &[], b"")
            },
            None,
            Ok(("sqs", "ListQueues", Protocol::AwsQuery)),
        ),
        (
            Req::post(
                "/service/AmazonSQS/operation/ListQueues",
                &[("smithy-protocol", "rpc-v2-cbor")],
                b"",
            ),
            None,
            Ok(("sqs", "ListQueues", Protocol::RpcV2Cbor)),
        ),
        (
            Req::post(
                "/service/Unknown/operation/X",
                &[("smithy-protocol", "rpc-v2-cbor")],
                b"",
            ),
            None,
            Err("no-service"),
        ),
        (
            Req::post("/", &[("smithy-protocol", "rpc-v2-cbor")], b""),
            None,
            Err("malformed"),
        ),
        (
            Req::post("/2015-03-31/functions", &[], b"{}"),
            Some("lambda"),
            Err("no-service"),
        ),
        (Req::post("/", &[], b""), None, Err("no-service")),
    ];
    for (i, (req, scope, want)) in cases.into_iter().enumerate() {
        let got = identify(&req.wire(), SERVICES, scope);
        match (got, want) {
            (Ok(id), Ok((svc, op, proto))) => {
                assert_eq!(
                    (id.service.name, id.operation.name, id.protocol),
                    (svc, op, proto),
                    "case {i}"
                );
            }
            (Err(IdentifyError::NoService), Err("no-service")) => {}
            (Err(IdentifyError::UnknownOperation { .. }), Err("unknown-op")) => {}
            (Err(IdentifyError::Malformed { .. }), Err("malformed")) => {}
            (got, want) => panic!("case {i}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn identify_errors_render_as_aws_does() {
    let req = Req::form("Action=Frobnicate&Version=2011-06-15");
    let err = identify(&req.wire(), SERVICES, None).unwrap_err();
    assert_eq!(err.protocol(), Some(Protocol::AwsQuery));
    assert_eq!(err.to_service_error().code, "InvalidAction");
    let req = Req::json("AmazonSQS.Nope", "{}");
    let err = identify(&req.wire(), SERVICES, None).unwrap_err();
    assert_eq!(err.to_service_error().code, "UnknownOperationException");
    assert_eq!(err.service().map(|s| s.name), Some("sqs"));
    assert_eq!(IdentifyError::NoService.to_service_error().status, 404);
}
