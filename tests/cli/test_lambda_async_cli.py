"""The aws CLI v1 against Lambda's asynchronous invocation settings, and an event that fails
into its OnFailure queue."""

from __future__ import annotations

import io
import json
import time
import zipfile

from test_lambda_cli import cli, out  # noqa: F401

FAILING = "def handler(event, context):\n    raise ValueError('no ' + event['word'])\n"
ROLE = "arn:aws:iam::000000000000:role/r"


def test_cli_event_invoke_config_and_failure_record(cli, nimbus, tmp_path):  # noqa: F811
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", FAILING)
    code = tmp_path / "failing.zip"
    code.write_bytes(buffer.getvalue())
    cli("lambda", "create-function", "--function-name", "clifail", "--runtime", "python3.12",
        "--handler", "app.handler", "--role", ROLE, "--zip-file", f"fileb://{code}")
    url = out(cli("sqs", "create-queue", "--queue-name", "cli-failures"))["QueueUrl"]
    queue = out(cli("sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "QueueArn"))[
        "Attributes"]["QueueArn"]

    put = out(cli("lambda", "put-function-event-invoke-config", "--function-name", "clifail",
                  "--maximum-retry-attempts", "0", "--maximum-event-age-in-seconds", "3600",
                  "--destination-config", json.dumps({"OnFailure": {"Destination": queue}})))
    assert put["FunctionArn"].endswith(":function:clifail:$LATEST")
    assert put["MaximumRetryAttempts"] == 0
    assert put["DestinationConfig"]["OnFailure"] == {"Destination": queue}
    assert isinstance(put["LastModified"], (int, float))
    updated = out(cli("lambda", "update-function-event-invoke-config", "--function-name", "clifail",
                      "--maximum-event-age-in-seconds", "600"))
    assert updated["MaximumEventAgeInSeconds"] == 600 and updated["MaximumRetryAttempts"] == 0
    listed = out(cli("lambda", "list-function-event-invoke-configs", "--function-name", "clifail"))
    assert [c["MaximumEventAgeInSeconds"] for c in listed["FunctionEventInvokeConfigs"]] == [600]
    bad = cli("lambda", "put-function-event-invoke-config", "--function-name", "clifail",
              "--maximum-retry-attempts", "5", check=False)
    assert bad.returncode == 255 and "ValidationException" in bad.stderr

    invoked = out(cli("lambda", "invoke", "--function-name", "clifail", "--invocation-type", "Event",
                      "--payload", '{"word": "luck"}', str(tmp_path / "out.json")))
    assert invoked["StatusCode"] == 202
    deadline = time.monotonic() + 30
    messages = []
    while not messages and time.monotonic() < deadline:
        messages = out(cli("sqs", "receive-message", "--queue-url", url, "--wait-time-seconds", "1")).get(
            "Messages", [])
    (message,) = messages
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responsePayload"]["errorMessage"] == "no luck"

    cli("lambda", "delete-function-event-invoke-config", "--function-name", "clifail")
    missing = cli("lambda", "get-function-event-invoke-config", "--function-name", "clifail", check=False)
    assert missing.returncode == 255 and "ResourceNotFoundException" in missing.stderr
