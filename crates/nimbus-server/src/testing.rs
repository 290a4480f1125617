//! Test helpers shared by this crate's tests and the binary's: a stand-in SQS service and a
//! minimal HTTP/1.1 client (so tests need no HTTP client dependency).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nimbus_core::{BoxFuture, RequestContext, Service, ServiceError};
use nimbus_model::ServiceModel;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The model the test service is served as.
pub fn sqs_model() -> &'static ServiceModel {
    &nimbus_model::sqs::SERVICE
}

/// Answers `GetQueueUrl` with `{base_url}/{region}/{account}/{QueueName}` so tests can see
/// the derived request context. Queue names steer it: `panic` panics, `slow-<ms>` sleeps,
/// `missing` fails with `QueueDoesNotExist`.
#[derive(Default)]
pub struct TestService {
    resets: AtomicUsize,
}

impl TestService {
    pub fn resets(&self) -> usize {
        self.resets.load(Ordering::SeqCst)
    }
}

impl Service for TestService {
    fn name(&self) -> &'static str {
        "sqs"
    }

    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        operation: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        Box::pin(async move {
            match operation {
                "GetQueueUrl" => {
                    let name = input
                        .get("QueueName")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if name == "panic" {
                        panic!("test service asked to panic");
                    }
                    if name == "missing" {
                        return Err(ServiceError::new(
                            "QueueDoesNotExist",
                            400,
                            "The specified queue does not exist.",
                        ));
                    }
                    if let Some(ms) = name.strip_prefix("slow-").and_then(|ms| ms.parse().ok()) {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                    }
                    if name == "panic-after-waiting" {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        panic!("test service asked to panic after waiting");
                    }
                    Ok(json!({
                        "QueueUrl": format!("{}/{}/{}/{name}", ctx.base_url, ctx.region, ctx.account_id)
                    }))
                }
                "ListQueues" => Ok(json!({ "QueueUrls": [] })),
                other => Err(ServiceError::not_implemented(other)),
            }
        })
    }

    fn reset(&self) -> BoxFuture<'_, Result<(), ServiceError>> {
        self.resets.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }
}

/// A response as the test client read it.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the response.
/// `Host` and `Content-Length` are added unless given.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<TestResponse> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("host: {addr}\r\n"));
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("connection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    read_response(&mut stream).await
}

/// Reads a `Connection: close` response to the end.
pub async fn read_response(stream: &mut TcpStream) -> std::io::Result<TestResponse> {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse_response(&raw)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed response"))
}

fn parse_response(raw: &[u8]) -> Option<TestResponse> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(TestResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}
