"""SQS → Lambda through an event source mapping: the record format, batches, failures that
return to the queue and reach its dead-letter queue, partial batch responses, filters, FIFO
order, and enabling or disabling the mapping.
https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
"""

from __future__ import annotations

import base64
import json
import time

from esm_helpers import batches, bodies_seen, queue_arn, recorder, wait_state
from lambda_helpers import _lambda_session_client, lam  # noqa: F401
from nimbus_harness import md5_hex, wait_for


def counts(sqs, url: str) -> tuple[int, int]:
    """(visible, in flight)."""
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def mapped(lam, sqs, url: str, function: str = "worker", **extra) -> str:
    uuid = lam.create_event_source_mapping(
        EventSourceArn=queue_arn(sqs, url), FunctionName=function, **extra
    )["UUID"]
    wait_state(lam, uuid, "Disabled" if extra.get("Enabled") is False else "Enabled")
    return uuid


def test_records_arrive_in_the_sqs_event_format(nimbus, lam, sqs, queue):
    recorder(lam)
    logs = nimbus.client("logs")
    mapped(lam, sqs, queue)
    sent = sqs.send_message(
        QueueUrl=queue,
        MessageBody='{"order": 42}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "order"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
            "count": {"DataType": "Number", "StringValue": "7"},
        },
        MessageSystemAttributes={
            "AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793"}
        },
    )
    (batch,) = wait_for(lambda: batches(logs, "worker"), what="the batch")
    (record,) = batch
    assert record["messageId"] == sent["MessageId"]
    assert record["body"] == '{"order": 42}'
    assert record["md5OfBody"] == md5_hex('{"order": 42}')
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue_arn(sqs, queue)
    assert record["awsRegion"] == "us-east-1"
    assert record["receiptHandle"]
    attributes = record["attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"
    assert attributes["AWSTraceHeader"] == "Root=1-5759e988-bd862e3fe1be46a994272793"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(attributes)
    assert not {"MessageGroupId", "SequenceNumber", "MessageDeduplicationId"} & set(attributes)
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "order", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "count": {"stringValue": "7", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
        "blob": {"binaryValue": base64.b64encode(b"\x00\x01").decode(), "stringListValues": [],
                 "binaryListValues": [], "dataType": "Binary"},
    }
    # Processed messages are deleted.
    wait_for(lambda: counts(sqs, queue) == (0, 0), what="the queue to empty")


def test_fifo_records_carry_group_sequence_and_deduplication(nimbus, lam, sqs, fifo):
    recorder(lam)
    logs = nimbus.client("logs")
    mapped(lam, sqs, fifo)
    sent = sqs.send_message(QueueUrl=fifo, MessageBody="first", MessageGroupId="g1",
                            MessageDeduplicationId="d1")
    (batch,) = wait_for(lambda: batches(logs, "worker"), what="the batch")
    attributes = batch[0]["attributes"]
    assert attributes["MessageGroupId"] == "g1"
    assert attributes["MessageDeduplicationId"] == "d1"
    assert attributes["SequenceNumber"] == sent["SequenceNumber"]
    assert batch[0]["messageAttributes"] == {}
    assert "md5OfMessageAttributes" not in batch[0]


def test_messages_sent_before_enabling_arrive_in_batches(nimbus, lam, sqs, queue):
    recorder(lam)
    logs = nimbus.client("logs")
    uuid = mapped(lam, sqs, queue, BatchSize=4, Enabled=False)
    for i in range(10):
        sqs.send_message(QueueUrl=queue, MessageBody=f"m{i}")
    time.sleep(0.3)
    assert batches(logs, "worker") == []
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    wait_for(lambda: len(bodies_seen(logs, "worker")) == 10, what="all ten messages")
    sizes = [len(b) for b in batches(logs, "worker")]
    assert max(sizes) <= 4
    assert sorted(bodies_seen(logs, "worker")) == sorted(f"m{i}" for i in range(10))
    wait_for(lambda: counts(sqs, queue) == (0, 0), what="the queue to empty")


def test_disabling_stops_consumption_and_enabling_resumes(nimbus, lam, sqs, queue):
    recorder(lam)
    logs = nimbus.client("logs")
    uuid = mapped(lam, sqs, queue)
    sqs.send_message(QueueUrl=queue, MessageBody="before")
    wait_for(lambda: bodies_seen(logs, "worker") == ["before"], what="the first message")
    lam.update_event_source_mapping(UUID=uuid, Enabled=False)
    wait_state(lam, uuid, "Disabled")
    sqs.send_message(QueueUrl=queue, MessageBody="while disabled")
    time.sleep(0.5)
    assert bodies_seen(logs, "worker") == ["before"]
    assert counts(sqs, queue) == (1, 0)
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    wait_for(lambda: bodies_seen(logs, "worker") == ["before", "while disabled"], what="the second")


def test_a_failing_function_leaves_messages_until_the_dead_letter_queue(nimbus, lam, sqs, clock):
    recorder(lam, mode="raise")
    logs = nimbus.client("logs")
    dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": queue_arn(sqs, dlq), "maxReceiveCount": 2})
    url = sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "30",
                                                           "RedrivePolicy": policy})["QueueUrl"]
    mapped(lam, sqs, url)
    sqs.send_message(QueueUrl=url, MessageBody="doomed")
    wait_for(lambda: len(batches(logs, "worker")) == 1, what="the first attempt")
    assert counts(sqs, url) == (0, 1)  # nothing deleted: in flight until the timeout
    clock.advance(31)
    seen = wait_for(lambda: batches(logs, "worker") if len(batches(logs, "worker")) == 2 else None,
                    what="the retry")
    assert [b[0]["attributes"]["ApproximateReceiveCount"] for b in seen] == ["1", "2"]
    clock.advance(31)
    # The third receive finds the message over maxReceiveCount and moves it.
    moved = wait_for(lambda: sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages"),
                     what="the message in the dead-letter queue")
    assert moved[0]["Body"] == "doomed"
    assert len(batches(logs, "worker")) == 2
    assert counts(sqs, url) == (0, 0)


def test_partial_batch_response_returns_only_the_failed_messages(nimbus, lam, sqs, queue, clock):
    recorder(lam, mode="partial")
    logs = nimbus.client("logs")
    uuid = mapped(lam, sqs, queue, Enabled=False, FunctionResponseTypes=["ReportBatchItemFailures"])
    for body in ["ok-1", "fail-2", "ok-3"]:
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    wait_for(lambda: len(bodies_seen(logs, "worker")) == 3, what="the batch")
    wait_for(lambda: counts(sqs, queue) == (0, 1), what="only the failed message in flight")
    clock.advance(31)
    wait_for(lambda: bodies_seen(logs, "worker").count("fail-2") == 2, what="the failed message again")
    assert bodies_seen(logs, "worker").count("ok-1") == 1


def test_without_report_batch_item_failures_the_response_is_ignored(nimbus, lam, sqs, queue):
    recorder(lam, mode="partial")
    logs = nimbus.client("logs")
    mapped(lam, sqs, queue)
    sqs.send_message(QueueUrl=queue, MessageBody="fail-but-ignored")
    wait_for(lambda: bodies_seen(logs, "worker"), what="the batch")
    wait_for(lambda: counts(sqs, queue) == (0, 0), what="the message deleted")


def test_malformed_partial_responses_fail_the_whole_batch(nimbus, lam, sqs):
    logs = nimbus.client("logs")
    for mode in ["not-a-response", "unknown-id", "empty-id"]:
        function = f"worker-{mode}"
        recorder(lam, function, mode=mode)
        url = sqs.create_queue(QueueName=f"q-{mode}")["QueueUrl"]
        uuid = mapped(lam, sqs, url, function=function, Enabled=False,
                      FunctionResponseTypes=["ReportBatchItemFailures"])
        for body in ["a", "b"]:
            sqs.send_message(QueueUrl=url, MessageBody=body)
        lam.update_event_source_mapping(UUID=uuid, Enabled=True)
        wait_for(lambda: len(bodies_seen(logs, function)) == 2, what=f"the batch of {mode}")
        time.sleep(0.3)
        assert counts(sqs, url) == (0, 2), mode


def test_filtered_out_messages_are_deleted_unseen(nimbus, lam, sqs, queue):
    recorder(lam)
    logs = nimbus.client("logs")
    pattern = json.dumps({"body": {"kind": ["keep"]}})
    mapped(lam, sqs, queue, FilterCriteria={"Filters": [{"Pattern": pattern}]})
    for body in ['{"kind": "drop", "n": 1}', "plain text", '{"kind": "keep", "n": 2}']:
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    wait_for(lambda: bodies_seen(logs, "worker"), what="the kept message")
    wait_for(lambda: counts(sqs, queue) == (0, 0), what="every message gone")
    assert bodies_seen(logs, "worker") == ['{"kind": "keep", "n": 2}']


def test_fifo_order_is_kept_per_group(nimbus, lam, sqs, fifo):
    recorder(lam)
    logs = nimbus.client("logs")
    uuid = mapped(lam, sqs, fifo, BatchSize=3, Enabled=False)
    for i in range(12):
        for group in ["a", "b"]:
            sqs.send_message(QueueUrl=fifo, MessageBody=f"{group}{i}", MessageGroupId=group,
                             MessageDeduplicationId=f"{group}{i}")
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    wait_for(lambda: len(bodies_seen(logs, "worker")) == 24, what="all messages")
    seen = bodies_seen(logs, "worker")
    for group in ["a", "b"]:
        assert [b for b in seen if b[0] == group] == [f"{group}{i}" for i in range(12)]


def test_a_fifo_failure_holds_back_the_rest_of_its_group(nimbus, lam, sqs, fifo, clock):
    recorder(lam, mode="partial")
    logs = nimbus.client("logs")
    uuid = mapped(lam, sqs, fifo, Enabled=False, FunctionResponseTypes=["ReportBatchItemFailures"])
    for body in ["g-1", "g-fail-2", "g-3"]:
        sqs.send_message(QueueUrl=fifo, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=body)
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    wait_for(lambda: len(bodies_seen(logs, "worker")) == 3, what="the batch")
    # g-1 is done; g-fail-2 failed, and g-3 after it must not be processed out of order.
    wait_for(lambda: counts(sqs, fifo) == (0, 2), what="two messages held back")
    clock.advance(31)
    wait_for(lambda: len(bodies_seen(logs, "worker")) == 5, what="the retry")
    assert bodies_seen(logs, "worker")[3:] == ["g-fail-2", "g-3"]


def test_a_mapping_on_an_alias_runs_the_aliased_version(nimbus, lam, sqs, queue):
    recorder(lam)
    lam.publish_version(FunctionName="worker")
    lam.create_alias(FunctionName="worker", Name="live", FunctionVersion="1")
    # $LATEST now fails every batch; the alias still names version 1, which succeeds.
    lam.update_function_configuration(FunctionName="worker", Environment={"Variables": {"MODE": "raise"}})
    wait_for(
        lambda: lam.get_function_configuration(FunctionName="worker")["LastUpdateStatus"] == "Successful",
        what="the update",
    )
    uuid = mapped(lam, sqs, queue, function="worker:live")
    assert lam.get_event_source_mapping(UUID=uuid)["FunctionArn"].endswith(":function:worker:live")
    sqs.send_message(QueueUrl=queue, MessageBody="through the alias")
    wait_for(lambda: counts(sqs, queue) == (0, 0), what="the queue to empty")
    logs = nimbus.client("logs")
    streams = logs.describe_log_streams(logGroupName="/aws/lambda/worker")["logStreams"]
    assert streams and all("[1]" in s["logStreamName"] for s in streams), streams


def test_a_mapping_on_a_missing_alias_is_refused(lam, sqs, queue):
    recorder(lam)
    try:
        lam.create_event_source_mapping(EventSourceArn=queue_arn(sqs, queue), FunctionName="worker:nope")
    except lam.exceptions.ResourceNotFoundException:
        return
    raise AssertionError("a mapping on a missing alias was created")
