"""SNS → Lambda: a function subscribed to a topic is invoked asynchronously with the SNS event
record. https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html
"""

from __future__ import annotations

import json
import time

from lambda_helpers import PYTHON_ECHO, _lambda_session_client, create, lam  # noqa: F401


def wait_for_echo(logs, function: str, needle: str, timeout: float = 15.0) -> dict:
    """The event the echo function logged whose text contains `needle`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        for event in events:
            text = event["message"]
            if text.startswith("echo ") and needle in text:
                return json.loads(text[len("echo "):])
        time.sleep(0.1)
    raise AssertionError(f"{function} never logged an event containing {needle!r}")


def test_function_subscription_receives_the_sns_record(nimbus, lam, sns):
    function_arn = create(lam, "subscriber", {"app.py": PYTHON_ECHO})["FunctionArn"]
    topic = sns.create_topic(Name="orders")["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)[
        "SubscriptionArn"
    ]
    message_id = sns.publish(
        TopicArn=topic,
        Subject="new order",
        Message="order-42",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}},
    )["MessageId"]

    event = wait_for_echo(nimbus.client("logs"), "subscriber", "order-42")
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == subscription
    body = record["Sns"]
    assert body["Type"] == "Notification"
    assert body["MessageId"] == message_id
    assert body["TopicArn"] == topic
    assert body["Subject"] == "new order"
    assert body["Message"] == "order-42"
    assert body["MessageAttributes"] == {"kind": {"Type": "String", "Value": "order"}}
    assert {"SigningCertUrl", "UnsubscribeUrl", "Signature", "Timestamp"} <= set(body)
