use serde_json::{Value, json};

use super::{Req, SERVICES, header};
use crate::{decode_request, encode_response, identify};

fn cbor_req(op: &str, body: &[u8]) -> Req {
    Req::post(
        &format!("/service/AmazonSQS/operation/{op}"),
        &[
            ("smithy-protocol", "rpc-v2-cbor"),
            ("content-type", "application/cbor"),
        ],
        body,
    )
}

#[test]
fn cbor_requests_decode_per_shape() {
    // Bodies written out byte by byte (RFC 8949 encoding), as in the Smithy rpcv2Cbor tests.
    let cases: &[(&str, &[u8], Value)] = &[
        // {} and the empty body are both empty input.
        ("ListQueues", &[0xa0], json!({})),
        ("ListQueues", &[], json!({})),
        // {"QueueNamePrefix": "q", "MaxResults": 5}
        ("ListQueues", b"\xa2\x6fQueueNamePrefix\x61q\x6aMaxResults\x05", json!({"QueueNamePrefix":"q","MaxResults":5})),
        // Indefinite-length map and string: {_ "QueueNamePrefix": (_ "a", "b")}
        ("ListQueues", b"\xbf\x6fQueueNamePrefix\x7f\x61a\x61b\xff\xff", json!({"QueueNamePrefix":"ab"})),
        // Blob member as a byte string: MessageAttributes.a.BinaryValue = h'0001'
        (
            "SendMessage",
            b"\xa3\x68QueueUrl\x61u\x6bMessageBody\x61b\x71MessageAttributes\xa1\x61a\xa2\x68DataType\x66Binary\x6bBinaryValue\x42\x00\x01",
            json!({"QueueUrl":"u","MessageBody":"b","MessageAttributes":{"a":{"DataType":"Binary","BinaryValue":"AAE="}}}),
        ),
        // Unknown members are ignored; null members are absent.
        ("ListQueues", b"\xa2\x63Foo\x01\x6aMaxResults\xf6", json!({"MaxResults":null})),
    ];
    for (op, body, want) in cases {
        let req = cbor_req(op, body);
        let id = identify(&req.wire(), SERVICES, None).unwrap();
        let got = decode_request(&id, &req.wire()).unwrap_or_else(|e| panic!("{body:?}: {e}"));
        assert_eq!(&got, want, "{body:x?}");
    }
}

#[test]
fn cbor_outputs_encode_per_shape() {
    let req = cbor_req("GetQueueUrl", &[0xa0]);
    let id = identify(&req.wire(), SERVICES, None).unwrap();
    let resp = encode_response(&id, json!({"QueueUrl":"u"}), "r");
    assert_eq!(&resp.body[..], b"\xa1\x68QueueUrl\x61u");
    assert_eq!(header(&resp, "smithy-protocol"), Some("rpc-v2-cbor"));
    assert_eq!(header(&resp, "content-type"), Some("application/cbor"));
    let req = cbor_req("DeleteQueue", &[0xa0]);
    let id = identify(&req.wire(), SERVICES, None).unwrap();
    assert_eq!(&encode_response(&id, Value::Null, "r").body[..], &[0xa0]);
}

#[test]
fn cbor_timestamps_are_tag_one() {
    // STS has a timestamp (Credentials.Expiration); encode it through the generic writer.
    let shape = nimbus_model::sts::SERVICE.shape("Credentials").unwrap();
    let mut e = minicbor::Encoder::new(Vec::new());
    super::super::cbor_write_for_tests(&mut e, shape, &json!({"Expiration": 1.5}));
    let bytes = e.into_writer();
    // map(1) "Expiration" tag(1) float64(1.5)
    assert_eq!(&bytes[..13], b"\xa1\x6aExpiration\xc1");
    assert_eq!(&bytes[13..], &[0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
}
