"""The aws CLI v1 against nimbus's SNS: topics, subscriptions, publish with attributes and a
filter policy, fan-out to a queue, and an error as the CLI prints it."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from test_cli import aws_executable


@pytest.fixture
def aws_any(nimbus, tmp_path):
    exe = aws_executable()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_PAGER": "",
    }

    def run(service: str, *args: str, check: bool = True):
        proc = subprocess.run(
            [exe, "--endpoint-url", nimbus.url, "--output", "json", service, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc

    return run


def out(proc):
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def test_cli_sns_fan_out(aws_any):
    topic = out(aws_any("sns", "create-topic", "--name", "cli-topic", "--tags", "Key=team,Value=a"))["TopicArn"]
    assert topic == "arn:aws:sns:us-east-1:000000000000:cli-topic"
    assert out(aws_any("sns", "list-topics"))["Topics"] == [{"TopicArn": topic}]
    aws_any("sns", "set-topic-attributes", "--topic-arn", topic, "--attribute-name", "DisplayName", "--attribute-value", "CLI")
    attrs = out(aws_any("sns", "get-topic-attributes", "--topic-arn", topic))["Attributes"]
    assert attrs["DisplayName"] == "CLI"
    assert out(aws_any("sns", "list-tags-for-resource", "--resource-arn", topic))["Tags"] == [{"Key": "team", "Value": "a"}]

    url = out(aws_any("sqs", "create-queue", "--queue-name", "cli-q"))["QueueUrl"]
    queue_arn = out(aws_any("sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "QueueArn"))["Attributes"]["QueueArn"]
    sub = out(
        aws_any(
            "sns", "subscribe", "--topic-arn", topic, "--protocol", "sqs", "--notification-endpoint", queue_arn,
            "--attributes", json.dumps({"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"kind": ["keep"]})}),
        )
    )["SubscriptionArn"]
    assert out(aws_any("sns", "list-subscriptions-by-topic", "--topic-arn", topic))["Subscriptions"][0]["SubscriptionArn"] == sub

    for kind in ("drop", "keep"):
        published = out(
            aws_any(
                "sns", "publish", "--topic-arn", topic, "--message", f"{kind} me",
                "--message-attributes", json.dumps({"kind": {"DataType": "String", "StringValue": kind}}),
            )
        )
        assert published["MessageId"]
    bodies = []
    deadline = time.time() + 10
    while not bodies and time.time() < deadline:
        got = out(aws_any("sqs", "receive-message", "--queue-url", url, "--wait-time-seconds", "1"))
        bodies += [m["Body"] for m in got.get("Messages", [])]
    assert bodies == ["keep me"]

    aws_any("sns", "unsubscribe", "--subscription-arn", sub)
    aws_any("sns", "delete-topic", "--topic-arn", topic)
    assert out(aws_any("sns", "list-topics"))["Topics"] == []


def test_cli_sns_error(aws_any):
    proc = aws_any("sns", "get-topic-attributes", "--topic-arn", "arn:aws:sns:us-east-1:000000000000:none", check=False)
    assert proc.returncode != 0
    assert "NotFound" in proc.stderr
