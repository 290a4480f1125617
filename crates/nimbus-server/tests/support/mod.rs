//! Starting an in-process server on port 0 for a test.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use nimbus_core::Clock;
use nimbus_server::testing::{TestResponse, TestService, send, sqs_model};
use nimbus_server::{ServerBuilder, ServerConfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Running {
    pub addrs: Vec<SocketAddr>,
    pub stop: watch::Sender<bool>,
    pub task: JoinHandle<io::Result<()>>,
    pub service: Arc<TestService>,
}

impl Running {
    pub fn v4(&self) -> SocketAddr {
        self.addrs[0]
    }

    pub async fn call(&self, operation: &str, body: &str) -> TestResponse {
        self.call_with(operation, body, &[]).await
    }

    pub async fn call_with(
        &self,
        operation: &str,
        body: &str,
        extra: &[(&str, &str)],
    ) -> TestResponse {
        let target = format!("AmazonSQS.{operation}");
        let mut headers = vec![
            ("x-amz-target", target.as_str()),
            ("content-type", "application/x-amz-json-1.0"),
        ];
        headers.extend_from_slice(extra);
        send(self.v4(), "POST", "/", &headers, body.as_bytes())
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        send(self.v4(), "GET", path, &[], b"")
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, body: &str) -> TestResponse {
        send(
            self.v4(),
            "POST",
            path,
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
        .await
        .expect("request")
    }
}

pub fn config() -> ServerConfig {
    ServerConfig {
        port: 0,
        ..ServerConfig::default()
    }
}

pub async fn start(config: ServerConfig, clock: Clock) -> Running {
    let (stop, shutdown) = watch::channel(false);
    let service = Arc::new(TestService::default());
    let server = ServerBuilder::new(config, clock, shutdown)
        .service(service.clone(), sqs_model())
        .bind()
        .await
        .expect("bind");
    let addrs = server.local_addrs();
    let task = tokio::spawn(server.run());
    Running {
        addrs,
        stop,
        task,
        service,
    }
}
