"""Asynchronous invocation end to end: retries of failed events, destination records,
dead-letter queues, SNS deliveries that fail, and events that grow too old.
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html

Most tests run on a server of their own with `--async-retry-scale 0.001` (the one- and
two-minute retry waits become 60 and 120 ms); the event-age test moves the shared test clock.
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from lambda_helpers import PYTHON_ECHO, ROLE, zip_of
from nimbus_harness import NimbusServer

ACCOUNT = "000000000000"
FAILING = "def handler(event, context):\n    raise Exception('boom ' + str(event.get('n')))\n"
SUCCEEDING = "def handler(event, context):\n    return {'ok': event.get('n')}\n"
# Succeeds for a non-zero `n`, fails for zero.
ROUTED = """
def handler(event, context):
    if event["n"]:
        return {"n": event["n"]}
    raise Exception("boom " + str(event["n"]))
"""
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture(scope="module")
def fast():
    server = NimbusServer("--async-retry-scale", "0.001", clock="real").start()
    yield server
    assert server.stop() == 0, server.log_tail()


def make_function(lam, name: str, code: str, **extra) -> str:
    return lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                               Code={"ZipFile": zip_of({"app.py": code})}, **extra)["FunctionArn"]


def make_queue(sqs, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive_one(sqs, url: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MessageAttributeNames=["All"]).get("Messages")
        if messages:
            assert len(messages) == 1, messages
            return messages[0]
    raise AssertionError(f"nothing arrived on {url}")


def log_lines(logs, function: str, pattern: str, expected: int, timeout: float = 10.0) -> list[str]:
    """The function's log lines matching `pattern`, once `expected` of them have arrived (logs
    are forwarded in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}", filterPattern=pattern)["events"]
        if len(events) >= expected or time.monotonic() > deadline:
            return [e["message"] for e in events]
        time.sleep(0.2)


def wait_for_logged(logs, function: str, pattern: str, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}", filterPattern=pattern)["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        if events:
            return [e["message"] for e in events]
        time.sleep(0.2)
    raise AssertionError(f"{function} never logged {pattern!r}")


def invoke_event(lam, name: str, event) -> str:
    """Queues an event; its request id, which every attempt and record carries."""
    response = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event).encode())
    assert response["StatusCode"] == 202
    return response["ResponseMetadata"]["RequestId"]


def test_failed_event_is_retried_twice_then_recorded_on_failure(fast):
    lam, sqs, logs = fast.client("lambda"), fast.client("sqs"), fast.client("logs")
    arn = make_function(lam, "fails", FAILING)
    url, queue = make_queue(sqs, "fails-record")
    lam.put_function_event_invoke_config(FunctionName="fails",
                                         DestinationConfig={"OnFailure": {"Destination": queue}})
    request_id = invoke_event(lam, "fails", {"n": 1})

    record = json.loads(receive_one(sqs, url)["Body"])
    assert set(record) == {"version", "timestamp", "requestContext", "requestPayload",
                           "responseContext", "responsePayload"}
    assert record["version"] == "1.0"
    assert TIMESTAMP.match(record["timestamp"]), record["timestamp"]
    context = record["requestContext"]
    assert UUID.match(context["requestId"])
    assert context["requestId"] == request_id
    assert context["functionArn"] == f"{arn}:$LATEST"
    assert context["condition"] == "RetriesExhausted"
    assert context["approximateInvokeCount"] == 3
    assert record["requestPayload"] == {"n": 1}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                         "functionError": "Unhandled"}
    assert record["responsePayload"]["errorMessage"] == "boom 1"
    assert record["responsePayload"]["errorType"] == "Exception"
    assert len(log_lines(logs, "fails", "START", 3)) == 3
    # Every attempt ran under the event's one request id.
    reports = log_lines(logs, "fails", "REPORT", 3)
    assert {line.split()[2] for line in reports} == {context["requestId"]}


def test_dead_letter_queue_gets_the_event_and_error_attributes(fast):
    lam, sqs = fast.client("lambda"), fast.client("sqs")
    url, queue = make_queue(sqs, "dlq")
    make_function(lam, "dead", FAILING, DeadLetterConfig={"TargetArn": queue})
    lam.put_function_event_invoke_config(FunctionName="dead", MaximumRetryAttempts=1)
    payload = json.dumps({"n": 2, "text": "kept as sent"})
    lam.invoke(FunctionName="dead", InvocationType="Event", Payload=payload.encode())

    message = receive_one(sqs, url)
    assert message["Body"] == payload
    attributes = message["MessageAttributes"]
    assert set(attributes) == {"RequestID", "ErrorCode", "ErrorMessage"}
    assert attributes["RequestID"]["DataType"] == "String"
    assert UUID.match(attributes["RequestID"]["StringValue"])
    assert attributes["ErrorCode"] == {"DataType": "Number", "StringValue": "200"}
    assert attributes["ErrorMessage"] == {"DataType": "String", "StringValue": "boom 2"}


def test_dead_letter_topic_gets_the_event_and_error_attributes(fast):
    lam, sqs, sns = fast.client("lambda"), fast.client("sqs"), fast.client("sns")
    topic = sns.create_topic(Name="dead-letters")["TopicArn"]
    url, queue = make_queue(sqs, "dead-letter-copy")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue, Attributes={"RawMessageDelivery": "true"})
    make_function(lam, "dead-topic", FAILING, DeadLetterConfig={"TargetArn": topic})
    lam.put_function_event_invoke_config(FunctionName="dead-topic", MaximumRetryAttempts=0)
    payload = json.dumps({"n": 8})
    lam.invoke(FunctionName="dead-topic", InvocationType="Event", Payload=payload.encode())
    message = receive_one(sqs, url)
    assert message["Body"] == payload
    attributes = message["MessageAttributes"]
    assert attributes["ErrorCode"] == {"DataType": "Number", "StringValue": "200"}
    assert attributes["ErrorMessage"] == {"DataType": "String", "StringValue": "boom 8"}
    assert UUID.match(attributes["RequestID"]["StringValue"])


def test_on_failure_destination_wins_over_the_dead_letter_queue(fast):
    lam, sqs = fast.client("lambda"), fast.client("sqs")
    dlq_url, dlq = make_queue(sqs, "unused-dlq")
    record_url, records = make_queue(sqs, "preferred")
    make_function(lam, "both", FAILING, DeadLetterConfig={"TargetArn": dlq})
    lam.put_function_event_invoke_config(FunctionName="both", MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": records}})
    invoke_event(lam, "both", {"n": 3})
    assert json.loads(receive_one(sqs, record_url)["Body"])["requestContext"]["condition"] == "RetriesExhausted"
    assert "Messages" not in sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1)


def test_on_success_record(fast):
    lam, sqs = fast.client("lambda"), fast.client("sqs")
    arn = make_function(lam, "works", SUCCEEDING)
    url, queue = make_queue(sqs, "successes")
    lam.put_function_event_invoke_config(FunctionName="works",
                                         DestinationConfig={"OnSuccess": {"Destination": queue}})
    invoke_event(lam, "works", {"n": 4})
    record = json.loads(receive_one(sqs, url)["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["requestContext"]["functionArn"] == f"{arn}:$LATEST"
    assert record["requestPayload"] == {"n": 4}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"ok": 4}


def test_every_event_runs_once_while_others_finish(fast):
    """Events queued while others settle each run exactly once: a claim read just before an
    event settled must not start it again, nor settle a newer event that took its row id."""
    lam, sqs = fast.client("lambda"), fast.client("sqs")
    make_function(lam, "each-once", SUCCEEDING)
    url, queue = make_queue(sqs, "each-once-successes")
    lam.put_function_event_invoke_config(FunctionName="each-once",
                                         DestinationConfig={"OnSuccess": {"Destination": queue}})
    senders, per_sender = 3, 100

    def send(first: int) -> None:
        client = fast.client("lambda")
        for n in range(first, first + per_sender):
            invoke_event(client, "each-once", {"n": n})

    threads = [threading.Thread(target=send, args=(s * per_sender,)) for s in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = senders * per_sender
    seen: list[int] = []
    deadline = time.monotonic() + 60
    # After the last expected record, a little longer: a second run of an event would follow.
    settle_until = None
    while time.monotonic() < deadline and (settle_until is None or time.monotonic() < settle_until):
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            seen.append(json.loads(message["Body"])["responsePayload"]["ok"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if settle_until is None and len(seen) >= expected:
            settle_until = time.monotonic() + 2
    assert sorted(seen) == list(range(expected))


def test_maximum_retry_attempts_zero_tries_once(fast):
    lam, sqs, logs = fast.client("lambda"), fast.client("sqs"), fast.client("logs")
    make_function(lam, "once", FAILING)
    url, queue = make_queue(sqs, "once-record")
    lam.put_function_event_invoke_config(FunctionName="once", MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": queue}})
    invoke_event(lam, "once", {"n": 5})
    record = json.loads(receive_one(sqs, url)["Body"])
    assert record["requestContext"]["approximateInvokeCount"] == 1
    time.sleep(0.5)
    assert len(log_lines(logs, "once", "START", 2, timeout=2.0)) == 1
    failed = re.search(r'nimbus_lambda_async_events_total\{outcome="failed"\} (\d+)', fast.metrics())
    assert failed and int(failed.group(1)) >= 1


def test_sns_delivery_to_a_failing_function_ends_in_its_dead_letter_queue(fast):
    lam, sqs, sns = fast.client("lambda"), fast.client("sqs"), fast.client("sns")
    url, queue = make_queue(sqs, "sns-dlq")
    arn = make_function(lam, "sns-fails", FAILING, DeadLetterConfig={"TargetArn": queue})
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="hello")
    message = receive_one(sqs, url)
    event = json.loads(message["Body"])
    assert event["Records"][0]["Sns"]["Message"] == "hello"
    assert event["Records"][0]["Sns"]["TopicArn"] == topic
    assert message["MessageAttributes"]["ErrorMessage"]["StringValue"] == "boom None"


def test_records_reach_topics_and_functions(fast):
    lam, sqs, sns, logs = (fast.client(s) for s in ("lambda", "sqs", "sns", "logs"))
    make_function(lam, "recorder", PYTHON_ECHO)
    recorder = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:recorder"
    topic = sns.create_topic(Name="records")["TopicArn"]
    url, queue = make_queue(sqs, "topic-copy")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue, Attributes={"RawMessageDelivery": "true"})
    make_function(lam, "routed", ROUTED)
    lam.put_function_event_invoke_config(FunctionName="routed", MaximumRetryAttempts=0, DestinationConfig={
        "OnSuccess": {"Destination": topic}, "OnFailure": {"Destination": recorder}})

    invoke_event(lam, "routed", {"n": 6})
    success = json.loads(receive_one(sqs, url)["Body"])
    assert success["requestContext"]["condition"] == "Success"
    assert success["responsePayload"] == {"n": 6}

    invoke_event(lam, "routed", {"n": 0})
    (line,) = wait_for_logged(logs, "recorder", "echo")
    record = json.loads(line[len("echo "):])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"n": 0}
    assert record["responsePayload"]["errorMessage"] == "boom 0"


def test_event_age_exceeded_while_throttled(nimbus, clock):
    lam, sqs = nimbus.client("lambda"), nimbus.client("sqs")
    arn = make_function(lam, "blocked", SUCCEEDING)
    lam.put_function_concurrency(FunctionName="blocked", ReservedConcurrentExecutions=0)
    url, queue = make_queue(sqs, "too-old")
    lam.put_function_event_invoke_config(FunctionName="blocked", MaximumEventAgeInSeconds=60,
                                         DestinationConfig={"OnFailure": {"Destination": queue}})
    invoke_event(lam, "blocked", {"n": 7})
    time.sleep(1.0)  # the first attempt is throttled and waits for its backoff
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    clock.advance(61)
    record = json.loads(receive_one(sqs, url, timeout=15)["Body"])
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["functionArn"] == f"{arn}:$LATEST"
    assert record["requestContext"]["approximateInvokeCount"] >= 1
    assert record["requestPayload"] == {"n": 7}
    assert "responseContext" not in record
    metrics = nimbus.metrics()
    assert re.search(r'nimbus_lambda_throttles_total\{[^}]*function="blocked"[^}]*\} [1-9]', metrics), metrics


def test_events_through_an_alias_use_the_alias_settings(fast):
    lam, sqs = fast.client("lambda"), fast.client("sqs")
    arn = make_function(lam, "aliased", FAILING)
    version = lam.publish_version(FunctionName="aliased")["Version"]
    lam.create_alias(FunctionName="aliased", Name="live", FunctionVersion=version)
    url, queue = make_queue(sqs, "alias-failures")
    lam.put_function_event_invoke_config(FunctionName="aliased", Qualifier="live", MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": queue}})
    invoke_event(lam, "aliased:live", {"n": 10})
    record = json.loads(receive_one(sqs, url)["Body"])
    assert record["requestContext"]["functionArn"] == f"{arn}:live"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"]["executedVersion"] == version
