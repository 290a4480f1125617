//! The executor against the host's interpreters: warm reuse, errors, timeouts, crashes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nimbus_runtime::{
    Executor, ExecutorConfig, Invocation, LaunchSpec, Limits, LogSink, NoLogs, Outcome,
    ProvisionedState, RuntimeFamily, Throttled, resolve_launcher,
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

fn unlimited() -> Limits<'static> {
    Limits {
        function: "f/",
        reserved: None,
        scope: "a/",
        unreserved: usize::MAX,
    }
}

async fn run(
    executor: &Arc<Executor>,
    spec: &LaunchSpec,
    payload: &str,
) -> nimbus_runtime::InvokeResult {
    let sink: Arc<dyn LogSink> = Arc::new(NoLogs);
    executor
        .invoke("f/1/", spec, unlimited(), invocation(payload), &sink)
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

#[tokio::test]
async fn reserved_concurrency_is_shared_by_revisions() {
    let dir = work_dir("reserved");
    std::fs::write(
        dir.join("task/app.py"),
        "import time\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n    return 'ok'\n",
    )
    .unwrap();
    let executor = executor(&dir);
    let spec = Arc::new(spec(&executor, &dir, "python3.11", "app.handler", 10));
    let limits = Limits {
        function: "f/",
        reserved: Some(2),
        scope: "a/",
        unreserved: usize::MAX,
    };
    let sink: Arc<dyn LogSink> = Arc::new(NoLogs);
    let mut running = Vec::new();
    for key in ["f/1/", "f/2/"] {
        let (executor, spec, sink) = (Arc::clone(&executor), Arc::clone(&spec), Arc::clone(&sink));
        running.push(tokio::spawn(async move {
            executor
                .invoke(key, &spec, limits, invocation("{\"sleep\":1.5}"), &sink)
                .await
                .map(|r| r.unwrap().outcome)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let third = executor
        .invoke("f/3/", &spec, limits, invocation("{}"), &sink)
        .await
        .map(|_| ());
    assert_eq!(third, Err(Throttled::Function));
    for task in running {
        assert_eq!(task.await.unwrap(), Ok(Outcome::Success("\"ok\"".into())));
    }
    let after = executor
        .invoke("f/3/", &spec, limits, invocation("{}"), &sink)
        .await;
    assert!(after.is_ok());
}

#[tokio::test]
async fn provisioned_instances_are_initialized_before_use() {
    let dir = work_dir("provisioned");
    std::fs::write(
        dir.join("task/app.py"),
        "import os\nINIT = os.environ.get('AWS_LAMBDA_INITIALIZATION_TYPE')\nPID = os.getpid()\ndef handler(event, context):\n    return {'init': INIT, 'pid': PID}\n",
    )
    .unwrap();
    let executor = executor(&dir);
    let mut provisioned = spec(&executor, &dir, "python3.11", "app.handler", 3);
    provisioned.env.push((
        "AWS_LAMBDA_INITIALIZATION_TYPE".into(),
        "provisioned-concurrency".into(),
    ));
    let on_demand = spec(&executor, &dir, "python3.11", "app.handler", 3);
    let sink: Arc<dyn LogSink> = Arc::new(NoLogs);
    executor.provision("f/1/", provisioned, 2, Arc::clone(&sink));
    let mut state = executor.provisioned_state("f/1/");
    for _ in 0..200 {
        if state.ready == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        state = executor.provisioned_state("f/1/");
    }
    assert_eq!(
        state,
        ProvisionedState {
            requested: 2,
            ready: 2,
            failure: None
        }
    );
    assert_eq!(executor.idle_instances(), 2);
    let first = run(&executor, &on_demand, "{}").await;
    assert!(!first.log.contains("Init Duration"), "{}", first.log);
    let Outcome::Success(body) = &first.outcome else {
        panic!("{:?}", first.outcome)
    };
    let body: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body["init"], "provisioned-concurrency");
    assert_eq!(executor.provisioned_keys("f/"), vec!["f/1/".to_owned()]);
    executor.unprovision("f/1/");
    assert_eq!(executor.idle_instances(), 0);
    assert!(executor.provisioned_keys("f/").is_empty());
}

#[tokio::test]
async fn provisioning_reports_an_init_failure() {
    let dir = work_dir("provisionfail");
    std::fs::write(dir.join("task/app.py"), "raise RuntimeError('no')\n").unwrap();
    let executor = executor(&dir);
    let spec = spec(&executor, &dir, "python3.11", "app.handler", 3);
    executor.provision("f/1/", spec, 1, Arc::new(NoLogs));
    let mut state = executor.provisioned_state("f/1/");
    for _ in 0..200 {
        if state.failure.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        state = executor.provisioned_state("f/1/");
    }
    assert_eq!(state.ready, 0);
    assert!(state.failure.unwrap().contains("RuntimeError"));
}
