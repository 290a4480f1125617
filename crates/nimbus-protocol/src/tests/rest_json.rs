use nimbus_model::{Location, Member, OperationModel, ServiceModel, Shape, ShapeKind};
use serde_json::json;

use super::{Req, header};
use crate::{Protocol, decode_request, encode_response, identify};

// A hand-built restJson service shaped like Lambda's Invoke and GetFunction.
static STRING: Shape = Shape {
    name: "String",
    kind: ShapeKind::String { enum_values: &[] },
    min: None,
    max: None,
    flattened: false,
    location_name: None,
    exception: false,
    error_code: None,
    error_status: None,
};
static NAME: Shape = Shape {
    name: "Name",
    min: Some(1),
    max: Some(64),
    ..STRING_BASE
};
const STRING_BASE: Shape = Shape {
    name: "String",
    kind: ShapeKind::String { enum_values: &[] },
    min: None,
    max: None,
    flattened: false,
    location_name: None,
    exception: false,
    error_code: None,
    error_status: None,
};
static BLOB: Shape = Shape {
    name: "Blob",
    kind: ShapeKind::Blob,
    ..STRING_BASE
};
static INT: Shape = Shape {
    name: "Integer",
    kind: ShapeKind::Integer,
    ..STRING_BASE
};
static LIST: Shape = Shape {
    name: "List",
    kind: ShapeKind::List {
        member: &STRING,
        member_location_name: None,
    },
    ..STRING_BASE
};
static MAP: Shape = Shape {
    name: "Map",
    kind: ShapeKind::Map {
        key: &STRING,
        value: &STRING,
        key_location_name: None,
        value_location_name: None,
    },
    ..STRING_BASE
};

const fn member(
    name: &'static str,
    target: &'static Shape,
    location: Location,
    location_name: Option<&'static str>,
) -> Member {
    Member {
        name,
        target,
        location,
        location_name,
        query_name: None,
        xml_attribute: false,
        flattened: false,
        required: false,
        idempotency_token: false,
        timestamp_format: None,
        json_value: false,
    }
}

static INVOKE_IN: Shape = Shape {
    name: "InvocationRequest",
    kind: ShapeKind::Structure {
        members: &[
            Member {
                required: true,
                ..member("FunctionName", &NAME, Location::Uri, Some("FunctionName"))
            },
            member(
                "InvocationType",
                &STRING,
                Location::Header,
                Some("X-Amz-Invocation-Type"),
            ),
            member(
                "Qualifier",
                &STRING,
                Location::QueryString,
                Some("Qualifier"),
            ),
            member("Payload", &BLOB, Location::Body, None),
        ],
        payload: Some("Payload"),
    },
    ..STRING_BASE
};
static INVOKE_OUT: Shape = Shape {
    name: "InvocationResponse",
    kind: ShapeKind::Structure {
        members: &[
            member("StatusCode", &INT, Location::StatusCode, None),
            member(
                "FunctionError",
                &STRING,
                Location::Header,
                Some("X-Amz-Function-Error"),
            ),
            member("Payload", &BLOB, Location::Body, None),
        ],
        payload: Some("Payload"),
    },
    ..STRING_BASE
};
static OBJECT_IN: Shape = Shape {
    name: "GetObjectRequest",
    kind: ShapeKind::Structure {
        members: &[
            member("Key", &STRING, Location::Uri, Some("Key")),
            member("Tags", &LIST, Location::QueryString, Some("tag")),
            member("Meta", &MAP, Location::Headers, Some("x-meta-")),
            member("Extra", &MAP, Location::QueryString, None),
            member("Body", &STRING, Location::Body, None),
        ],
        payload: None,
    },
    ..STRING_BASE
};
static SHAPES: [&Shape; 0] = [];
static OPS: [OperationModel; 2] = [
    OperationModel {
        name: "GetObject",
        http_method: "PUT",
        request_uri: "/objects/{Key+}",
        response_code: Some(201),
        input: Some(&OBJECT_IN),
        output: None,
        result_wrapper: None,
        errors: &[],
    },
    OperationModel {
        name: "Invoke",
        http_method: "POST",
        request_uri: "/2015-03-31/functions/{FunctionName}/invocations",
        response_code: None,
        input: Some(&INVOKE_IN),
        output: Some(&INVOKE_OUT),
        result_wrapper: None,
        errors: &[],
    },
];
static FAKE: ServiceModel = ServiceModel {
    name: "fakelambda",
    protocols: &["rest-json"],
    json_version: None,
    target_prefix: None,
    signing_name: "lambda",
    api_version: "2015-03-31",
    xml_namespace: None,
    error_namespace: None,
    aws_query_compatible: false,
    operations: &OPS,
    shapes: &SHAPES,
};

#[test]
fn uri_templates() {
    let cases: &[(&str, &str, Option<&[(&str, &str)]>)] = &[
        (
            "/2015-03-31/functions/{FunctionName}/invocations",
            "/2015-03-31/functions/f%3A1/invocations",
            Some(&[("FunctionName", "f:1")]),
        ),
        (
            "/2015-03-31/functions/{FunctionName}/invocations",
            "/2015-03-31/functions//invocations",
            None,
        ),
        (
            "/2015-03-31/functions/{FunctionName}/invocations",
            "/2015-03-31/functions/f",
            None,
        ),
        (
            "/objects/{Key+}",
            "/objects/a/b/c",
            Some(&[("Key", "a/b/c")]),
        ),
        (
            "/objects/{Key+}/tail",
            "/objects/a/b/tail",
            Some(&[("Key", "a/b")]),
        ),
        ("/objects/{Key+}", "/objects", None),
        ("/tags/{Arn}?x", "/tags/a", None),
    ];
    for (template, path, want) in cases {
        let got = crate::rest_json::match_uri(template, path, None);
        let want = want.map(|w| {
            w.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        });
        assert_eq!(got, want, "{template} {path}");
    }
}

#[test]
fn rest_json_binding_round_trip() {
    let services: &[&ServiceModel] = &[&FAKE];
    let mut req = Req::post(
        "/2015-03-31/functions/my-fn/invocations",
        &[("x-amz-invocation-type", "Event")],
        b"{\"k\":1}",
    );
    req.query = Some("Qualifier=live".into());
    let id = identify(&req.wire(), services, Some("lambda")).unwrap();
    assert_eq!(
        (id.operation.name, id.protocol),
        ("Invoke", Protocol::RestJson)
    );
    let input = decode_request(&id, &req.wire()).unwrap();
    assert_eq!(
        input,
        json!({"FunctionName":"my-fn","InvocationType":"Event","Qualifier":"live","Payload":"eyJrIjoxfQ=="})
    );

    let resp = encode_response(
        &id,
        json!({"StatusCode":202,"FunctionError":"Unhandled","Payload":"eyJrIjoxfQ=="}),
        "r",
    );
    assert_eq!(resp.status, 202);
    assert_eq!(header(&resp, "x-amz-function-error"), Some("Unhandled"));
    assert_eq!(&resp.body[..], b"{\"k\":1}");

    let mut req = Req::post(
        "/objects/a/b",
        &[("x-meta-color", "red")],
        b"{\"Body\":\"hello\"}",
    );
    req.method = http::Method::PUT;
    req.query = Some("tag=1&tag=2&free=x".into());
    let id = identify(&req.wire(), services, None).unwrap();
    let input = decode_request(&id, &req.wire()).unwrap();
    assert_eq!(
        input,
        json!({"Key":"a/b","Tags":["1","2"],"Meta":{"color":"red"},"Extra":{"free":"x"},"Body":"hello"})
    );
    assert_eq!(encode_response(&id, json!({}), "r").status, 201);

    // Required label and length limits are validated.
    let req = Req::post(
        &format!("/2015-03-31/functions/{}/invocations", "f".repeat(65)),
        &[],
        b"",
    );
    let id = identify(&req.wire(), services, None).unwrap();
    let err = decode_request(&id, &req.wire()).unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.status),
        ("ValidationException", 400)
    );
    assert!(err.message.contains("'functionName'"), "{}", err.message);
}
