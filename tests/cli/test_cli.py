"""The aws CLI v1 (from PyPI, installed in the venv) against nimbus.

The CLI v1 ignores AWS_ENDPOINT_URL, so every call passes --endpoint-url.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from cli_helpers import cli_runner, out


@pytest.fixture
def aws(nimbus, tmp_path):
    return cli_runner(nimbus.url, tmp_path, "sqs")



def test_cli_round_trip(aws, nimbus):
    url = out(aws("create-queue", "--queue-name", "cli-q", "--attributes", "VisibilityTimeout=40"))["QueueUrl"]
    assert url == f"{nimbus.url}/000000000000/cli-q"

    sent = out(
        aws(
            "send-message",
            "--queue-url",
            url,
            "--message-body",
            "from the cli",
            "--message-attributes",
            '{"k": {"DataType": "String", "StringValue": "v"}}',
        )
    )
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"from the cli").hexdigest()

    got = out(aws("receive-message", "--queue-url", url, "--message-attribute-names", "All"))["Messages"]
    assert len(got) == 1
    assert got[0]["Body"] == "from the cli"
    assert got[0]["MessageAttributes"] == {"k": {"DataType": "String", "StringValue": "v"}}

    attrs = out(aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "All"))["Attributes"]
    assert attrs["VisibilityTimeout"] == "40"
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "1"

    aws("delete-message", "--queue-url", url, "--receipt-handle", got[0]["ReceiptHandle"])
    attrs = out(aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "All"))["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_cli_list_queues(aws, nimbus):
    for name in ["cli-a", "cli-b", "other"]:
        aws("create-queue", "--queue-name", name)
    listed = out(aws("list-queues", "--queue-name-prefix", "cli-"))["QueueUrls"]
    assert sorted(u.rsplit("/", 1)[1] for u in listed) == ["cli-a", "cli-b"]
    # The CLI paginates by itself when asked for small pages.
    everything = out(aws("list-queues", "--page-size", "1"))["QueueUrls"]
    assert len(everything) == 3


def test_cli_error_exit_code_and_message(aws):
    proc = aws("get-queue-url", "--queue-name", "does-not-exist", check=False)
    # CLI v1 exits 255 when the service returns an error
    # (https://docs.aws.amazon.com/cli/v1/userguide/cli-usage-returncodes.html).
    assert proc.returncode == 255, (proc.returncode, proc.stderr)
    assert "AWS.SimpleQueueService.NonExistentQueue" in proc.stderr
    assert "GetQueueUrl" in proc.stderr
