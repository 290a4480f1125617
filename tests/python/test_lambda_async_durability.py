"""Asynchronous events waiting for a retry survive `kill -9`: after a restart they are retried
with their attempt count intact and end in their destination."""

from __future__ import annotations

import json
import time

import pytest

from lambda_helpers import ROLE, zip_of
from nimbus_harness import NimbusServer

FAILING = "def handler(event, context):\n    raise Exception('boom ' + str(event['n']))\n"
# The one-minute wait before the first retry becomes 3 s, the two-minute one 6 s.
SCALE = "0.05"


def start(data_dir):
    return NimbusServer("--async-retry-scale", SCALE, data_dir=data_dir, clock="real").start()


def count(logs, pattern: str) -> int:
    try:
        return len(logs.filter_log_events(logGroupName="/aws/lambda/flaky", filterPattern=pattern)["events"])
    except logs.exceptions.ResourceNotFoundException:
        return 0


@pytest.mark.slow
def test_events_waiting_for_a_retry_survive_kill_9(tmp_path):
    first = start(tmp_path)
    try:
        lam, sqs, logs = first.client("lambda"), first.client("sqs"), first.client("logs")
        dlq_url = sqs.create_queue(QueueName="flaky-dlq")["QueueUrl"]
        dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName="flaky-failures")["QueueUrl"]
        queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        lam.create_function(FunctionName="flaky", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": zip_of({"app.py": FAILING})}, DeadLetterConfig={"TargetArn": dlq})
        lam.put_function_event_invoke_config(FunctionName="flaky",
                                             DestinationConfig={"OnFailure": {"Destination": queue}})
        for n in range(3):
            lam.invoke(FunctionName="flaky", InvocationType="Event", Payload=json.dumps({"n": n}).encode())
        # Each event has had its first attempt (its end is in the logs) and waits 3 s for a retry.
        deadline = time.monotonic() + 20
        while count(logs, "REPORT") < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert count(logs, "REPORT") == 3
        time.sleep(0.5)
    finally:
        first.kill()

    second = start(tmp_path)
    try:
        sqs, logs = second.client("sqs"), second.client("logs")
        records = []
        deadline = time.monotonic() + 60
        while len(records) < 3 and time.monotonic() < deadline:
            for message in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1,
                                               MaxNumberOfMessages=10).get("Messages", []):
                records.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        assert sorted(r["requestPayload"]["n"] for r in records) == [0, 1, 2]
        for record in records:
            assert record["requestContext"]["condition"] == "RetriesExhausted"
            assert record["requestContext"]["approximateInvokeCount"] == 3
        # Nine attempts in all: three before the kill, six after.
        deadline = time.monotonic() + 10
        while count(logs, "START") < 9 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert count(logs, "START") == 9
        # The OnFailure destination took them; the dead-letter queue stays empty.
        assert "Messages" not in sqs.receive_message(QueueUrl=dlq_url)
    finally:
        assert second.stop() == 0
