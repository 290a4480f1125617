//! The executor against the host's interpreters: warm reuse, errors, timeouts, crashes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nimbus_runtime::{
    Executor, ExecutorConfig, Invocation, LaunchSpec, LogSink, NoLogs, Outcome, RuntimeFamily,
    resolve_launcher,
};

fn work_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nimbus-runtime-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("task")).unwrap();
    dir
}

fn spec(executor: &Executor, dir: &Path, runtime: &str, handler: &str, timeout: u64) -> LaunchSpec {
    let task = dir.join("task");
    let family = RuntimeFamily::of(runtime).unwrap();
    let client = executor.client_path(family);
    let launcher = resolve_launcher(runtime, &task, client.as_deref()).unwrap();
    LaunchSpec {
        program: launcher.program,
        args: launcher.args,
        env: vec![
            ("_HANDLER".into(), handler.into()),
            ("LAMBDA_TASK_ROOT".into(), task.display().to_string()),
            ("PYTHONUNBUFFERED".into(), "1".into()),
        ],
        task_root: task,
        scratch_root: executor.scratch_root(),
        version: "$LATEST".into(),
        memory_mb: 128,
        timeout: Duration::from_secs(timeout),
        start_warning: launcher.warning,
        log_format: nimbus_runtime::LogFormat::Text,
    }
}

fn invocation(payload: &str) -> Invocation {
    Invocation {
        request_id: uuid::Uuid::new_v4().to_string(),
        payload: payload.to_owned().into_bytes().into(),
        function_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
        client_context: None,
        trace_id: "Root=1-00000000-000000000000000000000000".into(),
        deadline_ms: chrono_now_ms() + 3000,
        wait_for_output: true,
    }
}

fn chrono_now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn executor(dir: &Path) -> Arc<Executor> {
    Executor::new(ExecutorConfig {
        account_concurrency: 10,
        idle_timeout: Duration::from_secs(60),
        work_dir: dir.join("work"),
    })
    .unwrap()
}

async fn run(
    executor: &Executor,
    spec: &LaunchSpec,
    payload: &str,
) -> nimbus_runtime::InvokeResult {
    let sink: Arc<dyn LogSink> = Arc::new(NoLogs);
    executor
        .invoke("f", spec, None, invocation(payload), &sink)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn python_echo_is_reused_warm() {
    let dir = work_dir("py");
    std::fs::write(
        dir.join("task/app.py"),
        "import os\nSTARTS = os.getpid()\ndef handler(event, context):\n    print('hello')\n    return {'event': event, 'pid': STARTS, 'fn': context.invoked_function_arn}\n",
    )
    .unwrap();
    let executor = executor(&dir);
    let spec = spec(&executor, &dir, "python3.11", "app.handler", 3);
    let first = run(&executor, &spec, "{\"a\":1}").await;
    let Outcome::Success(body) = &first.outcome else {
        panic!("{:?} {}", first.outcome, first.log);
    };
    let first_body: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(first_body["event"]["a"], 1);
    assert!(first.log.contains("hello"), "{}", first.log);
    assert!(first.log.contains("Init Duration"), "{}", first.log);
    let second = run(&executor, &spec, "{}").await;
    let Outcome::Success(body) = &second.outcome else {
        panic!()
    };
    let second_body: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(first_body["pid"], second_body["pid"]);
    assert!(!second.log.contains("Init Duration"));
}

#[tokio::test]
async fn node_errors_and_timeouts() {
    let dir = work_dir("node");
    std::fs::write(
        dir.join("task/index.mjs"),
        "export const handler = async (event) => {\n  if (event.fail) throw new TypeError('boom');\n  if (event.sleep) await new Promise(r => setTimeout(r, 5000));\n  if (event.exit) process.exit(3);\n  return event;\n};\n",
    )
    .unwrap();
    let executor = executor(&dir);
    let spec = spec(&executor, &dir, "nodejs20.x", "index.handler", 1);
    let ok = run(&executor, &spec, "{\"x\":2}").await;
    assert_eq!(
        ok.outcome,
        Outcome::Success("{\"x\":2}".into()),
        "{}",
        ok.log
    );
    let failed = run(&executor, &spec, "{\"fail\":true}").await;
    let Outcome::FunctionError(body) = &failed.outcome else {
        panic!("{:?}", failed.outcome)
    };
    let error: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(error["errorType"], "TypeError");
    assert_eq!(error["errorMessage"], "boom");
    let slow = run(&executor, &spec, "{\"sleep\":true}").await;
    assert_eq!(slow.outcome, Outcome::Timeout(Duration::from_secs(1)));
    assert!(
        slow.log.contains("Task timed out after 1.00 seconds"),
        "{}",
        slow.log
    );
    let crashed = run(&executor, &spec, "{\"exit\":true}").await;
    assert_eq!(crashed.outcome, Outcome::Crashed("exit status 3".into()));
}

#[tokio::test]
async fn python_import_error_is_an_init_error() {
    let dir = work_dir("pyinit");
    std::fs::write(dir.join("task/app.py"), "import not_a_module\n").unwrap();
    let executor = executor(&dir);
    let spec = spec(&executor, &dir, "python3.11", "app.handler", 3);
    let result = run(&executor, &spec, "{}").await;
    let Outcome::InitError(body) = &result.outcome else {
        panic!("{:?}", result.outcome)
    };
    let error: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(error["errorType"], "Runtime.ImportModuleError");
}
