"""The aws CLI v1 with reserved concurrency shared by a function's versions."""

from __future__ import annotations

import io
import threading
import time
import zipfile

from test_lambda_cli import cli, out  # noqa: F401

SLEEPY = """
import time
def handler(event, context):
    time.sleep(event.get("s", 0))
    return context.function_version
"""

ROLE = "arn:aws:iam::000000000000:role/r"


def sleepy_zip(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", SLEEPY)
    path = tmp_path / "sleepy.zip"
    path.write_bytes(buffer.getvalue())
    return path


def test_cli_reserved_concurrency_is_shared_by_versions(cli, tmp_path):  # noqa: F811
    cli("lambda", "create-function", "--function-name", "ccli", "--runtime", "python3.12",
        "--handler", "app.handler", "--role", ROLE, "--timeout", "20",
        "--zip-file", f"fileb://{sleepy_zip(tmp_path)}", "--publish")
    refused = cli("lambda", "put-function-concurrency", "--function-name", "ccli",
                  "--reserved-concurrent-executions", "901", check=False)
    assert refused.returncode == 255
    assert "InvalidParameterValueException" in refused.stderr
    assert "below its minimum value of [100]" in refused.stderr
    put = out(cli("lambda", "put-function-concurrency", "--function-name", "ccli",
                  "--reserved-concurrent-executions", "1"))
    assert put == {"ReservedConcurrentExecutions": 1}
    assert out(cli("lambda", "get-function-concurrency", "--function-name", "ccli")) == put

    # Version 1 holds the one slot: $LATEST is refused while it runs.
    outcomes = []

    def slow():
        while True:
            proc = cli("lambda", "invoke", "--function-name", "ccli", "--qualifier", "1",
                       "--payload", '{"s": 8}', str(tmp_path / "slow.json"), check=False)
            if "TooManyRequestsException" not in proc.stderr:
                outcomes.append(proc.returncode)
                return

    thread = threading.Thread(target=slow)
    thread.start()
    refusal = None
    while thread.is_alive() and refusal is None:
        # One attempt: the CLI would otherwise retry the throttle until it passes.
        probe = cli("lambda", "invoke", "--function-name", "ccli", str(tmp_path / "probe.json"),
                    env={"AWS_MAX_ATTEMPTS": "1"}, check=False)
        if probe.returncode != 0:
            refusal = probe.stderr
    thread.join()
    assert outcomes == [0]
    assert refusal is not None and "TooManyRequestsException" in refusal
    cli("lambda", "delete-function-concurrency", "--function-name", "ccli")
    assert out(cli("lambda", "get-function-concurrency", "--function-name", "ccli")) == {}


def test_cli_provisioned_concurrency(cli, tmp_path):  # noqa: F811
    cli("lambda", "create-function", "--function-name", "pcli", "--runtime", "python3.12",
        "--handler", "app.handler", "--role", ROLE,
        "--zip-file", f"fileb://{sleepy_zip(tmp_path)}", "--publish")
    refused = cli("lambda", "put-provisioned-concurrency-config", "--function-name", "pcli",
                  "--qualifier", "$LATEST", "--provisioned-concurrent-executions", "1", check=False)
    assert refused.returncode == 255 and "InvalidParameterValueException" in refused.stderr
    put = out(cli("lambda", "put-provisioned-concurrency-config", "--function-name", "pcli",
                  "--qualifier", "1", "--provisioned-concurrent-executions", "1"))
    assert put["RequestedProvisionedConcurrentExecutions"] == 1
    # No waiter exists for provisioned concurrency: poll until READY.
    deadline = time.monotonic() + 30
    while True:
        got = out(cli("lambda", "get-provisioned-concurrency-config", "--function-name", "pcli",
                      "--qualifier", "1"))
        if got["Status"] == "READY" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert got["Status"] == "READY" and got["AvailableProvisionedConcurrentExecutions"] == 1
    listed = out(cli("lambda", "list-provisioned-concurrency-configs", "--function-name", "pcli"))
    assert [c["FunctionArn"].rsplit(":", 1)[1] for c in listed["ProvisionedConcurrencyConfigs"]] == ["1"]
    cli("lambda", "delete-provisioned-concurrency-config", "--function-name", "pcli", "--qualifier", "1")
    missing = cli("lambda", "get-provisioned-concurrency-config", "--function-name", "pcli",
                  "--qualifier", "1", check=False)
    assert missing.returncode == 255
    assert "ProvisionedConcurrencyConfigNotFoundException" in missing.stderr
