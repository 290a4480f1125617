"""The aws CLI v1 against nimbus's SNS: topics, subscriptions, publish with attributes and a
filter policy, fan-out to a queue, and an error as the CLI prints it."""

from __future__ import annotations

import json
import time

import pytest

from cli_helpers import cli_runner, out  # noqa: F401


@pytest.fixture
def aws_any(nimbus, tmp_path):
    return cli_runner(nimbus.url, tmp_path)



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
