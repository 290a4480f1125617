//! The AWS SDK for Rust against a spawned `nimbus serve` (see the library): DynamoDB and
//! DynamoDB Streams end to end.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, KeySchemaElement, KeyType,
    Put, ReturnValue, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
    StreamSpecification, StreamViewType, TableStatus, TransactWriteItem, Update,
};
use aws_sdk_dynamodbstreams::types::{OperationType, ShardIteratorType};
use nimbus_sdk_tests::Nimbus;

// ---- clients ---------------------------------------------------------------------------------

fn credentials() -> Credentials {
    Credentials::new("test", "test", None, None, "static")
}

fn dynamodb(nimbus: &Nimbus) -> Client {
    // The smithy hyper 1 client with no TLS provider: the endpoint is plain HTTP.
    let http = aws_smithy_http_client::Builder::new().build_http();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(nimbus.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials())
        .http_client(http)
        .build();
    Client::from_conf(config)
}

fn streams(nimbus: &Nimbus) -> aws_sdk_dynamodbstreams::Client {
    let http = aws_smithy_http_client::Builder::new().build_http();
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(aws_sdk_dynamodbstreams::config::BehaviorVersion::latest())
        .endpoint_url(nimbus.endpoint())
        .region(aws_sdk_dynamodbstreams::config::Region::new("us-east-1"))
        .credentials_provider(credentials())
        .http_client(http)
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(config)
}

// ---- helpers ---------------------------------------------------------------------------------

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: &str) -> AttributeValue {
    AttributeValue::N(value.to_owned())
}

fn item<const N: usize>(pairs: [(&str, AttributeValue); N]) -> HashMap<String, AttributeValue> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Creates a table keyed by `pk` (string) and `sk` (number), waits until it is ACTIVE and
/// returns its latest stream ARN (the stream keeps new and old images).
async fn create_table(client: &Client, name: &str) -> String {
    let attribute = |name: &str, kind| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let created = client
        .create_table()
        .table_name(name)
        .attribute_definitions(attribute("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute("sk", ScalarAttributeType::N))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("CreateTable");
    let description = created.table_description().expect("TableDescription");
    assert_eq!(description.table_status(), Some(&TableStatus::Creating));
    client
        .wait_until_table_exists()
        .table_name(name)
        .wait(Duration::from_secs(30))
        .await
        .expect("table exists");
    let described = client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .expect("DescribeTable");
    assert_eq!(
        described.table().and_then(|t| t.table_status()),
        Some(&TableStatus::Active)
    );
    description
        .latest_stream_arn()
        .expect("LatestStreamArn")
        .to_owned()
}

/// An unconditional PutItem that must succeed.
async fn put(client: &Client, table: &str, item: HashMap<String, AttributeValue>) {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .expect("PutItem");
}

// ---- tests -----------------------------------------------------------------------------------

#[tokio::test]
async fn failed_condition_answers_with_the_stored_item() {
    let nimbus = Nimbus::start();
    let client = dynamodb(&nimbus);
    create_table(&client, "orders").await;
    let stored = item([("pk", s("o-1")), ("sk", n("1")), ("state", s("open"))]);
    client
        .put_item()
        .table_name("orders")
        .set_item(Some(stored.clone()))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .expect("first PutItem");

    let err = client
        .put_item()
        .table_name("orders")
        .set_item(Some(item([("pk", s("o-1")), ("sk", n("1"))])))
        .condition_expression("attribute_not_exists(pk)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .expect_err("the condition fails")
        .into_service_error();
    let PutItemError::ConditionalCheckFailedException(failed) = err else {
        panic!("expected ConditionalCheckFailedException, got {err:?}");
    };
    assert_eq!(failed.message(), Some("The conditional request failed"));
    assert_eq!(failed.item(), Some(&stored));

    // Without ReturnValuesOnConditionCheckFailure the item stays out of the error.
    let err = client
        .put_item()
        .table_name("orders")
        .set_item(Some(item([("pk", s("o-1")), ("sk", n("1"))])))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .expect_err("the condition fails")
        .into_service_error();
    let PutItemError::ConditionalCheckFailedException(failed) = err else {
        panic!("expected ConditionalCheckFailedException, got {err:?}");
    };
    assert_eq!(failed.item(), None);
}

#[tokio::test]
async fn update_add_counts_and_returns_updated_values() {
    let nimbus = Nimbus::start();
    let client = dynamodb(&nimbus);
    create_table(&client, "counters").await;
    let key = item([("pk", s("page")), ("sk", n("0"))]);
    for expected in ["1", "2", "3"] {
        let out = client
            .update_item()
            .table_name("counters")
            .set_key(Some(key.clone()))
            .update_expression("ADD hits :one, tags :tag")
            .expression_attribute_values(":one", n("1"))
            .expression_attribute_values(":tag", AttributeValue::Ss(vec![format!("t{expected}")]))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .expect("UpdateItem");
        let attributes = out.attributes().expect("Attributes");
        assert_eq!(attributes.get("hits"), Some(&n(expected)));
        let AttributeValue::Ss(tags) = &attributes["tags"] else {
            panic!("tags is a string set: {attributes:?}");
        };
        assert_eq!(tags.len(), expected.parse::<usize>().unwrap());
        assert!(!attributes.contains_key("pk"), "keys are not updated");
    }
    // UPDATED_OLD on a nested path: only that path, nested as in the item.
    client
        .update_item()
        .table_name("counters")
        .set_key(Some(key.clone()))
        .update_expression("SET meta = :m")
        .expression_attribute_values(
            ":m",
            AttributeValue::M(item([("views", n("5")), ("owner", s("ann"))])),
        )
        .send()
        .await
        .expect("SET meta");
    let out = client
        .update_item()
        .table_name("counters")
        .set_key(Some(key.clone()))
        // VIEWS is a reserved word: it goes through a name placeholder.
        .update_expression("SET meta.#v = meta.#v + :one")
        .expression_attribute_names("#v", "views")
        .expression_attribute_values(":one", n("1"))
        .return_values(ReturnValue::UpdatedOld)
        .send()
        .await
        .expect("UpdateItem nested");
    assert_eq!(
        out.attributes(),
        Some(&item([(
            "meta",
            AttributeValue::M(item([("views", n("5"))]))
        )]))
    );
    let got = client
        .get_item()
        .table_name("counters")
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem");
    let got = got.item().expect("Item");
    assert_eq!(got["hits"], n("3"));
    assert_eq!(
        got["meta"],
        AttributeValue::M(item([("views", n("6")), ("owner", s("ann"))]))
    );
}

#[tokio::test]
async fn query_pages_through_a_partition() {
    let nimbus = Nimbus::start();
    let client = dynamodb(&nimbus);
    create_table(&client, "events").await;
    for sk in 0..25 {
        let partition = if sk % 5 == 4 { "other" } else { "user-1" };
        let event = item([
            ("pk", s(partition)),
            ("sk", n(&sk.to_string())),
            ("body", s(&"x".repeat(100))),
        ]);
        put(&client, "events", event).await;
    }

    // By hand: each page holds at most Limit items and names where the next one starts.
    let mut start = None;
    let mut pages = Vec::new();
    loop {
        let page = client
            .query()
            .table_name("events")
            .key_condition_expression("pk = :p AND sk >= :from")
            .expression_attribute_values(":p", s("user-1"))
            .expression_attribute_values(":from", n("2"))
            .limit(7)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("Query");
        let sks: Vec<String> = page
            .items()
            .iter()
            .map(|i| i["sk"].as_n().unwrap().clone())
            .collect();
        assert_eq!(page.count(), i32::try_from(sks.len()).unwrap());
        pages.push(sks);
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    let expected: Vec<String> = (2..25)
        .filter(|sk| sk % 5 != 4)
        .map(|sk| sk.to_string())
        .collect();
    assert_eq!(pages.concat(), expected);
    assert_eq!(pages[0].len(), 7);
    assert!(pages.len() >= 3, "{pages:?}");

    // The SDK paginator follows LastEvaluatedKey too; descending order this time.
    let mut stream = client
        .query()
        .table_name("events")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("user-1"))
        .scan_index_forward(false)
        .limit(4)
        .into_paginator()
        .items()
        .send();
    let mut seen = Vec::new();
    while let Some(found) = stream.next().await {
        seen.push(
            found.expect("page")["sk"]
                .as_n()
                .unwrap()
                .parse::<i32>()
                .unwrap(),
        );
    }
    let mut expected: Vec<i32> = (0..25).filter(|sk| sk % 5 != 4).collect();
    expected.reverse();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn cancelled_transaction_names_the_reason_for_each_item() {
    let nimbus = Nimbus::start();
    let client = dynamodb(&nimbus);
    create_table(&client, "accounts").await;
    let alice = item([("pk", s("alice")), ("sk", n("0")), ("balance", n("10"))]);
    put(&client, "accounts", alice.clone()).await;

    let put_bob = TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name("accounts")
                .set_item(Some(item([
                    ("pk", s("bob")),
                    ("sk", n("0")),
                    ("balance", n("5")),
                ])))
                .build()
                .unwrap(),
        )
        .build();
    let debit_alice = TransactWriteItem::builder()
        .update(
            Update::builder()
                .table_name("accounts")
                .set_key(Some(item([("pk", s("alice")), ("sk", n("0"))])))
                .update_expression("SET balance = balance - :amount")
                .condition_expression("balance >= :amount")
                .expression_attribute_values(":amount", n("50"))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .unwrap(),
        )
        .build();
    let carol_absent = TransactWriteItem::builder()
        .condition_check(
            ConditionCheck::builder()
                .table_name("accounts")
                .set_key(Some(item([("pk", s("carol")), ("sk", n("0"))])))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .unwrap(),
        )
        .build();
    let err = client
        .transact_write_items()
        .transact_items(put_bob)
        .transact_items(debit_alice)
        .transact_items(carol_absent)
        .send()
        .await
        .expect_err("alice cannot pay 50")
        .into_service_error();
    let TransactWriteItemsError::TransactionCanceledException(cancelled) = err else {
        panic!("expected TransactionCanceledException, got {err:?}");
    };
    let codes: Vec<Option<&str>> = cancelled
        .cancellation_reasons()
        .iter()
        .map(|r| r.code())
        .collect();
    assert_eq!(
        codes,
        [Some("None"), Some("ConditionalCheckFailed"), Some("None")]
    );
    let reasons = cancelled.cancellation_reasons();
    assert_eq!(reasons[1].item(), Some(&alice));
    assert_eq!(reasons[1].message(), Some("The conditional request failed"));
    assert_eq!(reasons[0].item(), None);
    assert!(
        cancelled
            .message()
            .unwrap_or_default()
            .contains("[None, ConditionalCheckFailed, None]"),
        "{cancelled:?}"
    );

    // Nothing of the cancelled transaction was written.
    let bob = client
        .get_item()
        .table_name("accounts")
        .set_key(Some(item([("pk", s("bob")), ("sk", n("0"))])))
        .send()
        .await
        .expect("GetItem");
    assert_eq!(bob.item(), None);
}

#[tokio::test]
async fn stream_records_follow_writes() {
    let nimbus = Nimbus::start();
    let client = dynamodb(&nimbus);
    let streams = streams(&nimbus);
    let arn = create_table(&client, "audit").await;
    let key = item([("pk", s("doc")), ("sk", n("1"))]);
    put(
        &client,
        "audit",
        item([("pk", s("doc")), ("sk", n("1")), ("v", n("1"))]),
    )
    .await;
    client
        .update_item()
        .table_name("audit")
        .set_key(Some(key.clone()))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", n("2"))
        .send()
        .await
        .expect("UpdateItem");
    client
        .delete_item()
        .table_name("audit")
        .set_key(Some(key))
        .send()
        .await
        .expect("DeleteItem");

    let described = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .expect("DescribeStream");
    let description = described.stream_description().expect("StreamDescription");
    assert_eq!(description.table_name(), Some("audit"));
    let shard = description.shards()[0].shard_id().expect("ShardId");
    let iterator = streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("GetShardIterator")
        .shard_iterator()
        .expect("ShardIterator")
        .to_owned();
    let records = streams
        .get_records()
        .shard_iterator(iterator)
        .send()
        .await
        .expect("GetRecords");
    let names: Vec<&OperationType> = records
        .records()
        .iter()
        .filter_map(|r| r.event_name())
        .collect();
    assert_eq!(
        names,
        [
            &OperationType::Insert,
            &OperationType::Modify,
            &OperationType::Remove
        ]
    );
    let modify = records.records()[1].dynamodb().expect("StreamRecord");
    let v = |image: Option<&HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
        image
            .and_then(|i| i.get("v"))
            .and_then(|v| v.as_n().ok())
            .cloned()
    };
    assert_eq!(v(modify.old_image()), Some("1".to_owned()));
    assert_eq!(v(modify.new_image()), Some("2".to_owned()));
    assert!(records.next_shard_iterator().is_some());
}
