//! The DynamoDB service in process: JSON in, JSON out, on a throw-away store.

use std::sync::Arc;

use nimbus_core::{Clock, ClockMode, RequestContext, Service};
use nimbus_dynamodb::{Dynamodb, DynamodbService};
use nimbus_store::{Store, StoreConfig};
use serde_json::{Value, json};

async fn service() -> (DynamodbService, Arc<Dynamodb>, Clock) {
    let store = Store::open(StoreConfig::in_memory()).await.unwrap();
    let clock = Clock::new(ClockMode::Test);
    let ddb = Dynamodb::open(store, clock.clone()).await.unwrap();
    (DynamodbService(Arc::clone(&ddb)), ddb, clock)
}

fn ctx() -> RequestContext {
    RequestContext::internal("000000000000", "us-east-1", "http://localhost:4566")
}

async fn call(
    svc: &DynamodbService,
    op: &str,
    input: Value,
) -> Result<Value, nimbus_core::ServiceError> {
    svc.call(&ctx(), op, input).await
}

async fn table(svc: &DynamodbService) {
    call(
        svc,
        "CreateTable",
        json!({
            "TableName": "t",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn numbers_sort_numerically_in_queries() {
    let (svc, _, _) = service().await;
    table(&svc).await;
    for n in ["10", "-3", "2.5", "0", "100", "-0.5"] {
        call(
            &svc,
            "PutItem",
            json!({"TableName": "t", "Item": {"pk": {"S": "p"}, "sk": {"N": n}}}),
        )
        .await
        .unwrap();
    }
    let out = call(
        &svc,
        "Query",
        json!({"TableName": "t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}}),
    )
    .await
    .unwrap();
    let order: Vec<&str> = out["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sk"]["N"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["-3", "-0.5", "0", "2.5", "10", "100"]);
}

#[tokio::test]
async fn failed_transaction_writes_nothing() {
    let (svc, _, _) = service().await;
    table(&svc).await;
    let err = call(
        &svc,
        "TransactWriteItems",
        json!({"TransactItems": [
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}}},
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "b"}, "sk": {"N": "1"}}, "ConditionExpression": "attribute_exists(pk)"}}
        ]}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, "TransactionCanceledException");
    let reasons = &err.fields.unwrap()["CancellationReasons"];
    assert_eq!(reasons[0]["Code"], "None");
    assert_eq!(reasons[1]["Code"], "ConditionalCheckFailed");
    let scan = call(&svc, "Scan", json!({"TableName": "t"})).await.unwrap();
    assert_eq!(scan["Count"], 0);
}

#[tokio::test]
async fn ttl_sweep_deletes_by_the_clock() {
    let (svc, ddb, clock) = service().await;
    table(&svc).await;
    call(
        &svc,
        "UpdateTimeToLive",
        json!({"TableName": "t", "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "exp"}}),
    )
    .await
    .unwrap();
    let now = clock.now_secs();
    let item = |sk: &str, exp: i64| json!({"TableName": "t", "Item": {"pk": {"S": "p"}, "sk": {"N": sk}, "exp": {"N": exp.to_string()}}});
    call(&svc, "PutItem", item("1", now + 10)).await.unwrap();
    call(&svc, "PutItem", item("2", now + 1000)).await.unwrap();
    assert_eq!(ddb.sweep_expired().await.unwrap(), 0);
    clock.advance(std::time::Duration::from_secs(60));
    assert_eq!(ddb.sweep_expired().await.unwrap(), 1);
    let scan = call(&svc, "Scan", json!({"TableName": "t"})).await.unwrap();
    assert_eq!(scan["Items"][0]["sk"]["N"], "2");
}

#[tokio::test]
async fn unknown_table_and_bad_keys() {
    let (svc, _, _) = service().await;
    let err = call(
        &svc,
        "GetItem",
        json!({"TableName": "none", "Key": {"pk": {"S": "a"}}}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.message.as_str()),
        ("ResourceNotFoundException", "Requested resource not found")
    );
    table(&svc).await;
    let err = call(
        &svc,
        "PutItem",
        json!({"TableName": "t", "Item": {"pk": {"S": "a"}, "sk": {"S": "x"}}}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.message,
        "One or more parameter values were invalid: Type mismatch for key sk expected: N actual: S"
    );
}

/// Every TransactWriteItems forgets the idempotency tokens older than ten minutes (SDKs send a
/// token with each one), so that sweep must be a range search, not a read of every token.
#[tokio::test]
async fn token_sweep_searches_by_age() {
    let store = Store::open(StoreConfig::in_memory()).await.unwrap();
    Dynamodb::open(store.clone(), Clock::new(ClockMode::Test))
        .await
        .unwrap();
    let plan = store
        .read(|tx| {
            tx.query(
                "EXPLAIN QUERY PLAN DELETE FROM ddb_transaction_tokens WHERE created_at < ?1",
                &nimbus_store::params![0_i64],
            )?
            .iter()
            .map(|row| row.string(3))
            .collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    assert!(
        plan.iter()
            .any(|step| step.contains("USING INDEX ddb_transaction_tokens_age")),
        "{plan:?}"
    );
}
