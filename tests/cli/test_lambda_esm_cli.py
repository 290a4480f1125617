"""The aws CLI v1 against event source mappings: create, get, list, update, delete."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from test_lambda_cli import cli, out  # noqa: F401

RECORDER = """
def handler(event, context):
    print("got", len(event["Records"]))
"""


@pytest.fixture
def function_zip(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", RECORDER)
    path = tmp_path / "function.zip"
    path.write_bytes(buffer.getvalue())
    return path


def wait_state(cli, uuid: str, state: str) -> dict:  # noqa: F811
    deadline = time.monotonic() + 10
    while True:
        mapping = out(cli("lambda", "get-event-source-mapping", "--uuid", uuid))
        if mapping["State"] == state:
            return mapping
        assert time.monotonic() < deadline, mapping
        time.sleep(0.05)


def test_cli_event_source_mapping_lifecycle(cli, function_zip):  # noqa: F811
    cli("lambda", "create-function", "--function-name", "esmfn", "--runtime", "python3.12",
        "--handler", "app.handler", "--role", "arn:aws:iam::000000000000:role/r",
        "--zip-file", f"fileb://{function_zip}")
    url = out(cli("sqs", "create-queue", "--queue-name", "cliq"))["QueueUrl"]
    arn = out(cli("sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names",
                  "QueueArn"))["Attributes"]["QueueArn"]
    created = out(cli("lambda", "create-event-source-mapping", "--function-name", "esmfn",
                      "--event-source-arn", arn, "--batch-size", "5",
                      "--function-response-types", "ReportBatchItemFailures"))
    assert created["State"] == "Creating" and created["BatchSize"] == 5
    uuid = created["UUID"]
    wait_state(cli, uuid, "Enabled")
    listed = out(cli("lambda", "list-event-source-mappings", "--function-name", "esmfn"))
    assert [m["UUID"] for m in listed["EventSourceMappings"]] == [uuid]
    updated = out(cli("lambda", "update-event-source-mapping", "--uuid", uuid, "--no-enabled"))
    assert updated["State"] == "Disabling"
    wait_state(cli, uuid, "Disabled")
    duplicate = cli("lambda", "create-event-source-mapping", "--function-name", "esmfn",
                    "--event-source-arn", arn, check=False)
    assert duplicate.returncode == 255 and "ResourceConflictException" in duplicate.stderr
    bad = cli("lambda", "create-event-source-mapping", "--function-name", "esmfn",
              "--event-source-arn", arn, "--starting-position", "LATEST", check=False)
    assert bad.returncode == 255 and "InvalidParameterValueException" in bad.stderr
    assert out(cli("lambda", "delete-event-source-mapping", "--uuid", uuid))["State"] == "Deleting"
    deadline = time.monotonic() + 10
    while True:
        missing = cli("lambda", "get-event-source-mapping", "--uuid", uuid, check=False)
        if missing.returncode == 255:
            assert "ResourceNotFoundException" in missing.stderr
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
