//! The order subscriber (runtime `provided.al2023`): validates the order, then records it once
//! per SNS MessageId. One DynamoDB transaction puts the idempotency key (conditional on its
//! absence) and the audit item together, so a redelivered message neither writes a second
//! audit item nor loses the first; a redelivery is counted on the idempotency table's
//! `stats#orders` item.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use pubsub_rust_subscribers::{Notification, iso_ms, log, notifications, now_ms};
use serde_json::{Value, json};

const SUBSCRIBER: &str = "orders";

struct Tables {
    client: Client,
    idempotency: String,
    audit: String,
}

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

/// A client from the standard Lambda environment (region, credentials, and nimbus's
/// `AWS_ENDPOINT_URL` when present).
fn client() -> Result<Client, Error> {
    let credentials = Credentials::new(
        env("AWS_ACCESS_KEY_ID")?,
        env("AWS_SECRET_ACCESS_KEY")?,
        std::env::var("AWS_SESSION_TOKEN").ok(),
        None,
        "environment",
    );
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(env("AWS_REGION")?))
        .credentials_provider(credentials)
        .http_client(aws_smithy_http_client::Builder::new().build_http());
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(endpoint);
    }
    Ok(Client::from_conf(config.build()))
}

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn n(number: impl ToString) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

/// The order's total, or why the order is malformed.
fn order_total(message: &str) -> Result<f64, String> {
    let body: Value = serde_json::from_str(message).map_err(|e| format!("not JSON: {e}"))?;
    let items = body
        .pointer("/payload/items")
        .and_then(Value::as_array)
        .ok_or("payload.items is not a list")?;
    items.iter().try_fold(0.0, |total, item| {
        let quantity = item.get("quantity").and_then(Value::as_f64).unwrap_or(1.0);
        let price = item
            .get("price")
            .and_then(Value::as_f64)
            .ok_or("an item has no numeric price")?;
        Ok(total + quantity * price)
    })
}

/// Whether the transaction failed only because the idempotency key already exists.
fn is_duplicate(error: &SdkError<TransactWriteItemsError>) -> bool {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        error.as_service_error()
    else {
        return false;
    };
    cancelled
        .cancellation_reasons()
        .first()
        .and_then(|reason| reason.code())
        == Some("ConditionalCheckFailed")
}

async fn record(tables: &Tables, notification: &Notification, received: i64) -> Result<(), Error> {
    let outcome = match order_total(&notification.message) {
        Ok(total) => json!({"outcome": "accepted", "total": total}),
        Err(reason) => json!({"outcome": "rejected", "reason": reason}),
    };
    let processed = now_ms();
    let key = format!("{SUBSCRIBER}#{}", notification.message_id);
    let idempotency = Put::builder()
        .table_name(&tables.idempotency)
        .item("pk", s(&key))
        .item("processedAt", n(processed))
        .condition_expression("attribute_not_exists(pk)")
        .build()?;
    let published = iso_ms(&notification.timestamp).unwrap_or(received);
    let audit = Put::builder()
        .table_name(&tables.audit)
        .item("pk", s(&notification.correlation_id))
        .item("sk", s(&key))
        .item("subscriber", s(SUBSCRIBER))
        .item("messageId", s(&notification.message_id))
        .item("messageType", s(&notification.message_type))
        .item("publishedAt", n(published))
        .item("receivedAt", n(received))
        .item("processedAt", n(processed))
        .item("outcome", s(outcome["outcome"].as_str().unwrap_or("")))
        .build()?;
    let written = tables
        .client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(idempotency).build())
        .transact_items(TransactWriteItem::builder().put(audit).build())
        .send()
        .await;
    match written {
        Ok(_) => {
            log("info", SUBSCRIBER, "processed", notification, outcome);
            Ok(())
        }
        Err(error) if is_duplicate(&error) => {
            tables
                .client
                .update_item()
                .table_name(&tables.idempotency)
                .key("pk", s(format!("stats#{SUBSCRIBER}")))
                .update_expression("ADD duplicates :one")
                .expression_attribute_values(":one", n(1))
                .send()
                .await?;
            log("info", SUBSCRIBER, "duplicate", notification, json!({}));
            Ok(())
        }
        Err(error) => {
            let detail = format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&error));
            log(
                "error",
                SUBSCRIBER,
                "failed",
                notification,
                json!({"error": detail}),
            );
            Err(error.into())
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let tables = Tables {
        client: client()?,
        idempotency: env("IDEMPOTENCY_TABLE")?,
        audit: env("AUDIT_TABLE")?,
    };
    let tables = &tables;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let received = now_ms();
        for notification in notifications(&event.payload) {
            record(tables, &notification, received).await?;
        }
        Ok::<Value, Error>(json!({"subscriber": SUBSCRIBER}))
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_items_and_reports_malformed_orders() {
        let message = r#"{"payload":{"items":[{"price":2.5,"quantity":2},{"price":1}]}}"#;
        assert_eq!(order_total(message), Ok(6.0));
        assert!(order_total(r#"{"payload":{}}"#).is_err());
        assert!(order_total(r#"{"payload":{"items":[{"quantity":1}]}}"#).is_err());
        assert!(order_total("nope").is_err());
    }
}
