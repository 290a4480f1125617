//! The AWS SDK for Rust against a spawned `nimbus serve` (see the library): SQS end to end.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};
use md5::{Digest, Md5};
use nimbus_sdk_tests::Nimbus;

// ---- the spawned server ---------------------------------------------------------------------

trait SqsClient {
    fn client(&self) -> Client;
}

impl SqsClient for Nimbus {
    fn client(&self) -> Client {
        // The smithy hyper 1 client with no TLS provider (public, though hidden from the docs):
        // the endpoint is plain HTTP, so no TLS stack is compiled in.
        let http = aws_smithy_http_client::Builder::new().build_http();
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .http_client(http)
            .build();
        Client::from_conf(config)
    }
}

// ---- helpers ---------------------------------------------------------------------------------

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// The MD5 of message attributes as SQS defines it: names sorted; for each, the length-prefixed
/// name and data type, a transport byte (1 string/number, 2 binary) and the length-prefixed value.
fn attributes_md5(attributes: &HashMap<String, MessageAttributeValue>) -> String {
    fn put(buf: &mut Vec<u8>, bytes: &[u8]) {
        buf.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_be_bytes());
        buf.extend_from_slice(bytes);
    }
    let mut names: Vec<&String> = attributes.keys().collect();
    names.sort();
    let mut buf = Vec::new();
    for name in names {
        let value = &attributes[name];
        put(&mut buf, name.as_bytes());
        put(&mut buf, value.data_type().as_bytes());
        if let Some(binary) = value.binary_value() {
            buf.push(2);
            put(&mut buf, binary.as_ref());
        } else {
            buf.push(1);
            put(
                &mut buf,
                value.string_value().unwrap_or_default().as_bytes(),
            );
        }
    }
    md5_hex(&buf)
}

async fn create_queue(client: &Client, name: &str) -> String {
    client
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("CreateQueue")
        .queue_url()
        .expect("QueueUrl")
        .to_owned()
}

async fn queue_attributes(client: &Client, url: &str) -> HashMap<QueueAttributeName, String> {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes()
        .cloned()
        .unwrap_or_default()
}

fn string_attr(data_type: &str, value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(value)
        .build()
        .unwrap()
}

// ---- tests -----------------------------------------------------------------------------------

#[tokio::test]
async fn create_queue_and_find_it() {
    let nimbus = Nimbus::start();
    let client = nimbus.client();
    let url = create_queue(&client, "rust-std").await;
    assert!(url.ends_with("/000000000000/rust-std"), "{url}");

    let found = client
        .get_queue_url()
        .queue_name("rust-std")
        .send()
        .await
        .expect("GetQueueUrl");
    assert_eq!(found.queue_url(), Some(url.as_str()));

    let listed = client
        .list_queues()
        .queue_name_prefix("rust-")
        .send()
        .await
        .expect("ListQueues");
    assert_eq!(listed.queue_urls(), std::slice::from_ref(&url));

    let attrs = queue_attributes(&client, &url).await;
    assert_eq!(
        attrs.get(&QueueAttributeName::QueueArn).map(String::as_str),
        Some("arn:aws:sqs:us-east-1:000000000000:rust-std")
    );
}

#[tokio::test]
async fn message_attributes_round_trip_with_digests() {
    let nimbus = Nimbus::start();
    let client = nimbus.client();
    let url = create_queue(&client, "rust-attrs").await;

    let body = "héllo from the Rust SDK";
    let mut attributes = HashMap::new();
    attributes.insert("Colour".to_owned(), string_attr("String", "blue"));
    attributes.insert("Count".to_owned(), string_attr("Number", "42.5"));
    attributes.insert(
        "Blob".to_owned(),
        MessageAttributeValue::builder()
            .data_type("Binary")
            .binary_value(Blob::new(vec![0u8, 1, 2, 254, 255]))
            .build()
            .unwrap(),
    );
    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body(body)
        .set_message_attributes(Some(attributes.clone()))
        .send()
        .await
        .expect("SendMessage");
    let message_id = sent.message_id().expect("MessageId").to_owned();
    assert_eq!(
        sent.md5_of_message_body(),
        Some(md5_hex(body.as_bytes()).as_str())
    );
    assert_eq!(
        sent.md5_of_message_attributes(),
        Some(attributes_md5(&attributes).as_str())
    );

    let received = client
        .receive_message()
        .queue_url(&url)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("ReceiveMessage");
    let [message] = received.messages() else {
        panic!("one message expected: {:?}", received.messages());
    };
    assert_eq!(message.message_id(), Some(message_id.as_str()));
    assert_eq!(message.body(), Some(body));
    assert_eq!(
        message.md5_of_body(),
        Some(md5_hex(body.as_bytes()).as_str())
    );
    let got = message.message_attributes().expect("MessageAttributes");
    assert_eq!(got, &attributes);
    assert_eq!(
        message.md5_of_message_attributes(),
        Some(attributes_md5(&attributes).as_str())
    );
    assert_eq!(attributes_md5(got), attributes_md5(&attributes));

    let system = message.attributes().expect("system attributes");
    assert_eq!(
        system
            .get(&MessageSystemAttributeName::ApproximateReceiveCount)
            .map(String::as_str),
        Some("1")
    );
    for name in [
        MessageSystemAttributeName::SentTimestamp,
        MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
    ] {
        let value = system.get(&name).unwrap_or_else(|| panic!("{name:?}"));
        assert!(value.parse::<u64>().is_ok(), "{name:?} = {value:?}");
    }
    assert!(
        system
            .get(&MessageSystemAttributeName::SenderId)
            .is_some_and(|s| !s.is_empty()),
        "SenderId: {system:?}"
    );

    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(message.receipt_handle().expect("ReceiptHandle"))
        .send()
        .await
        .expect("DeleteMessage");
    let attrs = queue_attributes(&client, &url).await;
    for name in [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ] {
        assert_eq!(attrs.get(&name).map(String::as_str), Some("0"), "{name:?}");
    }
}

#[tokio::test]
async fn batches_report_partial_failures() {
    let nimbus = Nimbus::start();
    let client = nimbus.client();
    let url = create_queue(&client, "rust-batch").await;

    let entries = (0..3)
        .map(|i| {
            SendMessageBatchRequestEntry::builder()
                .id(format!("m{i}"))
                .message_body(format!("body {i}"))
                .build()
                .unwrap()
        })
        .collect::<Vec<_>>();
    let sent = client
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await
        .expect("SendMessageBatch");
    assert!(sent.failed().is_empty(), "{:?}", sent.failed());
    let mut ids: Vec<&str> = sent.successful().iter().map(|e| e.id()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["m0", "m1", "m2"]);
    for entry in sent.successful() {
        let body = format!("body {}", &entry.id()[1..]);
        assert_eq!(entry.md5_of_message_body(), md5_hex(body.as_bytes()));
    }

    let received = client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .visibility_timeout(60)
        .send()
        .await
        .expect("ReceiveMessage");
    assert_eq!(received.messages().len(), 3, "{:?}", received.messages());

    let mut deletes: Vec<DeleteMessageBatchRequestEntry> = received
        .messages()
        .iter()
        .enumerate()
        .map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("d{i}"))
                .receipt_handle(m.receipt_handle().unwrap())
                .build()
                .unwrap()
        })
        .collect();
    deletes.push(
        DeleteMessageBatchRequestEntry::builder()
            .id("bogus")
            .receipt_handle("not-a-receipt-handle")
            .build()
            .unwrap(),
    );
    let deleted = client
        .delete_message_batch()
        .queue_url(&url)
        .set_entries(Some(deletes))
        .send()
        .await
        .expect("DeleteMessageBatch");
    let mut ok: Vec<&str> = deleted.successful().iter().map(|e| e.id()).collect();
    ok.sort_unstable();
    assert_eq!(ok, ["d0", "d1", "d2"]);
    let [failure] = deleted.failed() else {
        panic!("one failed entry expected: {:?}", deleted.failed());
    };
    assert_eq!(failure.id(), "bogus");
    assert_eq!(failure.code(), "ReceiptHandleIsInvalid");
    assert!(failure.sender_fault());

    let attrs = queue_attributes(&client, &url).await;
    assert_eq!(
        attrs
            .get(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .map(String::as_str),
        Some("0")
    );
}

#[tokio::test]
async fn fifo_keeps_group_order_and_suppresses_duplicates() {
    let nimbus = Nimbus::start();
    let client = nimbus.client();
    let url = client
        .create_queue()
        .queue_name("rust-orders.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
        .send()
        .await
        .expect("CreateQueue fifo")
        .queue_url()
        .unwrap()
        .to_owned();

    let mut sequence_numbers = Vec::new();
    let mut message_ids = Vec::new();
    // The last send repeats the first body: accepted (with a MessageId), but never delivered.
    for body in ["first", "second", "third", "first"] {
        let sent = client
            .send_message()
            .queue_url(&url)
            .message_body(body)
            .message_group_id("g1")
            .send()
            .await
            .expect("SendMessage fifo");
        let seq: u128 = sent
            .sequence_number()
            .expect("SequenceNumber")
            .parse()
            .expect("numeric SequenceNumber");
        sequence_numbers.push(seq);
        message_ids.push(sent.message_id().expect("MessageId").to_owned());
    }
    assert!(
        sequence_numbers[..3].windows(2).all(|w| w[0] < w[1]),
        "{sequence_numbers:?}"
    );

    let received = client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("ReceiveMessage fifo");
    let bodies: Vec<&str> = received
        .messages()
        .iter()
        .map(|m| m.body().unwrap_or_default())
        .collect();
    assert_eq!(bodies, ["first", "second", "third"]);
    let ids: Vec<&str> = received
        .messages()
        .iter()
        .map(|m| m.message_id().unwrap_or_default())
        .collect();
    assert_eq!(ids, message_ids[..3]);
    let group = received.messages()[0]
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
        .map(String::as_str);
    assert_eq!(group, Some("g1"));
}

#[tokio::test]
async fn missing_queue_is_the_modeled_error() {
    let nimbus = Nimbus::start();
    let client = nimbus.client();
    let err = client
        .get_queue_url()
        .queue_name("rust-no-such-queue")
        .send()
        .await
        .expect_err("GetQueueUrl on a missing queue");
    let err = err.into_service_error();
    assert_eq!(
        err.meta().code(),
        Some("AWS.SimpleQueueService.NonExistentQueue"),
        "{err:?}"
    );
    assert!(
        matches!(err, GetQueueUrlError::QueueDoesNotExist(_)),
        "expected QueueDoesNotExist, got {err:?}"
    );
}

#[tokio::test]
async fn long_poll_returns_when_another_task_sends() {
    let nimbus = Nimbus::start();
    let client = nimbus.client();
    let url = create_queue(&client, "rust-poll").await;

    let sender = {
        let client = client.clone();
        let url = url.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            client
                .send_message()
                .queue_url(&url)
                .message_body("wake up")
                .send()
                .await
                .expect("SendMessage from the other task");
        })
    };
    let started = Instant::now();
    let received = client
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(10)
        .send()
        .await
        .expect("ReceiveMessage long poll");
    let waited = started.elapsed();
    sender.await.unwrap();
    let bodies: Vec<&str> = received
        .messages()
        .iter()
        .filter_map(|m| m.body())
        .collect();
    assert_eq!(bodies, ["wake up"]);
    assert!(
        waited >= Duration::from_millis(250),
        "returned before the send: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "did not return on the send: {waited:?}"
    );
}

#[tokio::test]
async fn queue_attributes_round_trip() {
    let nimbus = Nimbus::start();
    let client = nimbus.client();
    let url = create_queue(&client, "rust-settings").await;

    let before = queue_attributes(&client, &url).await;
    assert_eq!(
        before
            .get(&QueueAttributeName::VisibilityTimeout)
            .map(String::as_str),
        Some("30")
    );

    client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::VisibilityTimeout, "45")
        .attributes(QueueAttributeName::DelaySeconds, "3")
        .attributes(QueueAttributeName::MessageRetentionPeriod, "3600")
        .attributes(QueueAttributeName::ReceiveMessageWaitTimeSeconds, "2")
        .attributes(QueueAttributeName::MaximumMessageSize, "2048")
        .send()
        .await
        .expect("SetQueueAttributes");

    let after = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .attribute_names(QueueAttributeName::DelaySeconds)
        .attribute_names(QueueAttributeName::MessageRetentionPeriod)
        .attribute_names(QueueAttributeName::ReceiveMessageWaitTimeSeconds)
        .attribute_names(QueueAttributeName::MaximumMessageSize)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes()
        .cloned()
        .unwrap_or_default();
    let expected: HashMap<QueueAttributeName, String> = [
        (QueueAttributeName::VisibilityTimeout, "45"),
        (QueueAttributeName::DelaySeconds, "3"),
        (QueueAttributeName::MessageRetentionPeriod, "3600"),
        (QueueAttributeName::ReceiveMessageWaitTimeSeconds, "2"),
        (QueueAttributeName::MaximumMessageSize, "2048"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect();
    assert_eq!(after, expected);

    let err = client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::VisibilityTimeout, "43201")
        .send()
        .await
        .expect_err("VisibilityTimeout above 12 hours");
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("InvalidAttributeValue")
    );
}
