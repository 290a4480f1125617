//! SigV4 in strict mode, over real HTTP requests signed by the crate's own signer.

mod support;

use chrono::{TimeDelta, Utc};
use http::{HeaderMap, HeaderValue};
use nimbus_core::Clock;
use nimbus_server::ServerConfig;
use nimbus_server::auth::{AuthMode, Authenticator, Keyring, SecretKey, Signer};
use nimbus_server::testing::{TestResponse, send};
use support::{Running, config, start};

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const BODY: &str = r#"{"QueueName":"jobs"}"#;

async fn strict_server() -> Running {
    let mut keys = Keyring::new();
    keys.insert(AKID, SecretKey::new(SECRET));
    start(
        ServerConfig {
            auth: Authenticator::new(AuthMode::Strict, keys),
            ..config()
        },
        Clock::real(),
    )
    .await
}

fn signer(akid: &str, secret: &str) -> Signer {
    Signer {
        access_key_id: akid.into(),
        secret: SecretKey::new(secret),
        region: "us-west-2".into(),
        service: "sqs".into(),
    }
}

async fn signed_call(server: &Running, signer: &Signer, skew: TimeDelta) -> TestResponse {
    let host = server.v4().to_string();
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_str(&host).unwrap());
    headers.insert(
        "x-amz-target",
        HeaderValue::from_static("AmazonSQS.GetQueueUrl"),
    );
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    signer.sign_headers(
        "POST",
        "/",
        None,
        &mut headers,
        BODY.as_bytes(),
        Utc::now() + skew,
    );
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
        .collect();
    send(server.v4(), "POST", "/", &pairs, BODY.as_bytes())
        .await
        .unwrap()
}

/// The error code as botocore reads it: `__type` without its namespace.
fn code(response: &TestResponse) -> String {
    let full = response.json()["__type"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    full.rsplit('#').next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_correct_signature_is_accepted_and_scopes_the_request() {
    let server = strict_server().await;
    let response = signed_call(&server, &signer(AKID, SECRET), TimeDelta::zero()).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let url = response.json()["QueueUrl"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(url.ends_with("/us-west-2/000000000000/jobs"), "{url}");
}

#[tokio::test]
async fn a_wrong_secret_or_unknown_key_is_refused() {
    let server = strict_server().await;
    let wrong = signed_call(&server, &signer(AKID, "wrong"), TimeDelta::zero()).await;
    assert_eq!(
        (wrong.status, code(&wrong).as_str()),
        (403, "SignatureDoesNotMatch")
    );

    let unknown = signed_call(&server, &signer("AKIDNOBODY", SECRET), TimeDelta::zero()).await;
    assert_eq!(
        (unknown.status, code(&unknown).as_str()),
        (403, "InvalidClientTokenId")
    );
    assert!(
        unknown
            .text()
            .contains("The security token included in the request is invalid.")
    );
}

#[tokio::test]
async fn a_skewed_clock_is_refused() {
    let server = strict_server().await;
    let late = signed_call(&server, &signer(AKID, SECRET), TimeDelta::minutes(-20)).await;
    assert_eq!(late.status, 403);
    assert!(late.text().contains("Signature expired"), "{}", late.text());
    let early = signed_call(&server, &signer(AKID, SECRET), TimeDelta::minutes(20)).await;
    assert!(
        early.text().contains("Signature not yet current"),
        "{}",
        early.text()
    );
}

#[tokio::test]
async fn unsigned_requests_are_refused_and_presigned_ones_accepted() {
    let server = strict_server().await;
    let unsigned = server.call("GetQueueUrl", BODY).await;
    assert_eq!(
        (unsigned.status, code(&unsigned).as_str()),
        (403, "MissingAuthenticationToken")
    );

    let host = server.v4().to_string();
    let query = signer(AKID, SECRET).presign("POST", "/", "", &host, 300, Utc::now());
    let target = format!("/?{query}");
    let headers = [
        ("host", host.as_str()),
        ("x-amz-target", "AmazonSQS.ListQueues"),
    ];
    let presigned = send(server.v4(), "POST", &target, &headers, b"")
        .await
        .unwrap();
    assert_eq!(presigned.status, 200, "{}", presigned.text());
}

#[tokio::test]
async fn admin_endpoints_need_no_signature() {
    let server = strict_server().await;
    assert_eq!(server.get("/_nimbus/health").await.status, 200);
}
