"""Invoking Python, Node and provided functions through boto3: results, warm reuse, AWS's
error shapes, timeouts, crashes, init failures, throttling, log tails."""

from __future__ import annotations

import base64
import json
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambda_helpers import (  # noqa: F401
    NODE_ECHO,
    PYTHON_ECHO,
    _lambda_session_client,
    create,
    invoke_json,
    lam,
)

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def test_python_echo_and_context(lam):
    create(lam, "py", {"app.py": PYTHON_ECHO})
    response, body = invoke_json(lam, "py", {"hello": "world"})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert body["event"] == {"hello": "world"}
    assert body["function_name"] == "py"
    assert len(body["request_id"]) == 36
    assert 0 < body["remaining"] <= 3000
    # AWS answers Invoke with the request id the function ran under.
    assert response["ResponseMetadata"]["RequestId"] == body["request_id"]


def test_warm_instance_is_reused(lam):
    create(lam, "warm", {"app.py": PYTHON_ECHO})
    pids = {invoke_json(lam, "warm", {"i": i})[1]["pid"] for i in range(3)}
    assert len(pids) == 1


def test_32_concurrent_invokes_run_on_32_instances(lam, nimbus):
    """Invokes that overlap each get an instance of their own, up to the account's limit."""
    create(lam, "wide", {"app.py": "import os, time\n\ndef handler(event, context):\n"
                                   "    time.sleep(0.5)\n    return os.getpid()\n"})
    wide = boto3.client(
        "lambda", endpoint_url=nimbus.url, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(max_pool_connections=32, retries={"total_max_attempts": 1}),
    )
    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(lambda i: invoke_json(wide, "wide", {"i": i}), range(32)))
    assert [r["StatusCode"] for r, _ in answers] == [200] * 32
    assert all("FunctionError" not in r for r, _ in answers)
    assert len({pid for _, pid in answers}) == 32


@needs_node
def test_node_commonjs_esm_and_callback(lam):
    create(lam, "cjs", {"index.js": NODE_ECHO}, runtime="nodejs20.x", handler="index.handler")
    _, body = invoke_json(lam, "cjs", {"n": 1})
    assert body["event"] == {"n": 1} and len(body["requestId"]) == 36
    create(lam, "esm", {"index.mjs": "export const handler = async (e) => ({esm: e.v});\n"},
           runtime="nodejs20.x", handler="index.handler")
    assert invoke_json(lam, "esm", {"v": 7})[1] == {"esm": 7}
    create(lam, "cb", {"lib/cb.js": "exports.run = (e, ctx, cb) => { setTimeout(() => cb(null, e.v * 2), 5); };\n"},
           runtime="nodejs22.x", handler="lib/cb.run")
    assert invoke_json(lam, "cb", {"v": 4})[1] == 8


def test_python_handler_error_has_aws_shape(lam):
    create(lam, "err", {"app.py": "def handler(event, context):\n    raise ValueError('bad input')\n"})
    response, body = invoke_json(lam, "err")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "bad input"
    assert any("raise ValueError" in line for line in body["stackTrace"])


@needs_node
def test_node_handler_error_has_aws_shape(lam):
    create(lam, "nerr", {"index.js": "exports.handler = async () => { throw new TypeError('nope'); };\n"},
           runtime="nodejs20.x", handler="index.handler")
    response, body = invoke_json(lam, "nerr")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "TypeError" and body["errorMessage"] == "nope"
    assert body["trace"][0].startswith("TypeError: nope")


def test_init_errors(lam):
    create(lam, "noimport", {"app.py": "import does_not_exist\n"})
    response, body = invoke_json(lam, "noimport")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    create(lam, "nohandler", {"app.py": "x = 1\n"}, handler="app.missing")
    assert invoke_json(lam, "nohandler")[1]["errorType"] == "Runtime.HandlerNotFound"
    create(lam, "syntax", {"app.py": "def handler(:\n"})
    assert invoke_json(lam, "syntax")[1]["errorType"] == "Runtime.UserCodeSyntaxError"


def test_crash_is_an_exit_error(lam):
    create(lam, "crash", {"app.py": "import os\ndef handler(e, c):\n    os._exit(7)\n"})
    response, body = invoke_json(lam, "crash")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "exit status 7" in body["errorMessage"]
    # The next invoke starts a fresh instance.
    assert invoke_json(lam, "crash")[1]["errorType"] == "Runtime.ExitError"


def test_timeout_kills_and_reports(lam):
    create(lam, "slow", {"app.py": "import time\ndef handler(e, c):\n    time.sleep(e.get('s', 0))\n    return 'done'\n"},
           Timeout=1)
    response, body = invoke_json(lam, "slow", {"s": 5}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    log = base64.b64decode(response["LogResult"]).decode()
    assert "Task timed out after 1.00 seconds" in log
    assert invoke_json(lam, "slow", {"s": 0})[1] == "done"


def test_log_tail_has_platform_lines(lam):
    create(lam, "tail", {"app.py": PYTHON_ECHO})
    response, _ = invoke_json(lam, "tail", {"k": 1}, LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    assert log.startswith("START RequestId: ")
    assert "echo {\"k\": 1}" in log
    assert "END RequestId: " in log
    assert "REPORT RequestId: " in log and "Billed Duration: " in log
    assert "Memory Size: 128 MB" in log and "Init Duration: " in log


def test_provided_bootstrap_speaks_the_runtime_api(lam):
    bootstrap = """#!/bin/sh
set -eu
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation"
while true; do
  headers=$(mktemp)
  event=$(curl -sS -D "$headers" "$api/next")
  id=$(grep -i '^lambda-runtime-aws-request-id:' "$headers" | tr -d '\\r' | cut -d' ' -f2)
  curl -sS -X POST "$api/$id/response" -d "{\\"got\\": $event, \\"handler\\": \\"$_HANDLER\\"}" >/dev/null
done
"""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    create(lam, "custom", {"bootstrap": bootstrap}, runtime="provided.al2023",
           handler="my.handler", modes={"bootstrap": 0o755})
    _, body = invoke_json(lam, "custom", {"x": 1})
    assert body == {"got": {"x": 1}, "handler": "my.handler"}


def test_provided_without_bootstrap(lam):
    create(lam, "nobootstrap", {"other": "x"}, runtime="provided.al2023", handler=None)
    response, body = invoke_json(lam, "nobootstrap")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.InvalidEntrypoint"
    assert "bootstrap" in body["errorMessage"]


def test_dry_run_event_and_bad_payload(lam):
    create(lam, "modes", {"app.py": PYTHON_ECHO})
    dry = lam.invoke(FunctionName="modes", InvocationType="DryRun")
    assert dry["StatusCode"] == 204
    event = lam.invoke(FunctionName="modes", InvocationType="Event", Payload=b"{}")
    assert event["StatusCode"] == 202
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName="modes", Payload=b"{not json")
    assert exc.value.response["Error"]["Code"] == "InvalidRequestContentException"
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName="missing", Payload=b"{}")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_reserved_concurrency_throttles(lam, nimbus):
    create(lam, "zero", {"app.py": PYTHON_ECHO})
    lam.put_function_concurrency(FunctionName="zero", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as exc:
        invoke_json(lam, "zero")
    assert exc.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert exc.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"

    create(lam, "one", {"app.py": "import time\ndef handler(e, c):\n    time.sleep(e['s'])\n    return 1\n"})
    lam.put_function_concurrency(FunctionName="one", ReservedConcurrentExecutions=1)
    invoke_json(lam, "one", {"s": 0})  # warm
    results = []
    slow_client = nimbus.client("lambda")

    def slow_invoke():
        # The quick probes below may hold the one slot for a moment: retry until admitted.
        while True:
            try:
                results.append(invoke_json(slow_client, "one", {"s": 2})[1])
                return
            except ClientError as err:
                if err.response["Error"]["Code"] != "TooManyRequestsException":
                    raise

    slow = threading.Thread(target=slow_invoke)
    slow.start()
    # While the slow invocation holds the one slot, another is throttled. On a loaded machine
    # the slow one may start late, so probe until it is seen running (or has finished).
    codes = []
    while slow.is_alive() and "TooManyRequestsException" not in codes:
        try:
            invoke_json(lam, "one", {"s": 0})
            codes.append("ok")
        except ClientError as err:
            codes.append(err.response["Error"]["Code"])
        time.sleep(0.05)
    assert "TooManyRequestsException" in codes, codes
    slow.join()
    assert results == [1]


def test_concurrent_invokes_scale_out(lam, nimbus, tmp_path):
    # Each invocation checks in and waits until all four have: only four environments running at
    # once can meet, however slowly the client threads start.
    code = (
        "import os, time\n"
        "def handler(e, c):\n"
        "    open(os.path.join(e['dir'], str(os.getpid())), 'w').close()\n"
        "    deadline = time.time() + 10\n"
        "    while len(os.listdir(e['dir'])) < 4 and time.time() < deadline:\n"
        "        time.sleep(0.02)\n"
        "    return [os.getpid(), len(os.listdir(e['dir']))]\n"
    )
    create(lam, "wide", {"app.py": code}, Timeout=30)
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        invoke_json(nimbus.client("lambda"), "wide", {"dir": str(tmp_path)})[1])) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert len({pid for pid, _ in results}) == 4
    assert all(seen == 4 for _, seen in results), results


def test_environment_reaches_the_function(lam):
    code = "import os\ndef handler(e, c):\n    return {k: os.environ.get(k) for k in e['keys']}\n"
    create(lam, "env", {"app.py": code}, Environment={"Variables": {"MY_VAR": "hi"}}, MemorySize=256)
    keys = ["MY_VAR", "AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_EXECUTION_ENV",
            "AWS_ENDPOINT_URL", "LAMBDA_TASK_ROOT", "_HANDLER", "TMPDIR", "_X_AMZN_TRACE_ID"]
    _, env = invoke_json(lam, "env", {"keys": keys})
    assert env["MY_VAR"] == "hi"
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "env"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/env"
    assert "[$LATEST]" in env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["AWS_ENDPOINT_URL"].startswith("http://")
    assert env["_HANDLER"] == "app.handler"
    assert env["TMPDIR"] and env["_X_AMZN_TRACE_ID"].startswith("Root=1-")


def test_function_reaches_nimbus_with_boto3(lam):
    code = """
import boto3
def handler(event, context):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="from-lambda")["QueueUrl"]
    return url
"""
    create(lam, "callsback", {"app.py": code}, Timeout=30)
    response, body = invoke_json(lam, "callsback")
    if response.get("FunctionError") and "No module named 'boto3'" in json.dumps(body):
        pytest.skip("boto3 is not importable by the host python3")
    assert body.endswith("/000000000000/from-lambda"), body


def test_updated_code_runs_on_a_new_instance(lam):
    create(lam, "swap", {"app.py": "def handler(e, c):\n    return 'v1'\n"})
    assert invoke_json(lam, "swap")[1] == "v1"
    from lambda_helpers import zip_of
    lam.update_function_code(FunctionName="swap", ZipFile=zip_of({"app.py": "def handler(e, c):\n    return 'v2'\n"}))
    assert invoke_json(lam, "swap")[1] == "v2"


def test_python_memory_limit(lam):
    code = "import time\ndef handler(e, c):\n    hog = bytearray(300 * 1024 * 1024)\n    time.sleep(2)\n    return len(hog)\n"
    create(lam, "hog", {"app.py": code}, MemorySize=128, Timeout=10)
    response, body = invoke_json(lam, "hog")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.OutOfMemory"


@needs_node
def test_node_memory_limit(lam):
    code = "exports.handler = async () => { const hog = Buffer.alloc(300 * 1024 * 1024, 1); await new Promise(r => setTimeout(r, 2000)); return hog.length; };\n"
    create(lam, "nhog", {"index.js": code}, runtime="nodejs20.x", handler="index.handler",
           MemorySize=128, Timeout=10)
    response, body = invoke_json(lam, "nhog")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.OutOfMemory"


def test_memory_of_child_processes_counts(lam):
    code = """import subprocess, sys
def handler(e, c):
    subprocess.run([sys.executable, "-c", "import time; x = bytearray(300 * 1024 * 1024); time.sleep(3)"])
    return "survived"
"""
    create(lam, "treehog", {"app.py": code}, MemorySize=128, Timeout=10)
    response, body = invoke_json(lam, "treehog")
    assert body["errorType"] == "Runtime.OutOfMemory"
