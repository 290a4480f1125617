"""The aws CLI v1 against Lambda and CloudWatch Logs, and `nimbus logs`."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import time
import zipfile

import pytest

from cli_helpers import cli_runner, out  # noqa: F401


PYTHON_CODE = """
def handler(event, context):
    print("cli says", event.get("word"))
    return {"echo": event}
"""


@pytest.fixture
def cli(nimbus, tmp_path):
    return cli_runner(nimbus.url, tmp_path)


@pytest.fixture
def function_zip(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", PYTHON_CODE)
    path = tmp_path / "function.zip"
    path.write_bytes(buffer.getvalue())
    return path


# The CLI v1 sends blob arguments such as --payload as given (v2 would expect base64).
def test_cli_function_lifecycle(cli, function_zip, tmp_path):
    created = out(cli("lambda", "create-function", "--function-name", "clifn", "--runtime", "python3.12",
                      "--handler", "app.handler", "--role", "arn:aws:iam::000000000000:role/r",
                      "--zip-file", f"fileb://{function_zip}", "--timeout", "5"))
    assert created["FunctionName"] == "clifn" and created["Timeout"] == 5
    cli("lambda", "wait", "function-active-v2", "--function-name", "clifn")
    got = out(cli("lambda", "get-function", "--function-name", "clifn"))
    assert got["Configuration"]["State"] == "Active"
    result = tmp_path / "out.json"
    invoked = out(cli("lambda", "invoke", "--function-name", "clifn", "--payload",
                      '{"word": "hi"}', "--log-type", "Tail", str(result)))
    assert invoked["StatusCode"] == 200
    assert json.loads(result.read_text()) == {"echo": {"word": "hi"}}
    assert "cli says hi" in base64.b64decode(invoked["LogResult"]).decode()
    updated = out(cli("lambda", "update-function-configuration", "--function-name", "clifn",
                      "--memory-size", "256"))
    assert updated["MemorySize"] == 256
    cli("lambda", "wait", "function-updated-v2", "--function-name", "clifn")
    names = [f["FunctionName"] for f in out(cli("lambda", "list-functions"))["Functions"]]
    assert names == ["clifn"]
    cli("lambda", "delete-function", "--function-name", "clifn")
    missing = cli("lambda", "get-function", "--function-name", "clifn", check=False)
    assert missing.returncode == 255 and "ResourceNotFoundException" in missing.stderr


def test_cli_logs_and_nimbus_logs(cli, nimbus, function_zip, tmp_path):
    cli("lambda", "create-function", "--function-name", "logfn", "--runtime", "python3.12",
        "--handler", "app.handler", "--role", "arn:aws:iam::000000000000:role/r",
        "--zip-file", f"fileb://{function_zip}")
    cli("lambda", "invoke", "--function-name", "logfn", "--payload",
        '{"word": "first"}', str(tmp_path / "o.json"))
    deadline = time.time() + 5
    events = []
    while time.time() < deadline:
        groups = out(cli("logs", "describe-log-groups", "--log-group-name-prefix", "/aws/lambda/logfn"))
        if groups["logGroups"]:
            events = out(cli("logs", "filter-log-events", "--log-group-name", "/aws/lambda/logfn",
                             "--filter-pattern", "REPORT"))["events"]
            if events:
                break
        time.sleep(0.1)
    assert len(events) == 1 and events[0]["message"].startswith("REPORT RequestId:")

    printed = subprocess.run([os.environ.get("NIMBUS_BIN", "nimbus"), "logs", "logfn", "--endpoint", nimbus.url],
                             capture_output=True, text=True, timeout=30)
    assert printed.returncode == 0, printed.stderr
    assert "cli says first" in printed.stdout and "REPORT RequestId:" in printed.stdout

    follower = subprocess.Popen([os.environ.get("NIMBUS_BIN", "nimbus"), "logs", "logfn", "--follow",
                                 "--endpoint", nimbus.url], stdout=subprocess.PIPE, text=True)
    try:
        cli("lambda", "invoke", "--function-name", "logfn", "--payload",
            '{"word": "second"}', str(tmp_path / "o.json"))
        seen = []
        deadline = time.time() + 10
        while time.time() < deadline:
            line = follower.stdout.readline()
            seen.append(line)
            if "cli says second" in line:
                break
        assert any("cli says second" in line for line in seen), seen
    finally:
        follower.terminate()
        follower.wait(timeout=10)


def test_nimbus_logs_without_group(nimbus):
    printed = subprocess.run([os.environ.get("NIMBUS_BIN", "nimbus"), "logs", "never", "--endpoint", nimbus.url],
                             capture_output=True, text=True, timeout=30)
    assert printed.returncode == 0
    assert "no logs for never yet" in printed.stderr
