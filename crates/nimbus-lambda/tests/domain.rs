//! Lambda's domain over an in-memory store: schema, create, read, invoke, reset.

use std::collections::BTreeMap;
use std::time::Duration;

use nimbus_core::{Clock, RequestContext};
use nimbus_lambda::{
    AliasChange, FunctionRecord, InvokeMode, InvokeRequest, Lambda, LambdaConfig, PublishRequest,
};
use nimbus_store::{Store, StoreConfig};

fn config(name: &str) -> LambdaConfig {
    let dir = std::env::temp_dir().join(format!("nimbus-lambda-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    LambdaConfig {
        work_dir: dir,
        account_concurrency: 10,
        idle_timeout: Duration::from_secs(60),
        async_retry_scale: 1.0,
        sdk_dir: None,
    }
}

fn record(name: &str) -> FunctionRecord {
    FunctionRecord {
        name: name.into(),
        runtime: "python3.11".into(),
        handler: Some("app.handler".into()),
        role: "arn:aws:iam::000000000000:role/r".into(),
        description: String::new(),
        timeout_secs: 3,
        memory_mb: 128,
        environment: BTreeMap::new(),
        architectures: vec!["x86_64".into()],
        layers: Vec::new(),
        code_sha256: String::new(),
        code_size: 0,
        last_modified: String::new(),
        revision_id: String::new(),
        tracing_mode: "PassThrough".into(),
        ephemeral_storage_mb: 512,
        log_format: "Text".into(),
        log_group: None,
        application_log_level: None,
        system_log_level: None,
        dead_letter_target: None,
        kms_key_arn: None,
        reserved_concurrency: None,
        policy: Vec::new(),
        url: None,
    }
}

fn zip_with(name: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut out);
    writer
        .start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    writer.write_all(data).unwrap();
    writer.finish().unwrap();
    out.into_inner()
}

#[tokio::test]
async fn create_read_invoke_and_reset() {
    let store = Store::open(StoreConfig::in_memory()).await.unwrap();
    let lambda = Lambda::open(store, Clock::real(), config("crud"), None)
        .await
        .unwrap();
    let ctx = RequestContext::internal("000000000000", "us-east-1", "http://localhost:1");
    let zip = zip_with("app.py", b"def handler(e, c):\n    return {'got': e}\n");
    let created = lambda
        .create_function(&ctx, record("f"), zip, BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(created.code_sha256.len(), 44);
    assert_eq!(lambda.get_function(&ctx, "f").unwrap().record.name, "f");
    let output = lambda
        .invoke(
            &ctx,
            InvokeRequest {
                function: "f".into(),
                qualifier: None,
                payload: "{\"a\":1}".into(),
                mode: InvokeMode::RequestResponse,
                want_log: false,
                client_context: None,
                request_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(output.function_error, None, "{:?}", output.payload);
    assert_eq!(&output.payload[..], b"{\"got\": {\"a\": 1}}");
    lambda.reset().await.unwrap();
    assert!(lambda.get_function(&ctx, "f").is_err());
}

fn sync_invoke(function: &str) -> InvokeRequest {
    InvokeRequest {
        function: function.into(),
        qualifier: None,
        payload: "{}".into(),
        mode: InvokeMode::RequestResponse,
        want_log: false,
        client_context: None,
        request_id: None,
    }
}

#[tokio::test]
async fn versions_keep_their_code_and_aliases_route_between_them() {
    let store = Store::open(StoreConfig::in_memory()).await.unwrap();
    let lambda = Lambda::open(store, Clock::real(), config("versions"), None)
        .await
        .unwrap();
    let ctx = RequestContext::internal("000000000000", "us-east-1", "http://localhost:1");
    let code = |tag: &str| {
        zip_with(
            "app.py",
            format!("def handler(e, c):\n    return '{tag}'\n").as_bytes(),
        )
    };
    lambda
        .create_function(&ctx, record("v"), code("one"), BTreeMap::new())
        .await
        .unwrap();
    let first = lambda
        .publish_version(&ctx, "v", PublishRequest::default())
        .await
        .unwrap();
    assert_eq!(first.number, 1);
    lambda
        .update_function(&ctx, "v", None, Some(code("two")), |_| Ok(()))
        .await
        .unwrap();
    let second = lambda
        .publish_version(&ctx, "v", PublishRequest::default())
        .await
        .unwrap();
    assert_eq!(second.number, 2);
    assert_ne!(first.record.code_sha256, second.record.code_sha256);

    let old = lambda.invoke(&ctx, sync_invoke("v:1")).await.unwrap();
    assert_eq!(
        (&old.payload[..], old.executed_version.as_deref()),
        (&b"\"one\""[..], Some("1"))
    );
    let new = lambda.invoke(&ctx, sync_invoke("v")).await.unwrap();
    assert_eq!(
        (&new.payload[..], new.executed_version.as_deref()),
        (&b"\"two\""[..], Some("$LATEST"))
    );

    let everything_to_two = AliasChange {
        function_version: Some("1".into()),
        routing: Some([("2".to_owned(), 1.0)].into_iter().collect()),
        ..AliasChange::default()
    };
    lambda
        .create_alias(&ctx, "v", "live", everything_to_two)
        .await
        .unwrap();
    let routed = lambda.invoke(&ctx, sync_invoke("v:live")).await.unwrap();
    assert_eq!(routed.executed_version.as_deref(), Some("2"));
    let none_to_two = AliasChange {
        routing: Some([("2".to_owned(), 0.0)].into_iter().collect()),
        ..AliasChange::default()
    };
    lambda
        .update_alias(&ctx, "v", "live", none_to_two)
        .await
        .unwrap();
    let routed = lambda.invoke(&ctx, sync_invoke("v:live")).await.unwrap();
    assert_eq!(routed.executed_version.as_deref(), Some("1"));
    assert!(lambda.delete_version(&ctx, "v", 2).await.is_err());
    lambda.delete_alias(&ctx, "v", "live").await.unwrap();
    lambda.delete_version(&ctx, "v", 2).await.unwrap();
    assert!(lambda.invoke(&ctx, sync_invoke("v:2")).await.is_err());
    lambda.reset().await.unwrap();
}
