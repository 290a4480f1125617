//! SQS semantics at the domain level, on an in-memory store and the test clock.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use nimbus_core::{Clock, ClockMode, RequestContext};
use nimbus_sqs::{NewMessage, ReceiveOptions, Sqs};
use nimbus_store::{Store, StoreConfig};

async fn setup() -> (Arc<Sqs>, Clock, RequestContext) {
    let store = Store::open(StoreConfig::in_memory()).await.unwrap();
    let clock = Clock::new(ClockMode::Test);
    let sqs = Sqs::open(store, clock.clone()).await.unwrap();
    (
        sqs,
        clock,
        RequestContext::internal("000000000000", "us-east-1", "http://localhost:4566"),
    )
}

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn body(text: &str) -> NewMessage {
    NewMessage {
        body: text.to_owned(),
        ..NewMessage::default()
    }
}

fn fifo(text: &str, group: &str) -> NewMessage {
    NewMessage {
        body: text.to_owned(),
        group_id: Some(group.to_owned()),
        ..NewMessage::default()
    }
}

fn receive(max: i64) -> ReceiveOptions {
    ReceiveOptions {
        max_messages: Some(max),
        system_attribute_names: vec!["All".into()],
        ..ReceiveOptions::default()
    }
}

#[tokio::test]
async fn visibility_timeout_follows_the_test_clock() {
    let (sqs, clock, ctx) = setup().await;
    let url = sqs
        .create_queue(
            &ctx,
            "jobs".into(),
            attrs(&[("VisibilityTimeout", "30")]),
            BTreeMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(url, "http://localhost:4566/000000000000/jobs");
    sqs.send_message(&ctx, &url, body("hello")).await.unwrap();
    let first = sqs.receive_message(&ctx, &url, receive(1)).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        sqs.receive_message(&ctx, &url, receive(1))
            .await
            .unwrap()
            .is_empty()
    );
    clock.advance(Duration::from_secs(31));
    let second = sqs.receive_message(&ctx, &url, receive(1)).await.unwrap();
    assert_eq!(second[0].attributes["ApproximateReceiveCount"], "2");
    assert_ne!(first[0].receipt_handle, second[0].receipt_handle);
    // The stale handle succeeds without deleting; the current one deletes.
    sqs.delete_message(&ctx, &url, &first[0].receipt_handle)
        .await
        .unwrap();
    clock.advance(Duration::from_secs(31));
    let third = sqs.receive_message(&ctx, &url, receive(1)).await.unwrap();
    assert_eq!(third.len(), 1);
    sqs.delete_message(&ctx, &url, &third[0].receipt_handle)
        .await
        .unwrap();
    clock.advance(Duration::from_secs(31));
    assert!(
        sqs.receive_message(&ctx, &url, receive(1))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn fifo_groups_block_while_in_flight_and_deduplicate() {
    let (sqs, clock, ctx) = setup().await;
    let url = sqs
        .create_queue(
            &ctx,
            "o.fifo".into(),
            attrs(&[("FifoQueue", "true"), ("ContentBasedDeduplication", "true")]),
            BTreeMap::new(),
        )
        .await
        .unwrap();
    let a1 = sqs.send_message(&ctx, &url, fifo("a1", "A")).await.unwrap();
    let dup = sqs.send_message(&ctx, &url, fifo("a1", "A")).await.unwrap();
    assert_eq!(
        a1.message_id, dup.message_id,
        "content-based duplicate within 5 minutes"
    );
    sqs.send_message(&ctx, &url, fifo("a2", "A")).await.unwrap();
    sqs.send_message(&ctx, &url, fifo("b1", "B")).await.unwrap();
    let got = sqs.receive_message(&ctx, &url, receive(1)).await.unwrap();
    assert_eq!(got[0].body, "a1");
    let next = sqs.receive_message(&ctx, &url, receive(10)).await.unwrap();
    assert_eq!(
        next.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["b1"],
        "group A is blocked"
    );
    sqs.delete_message(&ctx, &url, &got[0].receipt_handle)
        .await
        .unwrap();
    let after = sqs.receive_message(&ctx, &url, receive(10)).await.unwrap();
    assert_eq!(
        after.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["a2"]
    );
    clock.advance(Duration::from_secs(301));
    let again = sqs.send_message(&ctx, &url, fifo("a1", "A")).await.unwrap();
    assert_ne!(again.message_id, a1.message_id, "window passed");
    assert!(again.sequence_number.unwrap() > a1.sequence_number.unwrap());
}

#[tokio::test]
async fn over_received_messages_move_to_the_dead_letter_queue() {
    let (sqs, clock, ctx) = setup().await;
    let dlq = sqs
        .create_queue(&ctx, "dlq".into(), BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    let policy =
        r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"2"}"#;
    let src = sqs
        .create_queue(
            &ctx,
            "src".into(),
            attrs(&[("RedrivePolicy", policy), ("VisibilityTimeout", "1")]),
            BTreeMap::new(),
        )
        .await
        .unwrap();
    let sent = sqs.send_message(&ctx, &src, body("poison")).await.unwrap();
    for _ in 0..2 {
        assert_eq!(
            sqs.receive_message(&ctx, &src, receive(1))
                .await
                .unwrap()
                .len(),
            1
        );
        clock.advance(Duration::from_secs(2));
    }
    assert!(
        sqs.receive_message(&ctx, &src, receive(1))
            .await
            .unwrap()
            .is_empty()
    );
    let dead = sqs.receive_message(&ctx, &dlq, receive(1)).await.unwrap();
    assert_eq!(dead[0].message_id, sent.message_id);
    assert_eq!(
        dead[0].attributes["DeadLetterQueueSourceArn"],
        "arn:aws:sqs:us-east-1:000000000000:src"
    );
    let (sources, _) = sqs
        .list_dead_letter_source_queues(&ctx, &dlq, None, None)
        .unwrap();
    assert_eq!(sources, vec![src]);
}

#[tokio::test]
async fn long_poll_returns_as_soon_as_a_message_arrives() {
    let (sqs, _clock, ctx) = setup().await;
    let url = sqs
        .create_queue(&ctx, "wait".into(), BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    let waiting = tokio::spawn({
        let (sqs, ctx, url) = (sqs.clone(), ctx.clone(), url.clone());
        async move {
            let options = ReceiveOptions {
                wait_time_seconds: Some(20),
                ..receive(1)
            };
            sqs.receive_message(&ctx, &url, options).await.unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    sqs.send_message(&ctx, &url, body("wake")).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got[0].body, "wake");
}

#[tokio::test]
async fn purge_rule_queue_name_rules_and_deleted_recently() {
    let (sqs, clock, ctx) = setup().await;
    let url = sqs
        .create_queue(&ctx, "p".into(), BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    sqs.purge_queue(&ctx, &url).await.unwrap();
    assert_eq!(
        sqs.purge_queue(&ctx, &url).await.unwrap_err().code,
        "PurgeQueueInProgress"
    );
    clock.advance(Duration::from_secs(61));
    sqs.purge_queue(&ctx, &url).await.unwrap();
    let err = sqs
        .create_queue(
            &ctx,
            "p".into(),
            attrs(&[("DelaySeconds", "5")]),
            BTreeMap::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.wire_query_code(), "QueueAlreadyExists");
    sqs.delete_queue(&ctx, &url).await.unwrap();
    let err = sqs
        .create_queue(&ctx, "p".into(), BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap_err();
    assert_eq!(err.code, "QueueDeletedRecently");
    clock.advance(Duration::from_secs(61));
    sqs.create_queue(&ctx, "p".into(), BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn retention_and_delay_follow_the_clock() {
    let (sqs, clock, ctx) = setup().await;
    let url = sqs
        .create_queue(
            &ctx,
            "r".into(),
            attrs(&[("MessageRetentionPeriod", "60")]),
            BTreeMap::new(),
        )
        .await
        .unwrap();
    sqs.send_message(
        &ctx,
        &url,
        NewMessage {
            delay_seconds: Some(10),
            ..body("later")
        },
    )
    .await
    .unwrap();
    let counts = sqs
        .get_queue_attributes(&ctx, &url, &["All".into()])
        .unwrap();
    assert_eq!(counts["ApproximateNumberOfMessagesDelayed"], "1");
    assert!(
        sqs.receive_message(&ctx, &url, receive(1))
            .await
            .unwrap()
            .is_empty()
    );
    clock.advance(Duration::from_secs(11));
    assert_eq!(
        sqs.receive_message(&ctx, &url, receive(1))
            .await
            .unwrap()
            .len(),
        1
    );
    clock.advance(Duration::from_secs(60));
    sqs.sweep_expired().await.unwrap();
    let counts = sqs
        .get_queue_attributes(&ctx, &url, &["All".into()])
        .unwrap();
    assert_eq!(
        (
            counts["ApproximateNumberOfMessages"].as_str(),
            counts["ApproximateNumberOfMessagesNotVisible"].as_str()
        ),
        ("0", "0")
    );
}

#[tokio::test]
async fn move_task_redrives_to_the_source() {
    let (sqs, clock, ctx) = setup().await;
    let dlq = sqs
        .create_queue(&ctx, "d".into(), BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    let policy =
        r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:d","maxReceiveCount":1}"#;
    let src = sqs
        .create_queue(
            &ctx,
            "s".into(),
            attrs(&[("RedrivePolicy", policy), ("VisibilityTimeout", "1")]),
            BTreeMap::new(),
        )
        .await
        .unwrap();
    for i in 0..3 {
        sqs.send_message(&ctx, &src, body(&format!("m{i}")))
            .await
            .unwrap();
    }
    sqs.receive_message(&ctx, &src, receive(10)).await.unwrap();
    clock.advance(Duration::from_secs(2));
    assert!(
        sqs.receive_message(&ctx, &src, receive(10))
            .await
            .unwrap()
            .is_empty()
    );
    let handle = sqs
        .start_message_move_task(
            &ctx,
            "arn:aws:sqs:us-east-1:000000000000:d".into(),
            None,
            None,
        )
        .await
        .unwrap();
    assert!(!handle.is_empty());
    for _ in 0..50 {
        let tasks = sqs
            .list_message_move_tasks("arn:aws:sqs:us-east-1:000000000000:d", None)
            .unwrap();
        if tasks[0].status == "COMPLETED" {
            assert_eq!(tasks[0].moved, 3);
            let back = sqs.receive_message(&ctx, &src, receive(10)).await.unwrap();
            assert_eq!(back.len(), 3);
            let _ = dlq;
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("move task did not complete");
}
