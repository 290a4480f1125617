"""Throttles: synchronous invokes beyond reserved concurrency get 429 with AWS's `Reason`,
asynchronous ones go back on the queue and run once there is room, and every throttle is
counted in /_nimbus/metrics."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from botocore.exceptions import ClientError

from lambda_helpers import _lambda_session_client, create, invoke_json, lam  # noqa: F401

SLOW = "import time\ndef handler(event, context):\n    time.sleep(event.get('s', 0))\n    return event.get('n')\n"


def throttles(nimbus, function: str) -> int:
    match = re.search(r'nimbus_lambda_throttles_total\{[^}]*function="' + function + r'"[^}]*\} (\d+)',
                      nimbus.metrics())
    return int(match.group(1)) if match else 0


def test_sync_throttles_carry_the_reason_and_are_counted(lam, nimbus):
    create(lam, "closed", {"app.py": SLOW})
    lam.put_function_concurrency(FunctionName="closed", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as exc:
        invoke_json(lam, "closed")
    error = exc.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["Error"]["Message"] == "Rate Exceeded."
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"

    create(lam, "narrow", {"app.py": SLOW})
    lam.put_function_concurrency(FunctionName="narrow", ReservedConcurrentExecutions=1)
    invoke_json(lam, "narrow", {"n": 0})  # warm
    slow = threading.Thread(target=lambda: invoke_json(nimbus.client("lambda"), "narrow", {"s": 1.5}))
    slow.start()
    time.sleep(0.5)
    with pytest.raises(ClientError) as exc:
        invoke_json(lam, "narrow", {"n": 1})
    assert exc.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    slow.join()
    assert throttles(nimbus, "closed") == 1
    assert throttles(nimbus, "narrow") == 1


def test_throttled_events_are_retried_with_backoff(lam, nimbus, sqs, clock):
    url = sqs.create_queue(QueueName="narrow-successes")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    create(lam, "busy", {"app.py": SLOW})
    lam.put_function_concurrency(FunctionName="busy", ReservedConcurrentExecutions=1)
    lam.put_function_event_invoke_config(FunctionName="busy",
                                         DestinationConfig={"OnSuccess": {"Destination": queue}})
    slow = threading.Thread(target=lambda: invoke_json(nimbus.client("lambda"), "busy", {"s": 2}))
    slow.start()
    time.sleep(0.7)
    lam.invoke(FunctionName="busy", InvocationType="Event", Payload=json.dumps({"n": 9}).encode())
    time.sleep(0.5)
    assert throttles(nimbus, "busy") >= 1
    slow.join()
    # The test clock stands still: the throttled event waits for its one-second backoff.
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    clock.advance(2)
    deadline = time.monotonic() + 20
    messages = []
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    (message,) = messages
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] >= 2
    assert record["responsePayload"] == 9
    retried = re.search(r'nimbus_lambda_async_events_total\{outcome="retried"\} (\d+)', nimbus.metrics())
    assert retried and int(retried.group(1)) >= 1
