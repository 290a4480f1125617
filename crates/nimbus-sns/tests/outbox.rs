//! The outbox and the delivery worker in process, with a recording queue and the test clock.

use std::sync::Arc;
use std::time::Duration;

use nimbus_core::effects::{
    FunctionInvoker, InvocationResult, InvocationType, QueueMessage, QueueSender,
};
use nimbus_core::{BoxFuture, Clock, ClockMode, RequestContext, ServiceError};
use nimbus_sns::{Endpoints, PublishRequest, Sns};
use nimbus_store::{Store, StoreConfig};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use tokio::sync::watch;

/// Records what it is sent; fails with a server error while `failing` is set.
#[derive(Default)]
struct RecordingQueue {
    sent: Mutex<Vec<(String, QueueMessage)>>,
    attempts: Mutex<usize>,
    failing: Mutex<bool>,
}

impl QueueSender for RecordingQueue {
    fn send_to_queue<'a>(
        &'a self,
        queue_arn: &'a str,
        message: QueueMessage,
    ) -> BoxFuture<'a, Result<String, ServiceError>> {
        Box::pin(async move {
            *self.attempts.lock() += 1;
            if *self.failing.lock() && !queue_arn.ends_with(":dlq") {
                return Err(ServiceError::new("InternalError", 500, "down"));
            }
            self.sent.lock().push((queue_arn.to_owned(), message));
            Ok("id".to_owned())
        })
    }
}

/// Records asynchronous invocations.
#[derive(Default)]
struct RecordingInvoker {
    calls: Mutex<Vec<(String, serde_json::Value, InvocationType)>>,
}

impl FunctionInvoker for RecordingInvoker {
    fn invoke<'a>(
        &'a self,
        _ctx: &'a RequestContext,
        function: &'a str,
        payload: Vec<u8>,
        invocation_type: InvocationType,
    ) -> BoxFuture<'a, Result<InvocationResult, ServiceError>> {
        Box::pin(async move {
            let event = serde_json::from_slice(&payload).unwrap_or_default();
            self.calls
                .lock()
                .push((function.to_owned(), event, invocation_type));
            Ok(InvocationResult {
                payload: Vec::new(),
                function_error: None,
                executed_version: "$LATEST".into(),
            })
        })
    }
}

struct Fixture {
    sns: Arc<Sns>,
    queue: Arc<RecordingQueue>,
    invoker: Arc<RecordingInvoker>,
    clock: Clock,
    ctx: RequestContext,
    _stop: watch::Sender<bool>,
}

async fn fixture() -> Fixture {
    let store = Store::open(StoreConfig::in_memory()).await.unwrap();
    let clock = Clock::new(ClockMode::Test);
    let queue = Arc::new(RecordingQueue::default());
    let invoker = Arc::new(RecordingInvoker::default());
    let endpoints = Endpoints {
        queues: Some(queue.clone()),
        functions: Some(invoker.clone()),
    };
    let sns = Sns::open(store, clock.clone(), endpoints).await.unwrap();
    let (stop, shutdown) = watch::channel(false);
    sns.spawn_workers(shutdown);
    let ctx = RequestContext::internal("000000000000", "us-east-1", "http://localhost:4566");
    Fixture {
        sns,
        queue,
        invoker,
        clock,
        ctx,
        _stop: stop,
    }
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn message(text: &str) -> PublishRequest {
    PublishRequest {
        message: text.to_owned(),
        ..PublishRequest::default()
    }
}

async fn subscribe(f: &Fixture, topic: &str, queue: &str, attributes: &[(&str, &str)]) -> String {
    let attributes: BTreeMap<String, String> = attributes
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let endpoint = format!("arn:aws:sqs:us-east-1:000000000000:{queue}");
    f.sns
        .subscribe(
            &f.ctx,
            topic.to_owned(),
            "sqs".into(),
            Some(endpoint),
            attributes,
            false,
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_fan_out_and_counters() {
    let f = fixture().await;
    let topic = f
        .sns
        .create_topic(&f.ctx, "t".into(), BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    subscribe(&f, &topic, "all", &[("RawMessageDelivery", "true")]).await;
    subscribe(&f, &topic, "some", &[("FilterPolicy", r#"{"k":["v"]}"#)]).await;
    f.sns
        .publish(&f.ctx, &topic, message("hello"))
        .await
        .unwrap();
    eventually("one delivery", || f.queue.sent.lock().len() == 1).await;
    let counters = f.sns.topic_counters(&topic).unwrap();
    eventually("delivered counter", || {
        f.sns.topic_counters(&topic).unwrap().delivered == 1
    })
    .await;
    assert_eq!((counters.published, counters.filtered_out), (1, 1));
    let (arn, sent) = f.queue.sent.lock()[0].clone();
    assert!(arn.ends_with(":all"));
    assert_eq!(sent.body, "hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_endpoints_retry_on_the_documented_schedule() {
    let f = fixture().await;
    *f.queue.failing.lock() = true;
    let topic = f
        .sns
        .create_topic(&f.ctx, "t".into(), BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    let sub = subscribe(&f, &topic, "q", &[]).await;
    f.sns.publish(&f.ctx, &topic, message("x")).await.unwrap();
    // The first attempt and three immediate retries need no clock movement.
    eventually("four attempts", || *f.queue.attempts.lock() == 4).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(*f.queue.attempts.lock(), 4);
    f.clock.advance(Duration::from_secs(1));
    eventually("fifth attempt", || *f.queue.attempts.lock() == 5).await;
    // Unsubscribing drops the pending delivery.
    f.sns.unsubscribe(sub).await.unwrap();
    f.clock.advance(Duration::from_secs(60));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(*f.queue.attempts.lock(), 5);
    assert!(f.queue.sent.lock().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_topic_stops_its_deliveries() {
    let f = fixture().await;
    *f.queue.failing.lock() = true;
    let topic = f
        .sns
        .create_topic(&f.ctx, "t".into(), BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    subscribe(&f, &topic, "q", &[]).await;
    f.sns.publish(&f.ctx, &topic, message("x")).await.unwrap();
    eventually("immediate retries", || *f.queue.attempts.lock() == 4).await;
    f.sns.delete_topic(topic).await.unwrap();
    *f.queue.failing.lock() = false;
    f.clock.advance(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(*f.queue.attempts.lock(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_get_the_sns_event_record_asynchronously() {
    let f = fixture().await;
    let topic = f
        .sns
        .create_topic(&f.ctx, "t".into(), BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    let function = "arn:aws:lambda:us-east-1:000000000000:function:f";
    let sub = f
        .sns
        .subscribe(
            &f.ctx,
            topic.clone(),
            "lambda".into(),
            Some(function.into()),
            BTreeMap::new(),
            false,
        )
        .await
        .unwrap();
    let mut request = message("for the function");
    request.subject = Some("S".into());
    f.sns.publish(&f.ctx, &topic, request).await.unwrap();
    eventually("one invocation", || f.invoker.calls.lock().len() == 1).await;
    let (name, event, kind) = f.invoker.calls.lock()[0].clone();
    assert_eq!((name.as_str(), kind), (function, InvocationType::Event));
    let record = &event["Records"][0];
    assert_eq!(record["EventSource"], "aws:sns");
    assert_eq!(record["EventVersion"], "1.0");
    assert_eq!(record["EventSubscriptionArn"], sub.as_str());
    let sns = &record["Sns"];
    assert_eq!(sns["Type"], "Notification");
    assert_eq!(sns["TopicArn"], topic.as_str());
    assert_eq!(sns["Subject"], "S");
    assert_eq!(sns["Message"], "for the function");
    assert_eq!(sns["SignatureVersion"], "1");
    assert!(
        sns["SigningCertUrl"]
            .as_str()
            .unwrap()
            .starts_with("http://localhost:4566/_nimbus/sns/")
    );
    assert!(
        sns["UnsubscribeUrl"]
            .as_str()
            .unwrap()
            .contains("Action=Unsubscribe")
    );
    assert!(sns["MessageAttributes"].as_object().unwrap().is_empty());
}
