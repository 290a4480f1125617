"""The aws CLI v1 against Lambda's JSON log format and the native-module check."""

from __future__ import annotations

import io
import json
import platform
import time
import zipfile

import pytest

from cli_helpers import cli_runner, out  # noqa: F401

LOGGING_CODE = """
import logging
def handler(event, context):
    logging.getLogger().info("info line")
    logging.getLogger().error("error line %s", event.get("n"))
    return "done"
"""
ROLE = "arn:aws:iam::000000000000:role/r"


@pytest.fixture
def cli(nimbus, tmp_path):
    return cli_runner(nimbus.url, tmp_path)


def write_zip(tmp_path, files: dict[str, str | bytes]):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    path = tmp_path / "function.zip"
    path.write_bytes(buffer.getvalue())
    return path


def test_cli_json_logging(cli, tmp_path):
    code = write_zip(tmp_path, {"app.py": LOGGING_CODE})
    created = out(cli("lambda", "create-function", "--function-name", "jsonfn", "--runtime", "python3.12",
                      "--handler", "app.handler", "--role", ROLE, "--zip-file", f"fileb://{code}",
                      "--logging-config", "LogFormat=JSON,ApplicationLogLevel=ERROR"))
    assert created["LoggingConfig"] == {"LogFormat": "JSON", "ApplicationLogLevel": "ERROR",
                                        "SystemLogLevel": "INFO", "LogGroup": "/aws/lambda/jsonfn"}
    cli("lambda", "invoke", "--function-name", "jsonfn", "--payload", '{"n": 7}', str(tmp_path / "o.json"))
    deadline = time.time() + 5
    errors, reports = [], []
    while time.time() < deadline and not reports:
        time.sleep(0.1)
        found = cli("logs", "filter-log-events", "--log-group-name", "/aws/lambda/jsonfn",
                    "--filter-pattern", '{ $.type = "platform.report" }', check=False)
        if found.returncode == 0:
            reports = out(found)["events"]
    errors = out(cli("logs", "filter-log-events", "--log-group-name", "/aws/lambda/jsonfn",
                     "--filter-pattern", '{ $.level = "ERROR" }'))["events"]
    assert len(reports) == 1
    assert [json.loads(e["message"])["message"] for e in errors] == ["error line 7"]
    infos = out(cli("logs", "filter-log-events", "--log-group-name", "/aws/lambda/jsonfn",
                    "--filter-pattern", '{ $.level = "INFO" }'))["events"]
    assert infos == []  # below the application log level

    refused = cli("lambda", "update-function-configuration", "--function-name", "jsonfn",
                  "--logging-config", "LogFormat=Text,ApplicationLogLevel=DEBUG", check=False)
    assert refused.returncode == 255 and "InvalidParameterValueException" in refused.stderr


def test_cli_foreign_native_module(cli, tmp_path):
    other = "aarch64" if platform.machine() == "x86_64" else "x86_64"
    so = f"native/_ext.cpython-311-{other}-linux-gnu.so"
    code = write_zip(tmp_path, {"app.py": "import native._ext\ndef handler(e, c):\n    return 1\n",
                                "native/__init__.py": "", so: b""})
    cli("lambda", "create-function", "--function-name", "nativefn", "--runtime", "python3.11",
        "--handler", "app.handler", "--role", ROLE, "--zip-file", f"fileb://{code}")
    result = tmp_path / "o.json"
    invoked = out(cli("lambda", "invoke", "--function-name", "nativefn", str(result)))
    assert invoked["FunctionError"] == "Unhandled"
    body = json.loads(result.read_text())
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert so in body["errorMessage"] and f"on {other} (glibc)" in body["errorMessage"]


def test_cli_function_with_the_managed_boto3(tmp_path):
    """A server with a managed SDK directory (shared with the boto3 suite's, so installed once)."""
    import os
    import tempfile
    from pathlib import Path

    from nimbus_harness import NimbusServer

    sdk_dir = Path(os.environ.get("NIMBUS_TEST_SDK_DIR", Path(tempfile.gettempdir()) / "nimbus-test-lambda-sdk"))
    server = NimbusServer("--lambda-sdk-dir", str(sdk_dir)).start()
    try:
        cli = cli_runner(server.url, tmp_path)
        code = write_zip(tmp_path, {"app.py": "import boto3\ndef handler(e, c):\n"
                                              "    return [boto3.__version__, boto3.__file__]\n"})
        cli("lambda", "create-function", "--function-name", "sdkfn", "--runtime", "python3.12",
            "--handler", "app.handler", "--role", ROLE, "--zip-file", f"fileb://{code}")
        result = tmp_path / "o.json"
        cli("lambda", "invoke", "--function-name", "sdkfn", "--cli-read-timeout", "600", str(result))
        version, path = json.loads(result.read_text())
        assert version == "1.44.5" and path.startswith(str(sdk_dir)), path
    finally:
        server.stop()
