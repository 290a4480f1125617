"""The managed AWS SDKs: Python functions import boto3 and Node functions require the
JavaScript SDK v3 without bundling them, the function's own copy wins, and a failed install
leaves the function running with the reason in its log.

The SDK directory is kept across test runs (pins are recorded in it, so a new pin
reinstalls): the first run on a machine installs from PyPI and npm, later ones reuse it."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pytest

from lambda_helpers import create, invoke_json
from nimbus_harness import NimbusServer

SDK_DIR = Path(os.environ.get("NIMBUS_TEST_SDK_DIR", Path(tempfile.gettempdir()) / "nimbus-test-lambda-sdk"))
# The first invoke waits for the install.
INSTALL_WAIT = 600.0

PYTHON_SQS = """
import boto3
def handler(event, context):
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=event["queue"], MessageBody="from python")
    return {"boto3": boto3.__file__, "version": boto3.__version__}
"""

NODE_SQS = """
const { SQSClient, SendMessageCommand } = require("@aws-sdk/client-sqs");
exports.handler = async (event) => {
  const sqs = new SQSClient({});
  await sqs.send(new SendMessageCommand({ QueueUrl: event.queue, MessageBody: "from node" }));
  return { sdk: require.resolve("@aws-sdk/client-sqs") };
};
"""


@pytest.fixture(scope="module")
def sdk_server():
    server = NimbusServer("--lambda-sdk-dir", str(SDK_DIR)).start()
    yield server
    server.stop()


def clients(server):
    return server.client("lambda", read_timeout=INSTALL_WAIT), server.client("sqs")


def received(sqs, queue: str) -> list[str]:
    return [m["Body"] for m in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])]


def test_python_function_uses_the_managed_boto3(sdk_server):
    lam, sqs = clients(sdk_server)
    queue = sqs.create_queue(QueueName="from-python")["QueueUrl"]
    create(lam, "py-sdk", {"app.py": PYTHON_SQS}, runtime="python3.12", Timeout=30)
    response, body = invoke_json(lam, "py-sdk", {"queue": queue})
    assert "FunctionError" not in response, body
    assert body["version"] == "1.44.5"
    # The managed copy, not one the host's interpreter happens to have.
    assert body["boto3"].startswith(str(SDK_DIR / "python3.")), body
    assert received(sqs, queue) == ["from python"]


def test_bundled_boto3_wins(sdk_server):
    lam, _ = clients(sdk_server)
    files = {"app.py": "import boto3\ndef handler(e, c):\n    return boto3.__version__\n",
             "boto3/__init__.py": "__version__ = 'bundled'\n"}
    create(lam, "py-bundled", files, runtime="python3.12")
    _, body = invoke_json(lam, "py-bundled")
    assert body == "bundled"


def test_node_function_uses_the_managed_javascript_sdk(sdk_server):
    lam, sqs = clients(sdk_server)
    queue = sqs.create_queue(QueueName="from-node")["QueueUrl"]
    create(lam, "node-sdk", {"index.js": NODE_SQS}, runtime="nodejs20.x", handler="index.handler", Timeout=30)
    response, body = invoke_json(lam, "node-sdk", {"queue": queue})
    assert "FunctionError" not in response, body
    assert body["sdk"].startswith(str(SDK_DIR / "nodejs" / "node_modules")), body
    assert received(sqs, queue) == ["from node"]
    installed = json.loads((SDK_DIR / "nodejs" / "node_modules" / "@aws-sdk" / "client-sqs" / "package.json").read_text())
    assert installed["version"] == "3.1169.0"
    # The document client is there too, as on AWS.
    assert (SDK_DIR / "nodejs" / "node_modules" / "@aws-sdk" / "lib-dynamodb").is_dir()


def test_failed_install_leaves_the_function_running(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    server = NimbusServer("--lambda-sdk-dir", str(blocker / "sdk")).start()
    try:
        lam, logs = server.client("lambda"), server.client("logs")
        create(lam, "no-sdk", {"app.py": "def handler(e, c):\n    return 'ran'\n"})
        response, body = invoke_json(lam, "no-sdk")
        assert body == "ran"
        deadline = time.monotonic() + 5
        messages: list[str] = []
        while time.monotonic() < deadline:
            try:
                events = logs.filter_log_events(logGroupName="/aws/lambda/no-sdk",
                                                filterPattern='"managed AWS SDK"')
            except logs.exceptions.ResourceNotFoundException:
                # The group appears with the function's first batch of log lines.
                time.sleep(0.1)
                continue
            messages = [e["message"] for e in events["events"]]
            if messages:
                break
            time.sleep(0.1)
        assert messages and "could not install boto3==1.44.5" in messages[0], messages
    finally:
        server.stop()
