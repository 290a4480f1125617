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

from lambda_helpers import _lambda_session_client, create, hold_slot, invoke_json, lam  # noqa: F401

SLOW = "import time\ndef handler(event, context):\n    time.sleep(event.get('s', 0))\n    return event.get('n')\n"


def throttles(nimbus, function: str) -> int:
    match = re.search(r'nimbus_lambda_throttles_total\{[^}]*function="' + function + r'"[^}]*\} (\d+)',
                      nimbus.metrics())
    return int(match.group(1)) if match else 0


def throttled_while(slow: threading.Thread, call) -> dict:
    """Calls `call` until it is throttled, while `slow` holds the function's one slot."""
    while slow.is_alive():
        try:
            call()
        except ClientError as err:
            return err.response
        time.sleep(0.1)
    raise AssertionError("never throttled while the slow invoke ran")


def single_slot_reporting_to_a_queue(lam, sqs, function: str, queue_name: str) -> str:
    """Creates `function` (SLOW) with reserved concurrency 1 whose successful events are
    recorded in a new queue; returns the queue's URL."""
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    create(lam, function, {"app.py": SLOW})
    lam.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=1)
    lam.put_function_event_invoke_config(FunctionName=function,
                                         DestinationConfig={"OnSuccess": {"Destination": queue}})
    return url


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
    slow = hold_slot(nimbus.client("lambda"), "narrow", 3)
    error = throttled_while(slow, lambda: invoke_json(lam, "narrow", {"n": 1}))
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    slow.join()
    assert throttles(nimbus, "closed") == 1
    assert throttles(nimbus, "narrow") >= 1


def test_throttled_events_are_retried_with_backoff(lam, nimbus, sqs, clock):
    url = single_slot_reporting_to_a_queue(lam, sqs, "busy", "narrow-successes")
    invoke_json(lam, "busy", {})  # warm
    slow = hold_slot(nimbus.client("lambda"), "busy", 4)
    # Once a synchronous call is refused, the slot is taken: the event will be throttled too.
    throttled_while(slow, lambda: invoke_json(lam, "busy", {}))
    lam.invoke(FunctionName="busy", InvocationType="Event", Payload=json.dumps({"n": 9}).encode())
    deadline = time.monotonic() + 2
    while throttles(nimbus, "busy") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert throttles(nimbus, "busy") >= 2
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


def test_events_beyond_reserved_concurrency_wait_for_a_slot(lam, nimbus, sqs, clock):
    """Asynchronous events queue behind the function's reserved concurrency instead of being
    throttled: on the standing test clock a throttled event would wait for its backoff forever,
    so every record arriving proves none was."""
    url = single_slot_reporting_to_a_queue(lam, sqs, "single", "queued-successes")
    for n in range(5):
        lam.invoke(FunctionName="single", InvocationType="Event",
                   Payload=json.dumps({"n": n, "s": 0.2}).encode())
    seen = []
    deadline = time.monotonic() + 30
    while len(seen) < 5 and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", []):
            record = json.loads(message["Body"])
            assert record["requestContext"]["approximateInvokeCount"] == 1, record
            seen.append(record["responsePayload"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert sorted(seen) == [0, 1, 2, 3, 4]
    assert throttles(nimbus, "single") == 0
