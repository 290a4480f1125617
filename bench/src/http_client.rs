//! One keep-alive HTTP/1.1 connection per load worker, and the SQS awsJson 1.0 request shape.

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Unsigned requests still carry a SigV4 header: the server takes region and service from its
/// credential scope and does not verify the signature by default.
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00";
const AWS_JSON_1_0: &str = "application/x-amz-json-1.0";
const SNS_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=00";
const DYNAMODB_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00";
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// Where the server listens, from its `listening on http://…` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port` as used for the TCP connection and the Host header.
    pub authority: String,
}

impl Endpoint {
    pub fn from_url(url: &str) -> Result<Self> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("only http:// endpoints are supported, got {url}"))?;
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() || !authority.contains(':') {
            bail!("endpoint {url} has no host:port");
        }
        Ok(Self {
            authority: authority.to_string(),
        })
    }
}

/// A finished exchange.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body when the status is 2xx, otherwise an error naming `what`.
    pub fn into_success(self, what: &str) -> Result<Bytes> {
        if self.is_success() {
            Ok(self.body)
        } else {
            bail!(
                "{what} answered {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        }
    }
}

pub struct Connection {
    authority: String,
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    pub async fn open(endpoint: &Endpoint) -> Result<Self> {
        let stream = TcpStream::connect(&endpoint.authority)
            .await
            .with_context(|| format!("connecting to {}", endpoint.authority))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the connection closes; errors surface on the next request.
            let _ = connection.await;
        });
        Ok(Self {
            authority: endpoint.authority.clone(),
            sender,
        })
    }

    pub async fn get(&mut self, path: &str) -> Result<Reply> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::HOST, &self.authority)
            .body(Full::new(Bytes::new()))?;
        self.exchange(request).await
    }

    /// `POST /` with `X-Amz-Target: AmazonSQS.<operation>` and a JSON body.
    pub async fn sqs(&mut self, operation: &str, body: Bytes) -> Result<Reply> {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/")
            .header(header::HOST, &self.authority)
            .header(header::CONTENT_TYPE, AWS_JSON_1_0)
            .header("x-amz-target", format!("AmazonSQS.{operation}"))
            .header(header::AUTHORIZATION, AUTHORIZATION)
            .body(Full::new(body))?;
        self.exchange(request).await
    }

    /// `POST /` with `X-Amz-Target: DynamoDB_20120810.<operation>` and a JSON body.
    pub async fn dynamodb(&mut self, operation: &str, body: Bytes) -> Result<Reply> {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/")
            .header(header::HOST, &self.authority)
            .header(header::CONTENT_TYPE, AWS_JSON_1_0)
            .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
            .header(header::AUTHORIZATION, DYNAMODB_AUTHORIZATION)
            .body(Full::new(body))?;
        self.exchange(request).await
    }

    /// `POST /` with an SNS query-protocol form body (`Action=Publish&…`).
    pub async fn sns(&mut self, body: Bytes) -> Result<Reply> {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/")
            .header(header::HOST, &self.authority)
            .header(header::CONTENT_TYPE, FORM)
            .header(header::AUTHORIZATION, SNS_AUTHORIZATION)
            .body(Full::new(body))?;
        self.exchange(request).await
    }

    /// `POST path` with a JSON body and an unverified SigV4 header for `service`, as a
    /// restJson SDK call looks.
    pub async fn post_json(&mut self, path: &str, service: &str, body: Bytes) -> Result<Reply> {
        self.post_json_with(path, service, &[], body).await
    }

    /// `post_json` with extra headers (e.g. `X-Amz-Invocation-Type: Event`).
    pub async fn post_json_with(
        &mut self,
        path: &str,
        service: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Reply> {
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
        );
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, &self.authority)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, authorization);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.exchange(request.body(Full::new(body))?).await
    }

    async fn exchange(&mut self, request: Request<Full<Bytes>>) -> Result<Reply> {
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Reply { status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_from_listening_urls() {
        let v4 = Endpoint::from_url("http://127.0.0.1:4566").unwrap();
        assert_eq!(v4.authority, "127.0.0.1:4566");
        let v6 = Endpoint::from_url("http://[::1]:4566/").unwrap();
        assert_eq!(v6.authority, "[::1]:4566");
        assert!(Endpoint::from_url("https://127.0.0.1:1").is_err());
        assert!(Endpoint::from_url("http://localhost").is_err());
    }

    #[test]
    fn only_2xx_is_success() {
        let ok = Reply {
            status: 200,
            body: Bytes::from_static(b"{}"),
        };
        assert_eq!(ok.into_success("x").unwrap(), Bytes::from_static(b"{}"));
        let failed = Reply {
            status: 400,
            body: Bytes::from_static(b"nope"),
        };
        let message = failed.into_success("CreateQueue").unwrap_err().to_string();
        assert!(
            message.contains("CreateQueue answered 400: nope"),
            "{message}"
        );
    }
}
