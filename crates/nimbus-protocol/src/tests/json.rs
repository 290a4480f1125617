use nimbus_model::{Shape, ShapeKind};
use serde_json::{Map, Value, json};

use super::{Req, SERVICES, header, text};
use crate::{decode_request, encode_response, identify};

/// A minimal valid canonical input for a shape: required members only, sample values.
pub(crate) fn sample(shape: &Shape, depth: usize) -> Value {
    match &shape.kind {
        ShapeKind::Structure { members, .. } => {
            let mut map = Map::new();
            for m in members.iter().filter(|m| m.required && depth < 6) {
                map.insert(m.name.to_owned(), sample(m.target, depth + 1));
            }
            // An empty structure is invisible in awsQuery; give it one scalar member.
            if map.is_empty() {
                let scalar = members
                    .iter()
                    .find(|m| matches!(m.target.kind, ShapeKind::String { .. }));
                if let Some(m) = scalar.filter(|_| depth > 0) {
                    map.insert(m.name.to_owned(), sample(m.target, depth + 1));
                }
            }
            Value::Object(map)
        }
        ShapeKind::List { member, .. } => {
            let n = shape.min.unwrap_or(1).max(1) as usize;
            Value::Array((0..n).map(|_| sample(member, depth + 1)).collect())
        }
        ShapeKind::Map { value, .. } => json!({ "k": sample(value, depth + 1) }),
        ShapeKind::String { enum_values } => match enum_values.first() {
            Some(v) => json!(v),
            None => json!("x".repeat(shape.min.unwrap_or(1).max(1) as usize)),
        },
        ShapeKind::Integer | ShapeKind::Long => json!(shape.min.unwrap_or(1).max(1)),
        ShapeKind::Float | ShapeKind::Double => json!(1.5),
        ShapeKind::Boolean => json!(true),
        ShapeKind::Timestamp { .. } => json!(1_700_000_000),
        ShapeKind::Blob => json!("AAAA"),
    }
}

#[test]
fn every_sqs_operation_decodes_from_boto3_json() {
    let sqs = &nimbus_model::sqs::SERVICE;
    for op in sqs.operations {
        let input = op.input.map_or(json!({}), |s| sample(s, 0));
        let req = Req::json(&format!("AmazonSQS.{}", op.name), &input.to_string());
        let id = identify(&req.wire(), SERVICES, Some("sqs")).unwrap();
        let decoded =
            decode_request(&id, &req.wire()).unwrap_or_else(|e| panic!("{}: {e}", op.name));
        assert_eq!(decoded, input, "{}", op.name);
    }
}

#[test]
fn sqs_json_cases() {
    // (target, body, Ok(decoded) | Err((code, message)))
    let cases: &[(&str, &str, Result<Value, (&str, &str)>)] = &[
        (
            "AmazonSQS.SendMessage",
            r#"{"QueueUrl":"http://localhost:4566/000000000000/q","MessageBody":"hi","DelaySeconds":5,
               "MessageAttributes":{"a":{"DataType":"String","StringValue":"v"}}}"#,
            Ok(
                json!({"QueueUrl":"http://localhost:4566/000000000000/q","MessageBody":"hi","DelaySeconds":5,
                      "MessageAttributes":{"a":{"DataType":"String","StringValue":"v"}}}),
            ),
        ),
        ("AmazonSQS.ListQueues", "", Ok(json!({}))),
        ("AmazonSQS.ListQueues", "  ", Ok(json!({}))),
        (
            "AmazonSQS.SendMessage",
            r#"{"QueueUrl":"u"}"#,
            Err((
                "MissingParameter",
                "The request must contain the parameter MessageBody.",
            )),
        ),
        (
            "AmazonSQS.SendMessage",
            r#"{"QueueUrl":"u","MessageBody":null}"#,
            Err((
                "MissingParameter",
                "The request must contain the parameter MessageBody.",
            )),
        ),
        (
            "AmazonSQS.SendMessage",
            r#"{"QueueUrl":"u","MessageBody":"b","DelaySeconds":"5"}"#,
            Err(("InvalidParameterValue", "")),
        ),
        (
            "AmazonSQS.SendMessage",
            r#"{"QueueUrl":"u","MessageBody":"b","DelaySeconds":99999999999}"#,
            Err(("InvalidParameterValue", "")),
        ),
        (
            "AmazonSQS.SendMessage",
            r#"{"QueueUrl":"u","MessageBody":"b","MessageAttributes":{"a":{}}}"#,
            Err((
                "MissingParameter",
                "The request must contain the parameter DataType.",
            )),
        ),
        (
            "AmazonSQS.SendMessage",
            "[1]",
            Err(("SerializationException", "")),
        ),
        (
            "AmazonSQS.SendMessage",
            "{",
            Err(("SerializationException", "")),
        ),
    ];
    for (target, body, want) in cases {
        let req = Req::json(target, body);
        let id = identify(&req.wire(), SERVICES, None).unwrap();
        match (decode_request(&id, &req.wire()), want) {
            (Ok(got), Ok(want)) => assert_eq!(&got, want, "{body}"),
            (Err(err), Err((code, message))) => {
                assert_eq!(err.code, *code, "{body}: {err}");
                assert_eq!(err.status, 400);
                if !message.is_empty() {
                    assert_eq!(err.message, *message);
                }
            }
            (got, want) => panic!("{body}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn json_output_keeps_content_type_and_request_id() {
    for (content_type, want) in [
        ("application/x-amz-json-1.0", "application/x-amz-json-1.0"),
        ("application/x-amz-json-1.1", "application/x-amz-json-1.1"),
    ] {
        let req = Req::post(
            "/",
            &[
                ("x-amz-target", "AmazonSQS.GetQueueUrl"),
                ("content-type", content_type),
            ],
            b"{}",
        );
        let id = identify(&req.wire(), SERVICES, None).unwrap();
        let resp = encode_response(&id, json!({"QueueUrl": "http://x/1/q"}), "rid-1");
        assert_eq!(resp.status, 200);
        assert_eq!(header(&resp, "content-type"), Some(want));
        assert_eq!(header(&resp, "x-amzn-requestid"), Some("rid-1"));
        assert_eq!(text(&resp), r#"{"QueueUrl":"http://x/1/q"}"#);
    }
    let req = Req::json("AmazonSQS.DeleteQueue", "{}");
    let id = identify(&req.wire(), SERVICES, None).unwrap();
    assert_eq!(text(&encode_response(&id, Value::Null, "r")), "{}");
}
