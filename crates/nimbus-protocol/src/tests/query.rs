use nimbus_model::{Member, Shape, ShapeKind};
use serde_json::{Value, json};

use super::json::sample;
use super::{Req, SERVICES, text};
use crate::{decode_request, encode_response, identify};

/// Serializes canonical input the way botocore's QuerySerializer does, to prove every operation
/// round-trips through awsQuery.
fn to_query(shape: &Shape, value: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    match (&shape.kind, value) {
        (ShapeKind::Structure { .. }, Value::Object(map)) => {
            for m in shape.members() {
                if let Some(v) = map.get(m.name) {
                    let name = member_key(m, prefix);
                    if m.flattened {
                        flattened(m, v, &name, out);
                    } else {
                        to_query(m.target, v, &name, out);
                    }
                }
            }
        }
        (
            ShapeKind::List {
                member,
                member_location_name,
            },
            Value::Array(items),
        ) => {
            for (i, v) in items.iter().enumerate() {
                let key = format!(
                    "{prefix}.{}.{}",
                    member_location_name.unwrap_or("member"),
                    i + 1
                );
                to_query(member, v, &key, out);
            }
        }
        (
            ShapeKind::Map {
                key,
                value: item,
                key_location_name,
                value_location_name,
            },
            Value::Object(map),
        ) => {
            for (i, (k, v)) in map.iter().enumerate() {
                let base = format!("{prefix}.entry.{}", i + 1);
                to_query(
                    key,
                    &json!(k),
                    &format!("{base}.{}", key_location_name.unwrap_or("key")),
                    out,
                );
                to_query(
                    item,
                    v,
                    &format!("{base}.{}", value_location_name.unwrap_or("value")),
                    out,
                );
            }
        }
        (_, Value::String(s)) => out.push((prefix.to_owned(), s.clone())),
        (_, other) => out.push((prefix.to_owned(), other.to_string())),
    }
}

fn member_key(m: &Member, prefix: &str) -> String {
    if prefix.is_empty() {
        m.xml_name().to_owned()
    } else {
        format!("{prefix}.{}", m.xml_name())
    }
}

fn flattened(m: &Member, v: &Value, name: &str, out: &mut Vec<(String, String)>) {
    match (&m.target.kind, v) {
        (
            ShapeKind::List {
                member,
                member_location_name,
            },
            Value::Array(items),
        ) => {
            let base = match member_location_name {
                Some(n) => match name.rsplit_once('.') {
                    Some((p, _)) => format!("{p}.{n}"),
                    None => (*n).to_owned(),
                },
                None => name.to_owned(),
            };
            for (i, item) in items.iter().enumerate() {
                to_query(member, item, &format!("{base}.{}", i + 1), out);
            }
        }
        (
            ShapeKind::Map {
                key,
                value: item,
                key_location_name,
                value_location_name,
            },
            Value::Object(map),
        ) => {
            for (i, (k, val)) in map.iter().enumerate() {
                let base = format!("{name}.{}", i + 1);
                to_query(
                    key,
                    &json!(k),
                    &format!("{base}.{}", key_location_name.unwrap_or("key")),
                    out,
                );
                to_query(
                    item,
                    val,
                    &format!("{base}.{}", value_location_name.unwrap_or("value")),
                    out,
                );
            }
        }
        _ => to_query(m.target, v, name, out),
    }
}

fn form(pairs: &[(String, String)]) -> String {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[test]
fn every_sqs_sts_iam_operation_round_trips_through_query() {
    for service in SERVICES {
        for op in service.operations {
            let input = op.input.map_or(json!({}), |s| sample(s, 0));
            let mut pairs = vec![
                ("Action".to_owned(), op.name.to_owned()),
                ("Version".to_owned(), service.api_version.to_owned()),
            ];
            if let Some(shape) = op.input {
                to_query(shape, &input, "", &mut pairs);
            }
            let req = Req::form(&form(&pairs));
            let id = identify(&req.wire(), SERVICES, Some(service.signing_name)).unwrap();
            let decoded =
                decode_request(&id, &req.wire()).unwrap_or_else(|e| panic!("{}: {e}", op.name));
            // Numbers in sample input are whole; the query decoder yields the same JSON.
            assert_eq!(decoded, input, "{}.{}", service.name, op.name);
        }
    }
}

#[test]
fn sqs_legacy_query_requests() {
    // Forms as the pre-2023 SDKs and CLIs sent them, and the canonical input they mean.
    let cases: &[(&str, Value)] = &[
        (
            "Action=CreateQueue&QueueName=jobs&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=40\
             &Attribute.2.Name=DelaySeconds&Attribute.2.Value=0&Tag.1.Key=team&Tag.1.Value=core&Version=2012-11-05",
            json!({"QueueName":"jobs","Attributes":{"VisibilityTimeout":"40","DelaySeconds":"0"},"tags":{"team":"core"}}),
        ),
        (
            "Action=SendMessage&QueueUrl=http%3A%2F%2Flocalhost%3A4566%2F000000000000%2Fjobs&MessageBody=a+b%26c\
             &DelaySeconds=3&MessageAttribute.1.Name=n&MessageAttribute.1.Value.DataType=String\
             &MessageAttribute.1.Value.StringValue=v&MessageAttribute.2.Name=b&MessageAttribute.2.Value.DataType=Binary\
             &MessageAttribute.2.Value.BinaryValue=AAE%3D",
            json!({"QueueUrl":"http://localhost:4566/000000000000/jobs","MessageBody":"a b&c","DelaySeconds":3,
                   "MessageAttributes":{"n":{"DataType":"String","StringValue":"v"},"b":{"DataType":"Binary","BinaryValue":"AAE="}}}),
        ),
        (
            "Action=ReceiveMessage&QueueUrl=u&AttributeName.1=All&MessageAttributeName.1=All&MaxNumberOfMessages=10&WaitTimeSeconds=20",
            json!({"QueueUrl":"u","AttributeNames":["All"],"MessageSystemAttributeNames":["All"],"MessageAttributeNames":["All"],"MaxNumberOfMessages":10,"WaitTimeSeconds":20}),
        ),
        (
            "Action=SendMessageBatch&QueueUrl=u&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x\
             &SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=y&SendMessageBatchRequestEntry.2.DelaySeconds=1",
            json!({"QueueUrl":"u","Entries":[{"Id":"a","MessageBody":"x"},{"Id":"b","MessageBody":"y","DelaySeconds":1}]}),
        ),
        (
            "Action=DeleteMessageBatch&QueueUrl=u&DeleteMessageBatchRequestEntry.1.Id=a&DeleteMessageBatchRequestEntry.1.ReceiptHandle=r",
            json!({"QueueUrl":"u","Entries":[{"Id":"a","ReceiptHandle":"r"}]}),
        ),
        (
            "Action=ChangeMessageVisibilityBatch&QueueUrl=u&ChangeMessageVisibilityBatchRequestEntry.1.Id=a\
             &ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle=r&ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout=5",
            json!({"QueueUrl":"u","Entries":[{"Id":"a","ReceiptHandle":"r","VisibilityTimeout":5}]}),
        ),
        (
            "Action=AddPermission&QueueUrl=u&Label=l&AWSAccountId.1=111122223333&ActionName.1=SendMessage&ActionName.2=ReceiveMessage",
            json!({"QueueUrl":"u","Label":"l","AWSAccountIds":["111122223333"],"Actions":["SendMessage","ReceiveMessage"]}),
        ),
        (
            "Action=UntagQueue&QueueUrl=u&TagKey.1=a&TagKey.2=b",
            json!({"QueueUrl":"u","TagKeys":["a","b"]}),
        ),
        (
            "Action=GetQueueAttributes&QueueUrl=u&AttributeName.1=All",
            json!({"QueueUrl":"u","AttributeNames":["All"]}),
        ),
    ];
    for (body, want) in cases {
        let req = Req::form(body);
        let id = identify(&req.wire(), SERVICES, Some("sqs")).unwrap();
        let got = decode_request(&id, &req.wire()).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(&got, want, "{body}");
    }
}

#[test]
fn sqs_query_posted_to_the_queue_url_names_the_queue() {
    let mut req = Req::form("Action=GetQueueAttributes&AttributeName.1=All");
    req.path = "/000000000000/jobs".into();
    req.headers
        .insert("host", "localhost:4566".parse().unwrap());
    let id = identify(&req.wire(), SERVICES, Some("sqs")).unwrap();
    let got = decode_request(&id, &req.wire()).unwrap();
    assert_eq!(got["QueueUrl"], "http://localhost:4566/000000000000/jobs");
}

#[test]
fn sts_and_iam_query_requests() {
    let cases: &[(&str, Result<Value, &str>)] = &[
        ("Action=GetCallerIdentity&Version=2011-06-15", Ok(json!({}))),
        (
            "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&RoleSessionName=ss&DurationSeconds=900\
             &Tags.member.1.Key=k&Tags.member.1.Value=v&Version=2011-06-15",
            Ok(
                json!({"RoleArn":"arn:aws:iam::1:role/r","RoleSessionName":"ss","DurationSeconds":900,"Tags":[{"Key":"k","Value":"v"}]}),
            ),
        ),
        (
            "Action=AssumeRole&RoleSessionName=s&Version=2011-06-15",
            Err(
                "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null",
            ),
        ),
        (
            "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Frrrrrrrrrrrrrrrrrr&RoleSessionName=ss&DurationSeconds=1&Version=2011-06-15",
            Err(
                "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
            ),
        ),
        (
            "Action=AssumeRole&RoleArn=short&RoleSessionName=ss&Version=2011-06-15",
            Err(
                "1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
            ),
        ),
        ("Action=ListRoles&MaxItems=abc&Version=2010-05-08", Err("")),
        ("Action=ListRoles&Version=2010-05-08", Ok(json!({}))),
        (
            "Action=CreateRole&RoleName=r&AssumeRolePolicyDocument=%7B%7D&Tags.member.1.Key=a&Tags.member.1.Value=b&Version=2010-05-08",
            Ok(
                json!({"RoleName":"r","AssumeRolePolicyDocument":"{}","Tags":[{"Key":"a","Value":"b"}]}),
            ),
        ),
    ];
    for (body, want) in cases {
        let req = Req::form(body);
        let id = identify(&req.wire(), SERVICES, None).unwrap();
        match (decode_request(&id, &req.wire()), want) {
            (Ok(got), Ok(want)) => assert_eq!(&got, want, "{body}"),
            (Err(err), Err(message)) => {
                assert_eq!(err.status, 400, "{body}");
                if !message.is_empty() {
                    assert_eq!(err.code, "ValidationError", "{body}");
                    assert_eq!(err.message, *message, "{body}");
                }
            }
            (got, want) => panic!("{body}: got {got:?}, want {want:?}"),
        }
    }
}

fn sqs_query(action: &str) -> Req {
    Req::form(&format!("Action={action}&Version=2012-11-05"))
}

#[test]
fn sqs_xml_outputs_match_what_query_sdks_parse() {
    let ns = "<?xml version=\"1.0\"?>";
    let x = "xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"";
    let meta = "<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>";
    let cases: Vec<(&str, Value, String)> = vec![
        (
            "SendMessage",
            json!({"MD5OfMessageBody":"fafb00f5732ab283681e124bf8747ed1","MessageId":"5fea7756-0ea4-451a-a703-a558b933e274"}),
            format!(
                "{ns}<SendMessageResponse {x}><SendMessageResult><MD5OfMessageBody>fafb00f5732ab283681e124bf8747ed1</MD5OfMessageBody>\
                     <MessageId>5fea7756-0ea4-451a-a703-a558b933e274</MessageId></SendMessageResult>{meta}</SendMessageResponse>"
            ),
        ),
        (
            "ReceiveMessage",
            json!({"Messages":[{"MessageId":"m","ReceiptHandle":"r+/=","MD5OfBody":"d","Body":"<b>&\r\n",
                   "Attributes":{"SenderId":"1"},
                   "MessageAttributes":{"n":{"DataType":"String","StringValue":"v","StringListValues":["a","b"]}}}]}),
            format!(
                "{ns}<ReceiveMessageResponse {x}><ReceiveMessageResult><Message><MessageId>m</MessageId><ReceiptHandle>r+/=</ReceiptHandle>\
                     <MD5OfBody>d</MD5OfBody><Body>&lt;b&gt;&amp;&#xD;\n</Body><Attribute><Name>SenderId</Name><Value>1</Value></Attribute>\
                     <MessageAttribute><Name>n</Name><Value><StringValue>v</StringValue><StringListValue>a</StringListValue>\
                     <StringListValue>b</StringListValue><DataType>String</DataType></Value></MessageAttribute></Message>\
                     </ReceiveMessageResult>{meta}</ReceiveMessageResponse>"
            ),
        ),
        (
            "ListQueues",
            json!({"QueueUrls":["http://h/1/a","http://h/1/b"]}),
            format!(
                "{ns}<ListQueuesResponse {x}><ListQueuesResult><QueueUrl>http://h/1/a</QueueUrl><QueueUrl>http://h/1/b</QueueUrl>\
                     </ListQueuesResult>{meta}</ListQueuesResponse>"
            ),
        ),
        (
            "GetQueueAttributes",
            json!({"Attributes":{"VisibilityTimeout":"30"}}),
            format!(
                "{ns}<GetQueueAttributesResponse {x}><GetQueueAttributesResult><Attribute><Name>VisibilityTimeout</Name>\
                     <Value>30</Value></Attribute></GetQueueAttributesResult>{meta}</GetQueueAttributesResponse>"
            ),
        ),
        (
            "SendMessageBatch",
            json!({"Successful":[{"Id":"a","MessageId":"m","MD5OfMessageBody":"d"}],
                   "Failed":[{"Id":"b","SenderFault":true,"Code":"InvalidParameterValue","Message":"bad"}]}),
            format!(
                "{ns}<SendMessageBatchResponse {x}><SendMessageBatchResult><SendMessageBatchResultEntry><Id>a</Id><MessageId>m</MessageId>\
                     <MD5OfMessageBody>d</MD5OfMessageBody></SendMessageBatchResultEntry><BatchResultErrorEntry><Id>b</Id>\
                     <SenderFault>true</SenderFault><Code>InvalidParameterValue</Code><Message>bad</Message></BatchResultErrorEntry>\
                     </SendMessageBatchResult>{meta}</SendMessageBatchResponse>"
            ),
        ),
        (
            "ListQueueTags",
            json!({"Tags":{"team":"core"}}),
            format!(
                "{ns}<ListQueueTagsResponse {x}><ListQueueTagsResult><Tag><Key>team</Key><Value>core</Value></Tag>\
                     </ListQueueTagsResult>{meta}</ListQueueTagsResponse>"
            ),
        ),
        (
            "DeleteQueue",
            json!({}),
            format!("{ns}<DeleteQueueResponse {x}>{meta}</DeleteQueueResponse>"),
        ),
        (
            "CreateQueue",
            json!({"QueueUrl":"http://h/1/q"}),
            format!(
                "{ns}<CreateQueueResponse {x}><CreateQueueResult><QueueUrl>http://h/1/q</QueueUrl></CreateQueueResult>{meta}</CreateQueueResponse>"
            ),
        ),
    ];
    for (action, output, want) in cases {
        let req = sqs_query(action);
        let id = identify(&req.wire(), SERVICES, None).unwrap();
        let resp = encode_response(&id, output, "rid");
        assert_eq!(text(&resp), want, "{action}");
        assert_eq!(super::header(&resp, "content-type"), Some("text/xml"));
    }
}

#[test]
fn sts_and_iam_xml_outputs() {
    let req = Req::form("Action=GetCallerIdentity&Version=2011-06-15");
    let id = identify(&req.wire(), SERVICES, None).unwrap();
    let resp = encode_response(
        &id,
        json!({"UserId":"AKID","Account":"000000000000","Arn":"arn:aws:iam::000000000000:root"}),
        "r",
    );
    assert_eq!(
        text(&resp),
        "<?xml version=\"1.0\"?><GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
         <GetCallerIdentityResult><UserId>AKID</UserId><Account>000000000000</Account><Arn>arn:aws:iam::000000000000:root</Arn>\
         </GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    );
    let req = Req::form("Action=ListRoles&Version=2010-05-08");
    let id = identify(&req.wire(), SERVICES, None).unwrap();
    let resp = encode_response(
        &id,
        json!({"Roles":[{"Path":"/","RoleName":"r","RoleId":"AROA","Arn":"arn:aws:iam::1:role/r","CreateDate":1310772513.359}],"IsTruncated":false}),
        "r",
    );
    assert!(text(&resp).contains(
        "<ListRolesResult><Roles><member><Path>/</Path><RoleName>r</RoleName><RoleId>AROA</RoleId>\
         <Arn>arn:aws:iam::1:role/r</Arn><CreateDate>2011-07-15T23:28:33.359Z</CreateDate></member></Roles>\
         <IsTruncated>false</IsTruncated></ListRolesResult>"
    ), "{}", text(&resp));
}
