//! Hostile input: every decoder answers a 4xx error or a value, never a panic.

use super::{Req, SERVICES};
use crate::{decode_request, identify};

#[test]
fn garbage_never_panics() {
    let bodies: Vec<Vec<u8>> = vec![
        vec![],
        b"{".to_vec(),
        b"null".to_vec(),
        b"{\"QueueUrl\": {\"a\": [1, 2, {\"b\": null}]}, \"MessageBody\": 5}".to_vec(),
        vec![0xff; 64],
        vec![0xbf; 200],
        vec![0x9f; 10_000],
        b"\xa1\x68QueueUrl\xc1\xc1\xc1\xc1\x61u".to_vec(),
        b"\x5b\xff\xff\xff\xff\xff\xff\xff\xff".to_vec(),
        "{\"a\":".repeat(5000).into_bytes(),
        b"Action=SendMessage&MessageAttribute.1.Name=a&MessageAttribute.1.Value.StringListValue.99999=x".to_vec(),
        b"Action=SendMessage&QueueUrl=u&MessageBody=b&MessageAttribute.1.Value.DataType=String".to_vec(),
        b"Action=CreateQueue&QueueName=q&Attribute.1.Value=x".to_vec(),
        b"Action=SendMessage&DelaySeconds=%FF%FE&QueueUrl=%ZZ".to_vec(),
        b"Action=SendMessageBatch&QueueUrl=u&SendMessageBatchRequestEntry.1.DelaySeconds=1e999".to_vec(),
        b"\x00\x01\x02&&==&=&".to_vec(),
    ];
    for service in SERVICES {
        for op in service.operations.iter().take(40) {
            for body in &bodies {
                let target = format!("{}.{}", service.target_prefix.unwrap_or("X"), op.name);
                let reqs = [
                    Req::post(
                        "/",
                        &[
                            ("x-amz-target", &target),
                            ("content-type", "application/x-amz-json-1.0"),
                        ],
                        body,
                    ),
                    Req::post(
                        "/",
                        &[("content-type", "application/x-www-form-urlencoded")],
                        body,
                    ),
                    Req::post(
                        &format!("/service/AmazonSQS/operation/{}", op.name),
                        &[("smithy-protocol", "rpc-v2-cbor")],
                        body,
                    ),
                ];
                for req in &reqs {
                    if let Ok(id) = identify(&req.wire(), SERVICES, Some(service.signing_name))
                        && let Err(err) = decode_request(&id, &req.wire())
                    {
                        assert!((400..500).contains(&err.status), "{err}");
                    }
                }
            }
        }
    }
}
