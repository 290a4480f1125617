//! The AWS request path and the /_nimbus API, in process.

mod support;

use std::time::Duration;

use nimbus_core::{Clock, ClockMode};
use nimbus_server::testing::send;
use support::{config, start};

#[tokio::test]
async fn an_operation_sees_the_context_derived_from_the_request() {
    let server = start(config(), Clock::real()).await;
    let response = server.call("GetQueueUrl", r#"{"QueueName":"jobs"}"#).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let url = format!("http://{}/us-east-1/000000000000/jobs", server.v4());
    assert_eq!(response.json()["QueueUrl"], url.as_str());
    assert!(
        response
            .header("x-amzn-requestid")
            .is_some_and(|id| id.len() == 36)
    );
}

#[tokio::test]
async fn region_and_account_come_from_the_credential_scope() {
    let server = start(config(), Clock::real()).await;
    let auth = "AWS4-HMAC-SHA256 Credential=000000000042/20240101/eu-west-1/sqs/aws4_request, SignedHeaders=host, Signature=00";
    let response = server
        .call_with(
            "GetQueueUrl",
            r#"{"QueueName":"q"}"#,
            &[("authorization", auth)],
        )
        .await;
    let url = format!("http://{}/eu-west-1/000000000042/q", server.v4());
    assert_eq!(response.json()["QueueUrl"], url.as_str());
}

#[tokio::test]
async fn hostname_override_replaces_the_host_header_in_urls() {
    let server = start(
        nimbus_server::ServerConfig {
            hostname: Some("nimbus.internal".into()),
            ..config()
        },
        Clock::real(),
    )
    .await;
    let response = server.call("GetQueueUrl", r#"{"QueueName":"q"}"#).await;
    let url = format!(
        "http://nimbus.internal:{}/us-east-1/000000000000/q",
        server.v4().port()
    );
    assert_eq!(response.json()["QueueUrl"], url.as_str());
}

#[tokio::test]
async fn service_errors_and_panics_become_aws_errors_and_the_server_lives_on() {
    let server = start(config(), Clock::real()).await;
    let missing = server
        .call("GetQueueUrl", r#"{"QueueName":"missing"}"#)
        .await;
    assert_eq!(missing.status, 400);
    assert!(missing.text().contains("QueueDoesNotExist"));

    // A panic before the operation first waits, and one after.
    for name in ["panic", "panic-after-waiting"] {
        let body = format!(r#"{{"QueueName":"{name}"}}"#);
        let panicked = server.call("GetQueueUrl", &body).await;
        assert_eq!(panicked.status, 500);
        assert!(
            panicked.text().contains("InternalFailure"),
            "{}",
            panicked.text()
        );
    }

    assert_eq!(server.call("ListQueues", "{}").await.status, 200);
}

#[tokio::test]
async fn unmatched_requests_get_a_json_404() {
    let server = start(config(), Clock::real()).await;
    let response = server.get("/no/such/thing").await;
    assert_eq!(response.status, 404);
    assert!(response.json().is_object(), "{}", response.text());
    assert_eq!(server.get("/_nimbus/nope").await.status, 404);
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let server = start(
        nimbus_server::ServerConfig {
            max_body_bytes: 1024,
            ..config()
        },
        Clock::real(),
    )
    .await;
    let big = format!(r#"{{"QueueName":"{}"}}"#, "x".repeat(2048));
    assert_eq!(server.call("GetQueueUrl", &big).await.status, 413);
    assert_eq!(
        server
            .call("GetQueueUrl", r#"{"QueueName":"ok"}"#)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn health_and_ping_answer() {
    let server = start(config(), Clock::real()).await;
    let health = server.get("/_nimbus/health").await.json();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["services"], serde_json::json!(["sqs"]));
    assert!(health["version"].is_string() && health["uptime_seconds"].is_u64());
    assert_eq!(server.get("/_nimbus/ping").await.text(), "pong");
}

#[tokio::test]
async fn metrics_count_each_operation() {
    let server = start(config(), Clock::real()).await;
    server.call("ListQueues", "{}").await;
    server
        .call("GetQueueUrl", r#"{"QueueName":"missing"}"#)
        .await;
    let text = server.get("/_nimbus/metrics").await.text();
    assert!(
        text.contains(r#"nimbus_requests_total{service="sqs",operation="ListQueues"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"nimbus_request_errors_total{service="sqs",operation="GetQueueUrl",code="QueueDoesNotExist"} 1"#));
    assert!(text.contains("nimbus_request_duration_seconds_bucket"));
    assert!(text.contains("nimbus_store_commit_duration_seconds"));
}

#[tokio::test]
async fn reset_calls_the_services() {
    let server = start(config(), Clock::real()).await;
    let all = server.post("/_nimbus/reset", "").await;
    assert_eq!(all.json(), serde_json::json!({ "reset": ["sqs"] }));
    let one = server.post("/_nimbus/reset?service=sqs", "").await;
    assert_eq!(one.json(), serde_json::json!({ "reset": ["sqs"] }));
    assert_eq!(server.service.resets(), 2);
    let unknown = server.post("/_nimbus/reset?service=dynamodb", "").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(server.service.resets(), 2);
}

#[tokio::test]
async fn the_test_clock_moves_on_request() {
    let clock = Clock::new(ClockMode::Test);
    let server = start(config(), clock.clone()).await;
    let t0 = clock.now_ms();
    let now = server.get("/_nimbus/clock").await.json();
    assert_eq!(now, serde_json::json!({ "mode": "test", "now_ms": t0 }));

    let advanced = server
        .post("/_nimbus/clock", r#"{"advance_seconds": 90.5}"#)
        .await
        .json();
    assert_eq!(advanced["now_ms"], t0 + 90_500);
    let set = server
        .post(
            "/_nimbus/clock",
            &format!(r#"{{"now_ms": {}}}"#, t0 + 1_000_000),
        )
        .await;
    assert_eq!(set.json()["now_ms"], t0 + 1_000_000);
    assert_eq!(clock.now_ms(), t0 + 1_000_000);

    assert_eq!(
        server
            .post("/_nimbus/clock", r#"{"advance_seconds": -1}"#)
            .await
            .status,
        400
    );
    assert_eq!(server.post("/_nimbus/clock", "not json").await.status, 400);
}

#[tokio::test]
async fn the_real_clock_cannot_be_moved() {
    let server = start(config(), Clock::real()).await;
    assert_eq!(server.get("/_nimbus/clock").await.json()["mode"], "real");
    let refused = server
        .post("/_nimbus/clock", r#"{"advance_seconds": 1}"#)
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap_or_default()
            .contains("--clock test")
    );
}

#[tokio::test]
async fn localhost_listens_on_both_loopback_addresses() {
    let server = start(config(), Clock::real()).await;
    assert!(server.addrs[0].is_ipv4());
    match server.addrs.get(1) {
        Some(v6) => {
            assert!(v6.is_ipv6());
            assert_eq!(v6.port(), server.v4().port());
            let health = send(*v6, "GET", "/_nimbus/health", &[], b"").await.unwrap();
            assert_eq!(health.status, 200);
        }
        None => eprintln!("no IPv6 loopback on this machine; dual-stack check skipped"),
    }
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_and_stops_accepting() {
    let server = start(config(), Clock::real()).await;
    let addr = server.v4();
    let slow = tokio::spawn(async move {
        send(
            addr,
            "POST",
            "/",
            &[("x-amz-target", "AmazonSQS.GetQueueUrl")],
            br#"{"QueueName":"slow-600"}"#,
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    server.stop.send(true).unwrap();
    let response = slow.await.unwrap().unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    tokio::time::timeout(Duration::from_secs(5), server.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
