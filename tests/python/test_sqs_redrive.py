"""Dead-letter queues, RedriveAllowPolicy, ListDeadLetterSourceQueues and message move tasks.

https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html
"""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from sqs_helpers import attrs, counts, drain, expect_error, receive, receive_one


def arn_of(sqs, url):
    return attrs(sqs, url, "QueueArn")["QueueArn"]


def make_pair(sqs, max_receive=2, source="src", dlq="dlq"):
    dlq_url = sqs.create_queue(QueueName=dlq)["QueueUrl"]
    policy = {"deadLetterTargetArn": arn_of(sqs, dlq_url), "maxReceiveCount": max_receive}
    src_url = sqs.create_queue(
        QueueName=source, Attributes={"RedrivePolicy": json.dumps(policy), "VisibilityTimeout": "10"}
    )["QueueUrl"]
    return src_url, dlq_url


def test_redrive_policy_round_trip(sqs):
    src, dlq = make_pair(sqs, max_receive=3)
    policy = json.loads(attrs(sqs, src)["RedrivePolicy"])
    assert policy["deadLetterTargetArn"] == arn_of(sqs, dlq)
    assert int(policy["maxReceiveCount"]) == 3
    # A numeric string is accepted as well.
    sqs.set_queue_attributes(
        QueueUrl=src,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": "5"})},
    )
    assert int(json.loads(attrs(sqs, src)["RedrivePolicy"])["maxReceiveCount"]) == 5
    # An empty value removes it.
    sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": ""})
    assert "RedrivePolicy" not in attrs(sqs, src)


def test_message_moves_to_dlq_after_max_receive_count(sqs, clock):
    src, dlq = make_pair(sqs, max_receive=2)
    user_attrs = {"kind": {"DataType": "String", "StringValue": "poison"}}
    sent_at = clock.now_ms()
    sent = sqs.send_message(QueueUrl=src, MessageBody="poison", MessageAttributes=user_attrs)
    for n in (1, 2):
        m = receive_one(sqs, src, MessageSystemAttributeNames=["ApproximateReceiveCount"])
        assert m["Attributes"]["ApproximateReceiveCount"] == str(n)
        clock.advance(11)
    # The third receive finds the message over its limit: it goes to the DLQ instead.
    assert receive(sqs, src) == []
    assert counts(sqs, src) == (0, 0, 0)
    moved = receive_one(sqs, dlq, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"])
    assert moved["Body"] == "poison"
    assert moved["MessageId"] == sent["MessageId"]
    assert moved["MessageAttributes"] == user_attrs
    assert moved["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    # "For standard queues ... when a message is moved to a dead-letter queue, the enqueue
    # timestamp is unchanged." (dead-letter queue guide above)
    assert abs(int(moved["Attributes"]["SentTimestamp"]) - sent_at) < 1000
    assert moved["Attributes"]["DeadLetterQueueSourceArn"] == arn_of(sqs, src)


def test_deleted_messages_never_reach_dlq(sqs, clock):
    src, dlq = make_pair(sqs, max_receive=1)
    sqs.send_message(QueueUrl=src, MessageBody="fine")
    m = receive_one(sqs, src)
    sqs.delete_message(QueueUrl=src, ReceiptHandle=m["ReceiptHandle"])
    clock.advance(60)
    assert receive(sqs, src) == []
    assert receive(sqs, dlq) == []


def test_fifo_dead_letter_queue(sqs, clock):
    dlq = sqs.create_queue(QueueName="dead.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    src = sqs.create_queue(
        QueueName="live.fifo",
        Attributes={
            "FifoQueue": "true",
            "VisibilityTimeout": "5",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 1}),
        },
    )["QueueUrl"]
    sqs.send_message(QueueUrl=src, MessageBody="f1", MessageGroupId="g", MessageDeduplicationId="1")
    sqs.send_message(QueueUrl=src, MessageBody="f2", MessageGroupId="g", MessageDeduplicationId="2")
    assert [m["Body"] for m in receive(sqs, src, 1)] == ["f1"]
    clock.advance(6)
    # f1 exceeded its receive count and moves to the DLQ; f2 is next in its group.
    got = receive(sqs, src, 1) or receive(sqs, src, 1)
    assert [m["Body"] for m in got] == ["f2"]
    moved = receive_one(sqs, dlq, MessageSystemAttributeNames=["MessageGroupId"])
    assert moved["Body"] == "f1"
    assert moved["Attributes"]["MessageGroupId"] == "g"


def test_redrive_to_missing_queue_is_rejected(sqs):
    policy = {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:nope", "maxReceiveCount": 2}
    with pytest.raises(ClientError) as info:
        sqs.create_queue(QueueName="src", Attributes={"RedrivePolicy": json.dumps(policy)})
    assert info.value.response["Error"]["Code"] in ("InvalidParameterValue", "InvalidAttributeValue")
    assert sqs.list_queues().get("QueueUrls", []) == []


def test_list_dead_letter_source_queues(sqs):
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 3})
    sources = [sqs.create_queue(QueueName=f"s{i}", Attributes={"RedrivePolicy": policy})["QueueUrl"] for i in range(3)]
    sqs.create_queue(QueueName="unrelated")
    got = sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"]
    assert sorted(got) == sorted(sources)
    page = sqs.list_dead_letter_source_queues(QueueUrl=dlq, MaxResults=2)
    assert len(page["queueUrls"]) == 2 and page.get("NextToken")
    rest = sqs.list_dead_letter_source_queues(QueueUrl=dlq, MaxResults=2, NextToken=page["NextToken"])
    assert sorted(page["queueUrls"] + rest["queueUrls"]) == sorted(sources)
    assert sqs.list_dead_letter_source_queues(QueueUrl=sources[0]).get("queueUrls", []) == []


def test_redrive_allow_policy_round_trip(sqs):
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    src = sqs.create_queue(QueueName="src")["QueueUrl"]
    for policy in [
        {"redrivePermission": "allowAll"},
        {"redrivePermission": "denyAll"},
        {"redrivePermission": "byQueue", "sourceQueueArns": [arn_of(sqs, src)]},
    ]:
        sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps(policy)})
        assert json.loads(attrs(sqs, dlq)["RedriveAllowPolicy"]) == policy


def test_redrive_allow_policy_invalid(sqs):
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    expect_error(
        sqs.set_queue_attributes,
        "InvalidAttributeValue",
        QueueUrl=dlq,
        Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "sometimes"})},
    )


# ---- message move tasks ----------------------------------------------------------------------------


def fill_dlq(sqs, clock, n, max_receive=1):
    src, dlq = make_pair(sqs, max_receive=max_receive)
    for i in range(n):
        sqs.send_message(QueueUrl=src, MessageBody=f"r{i}")
    drain(sqs, src, visibility=10)
    clock.advance(11)
    assert receive(sqs, src) == []
    assert counts(sqs, dlq)[0] == n
    return src, dlq


def wait_for_task(sqs, clock, source_arn, statuses=("COMPLETED",), timeout=30.0):
    """Polls ListMessageMoveTasks, nudging the clock so clock-paced tasks make progress too."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        results = sqs.list_message_move_tasks(SourceArn=source_arn)["Results"]
        if results and results[0]["Status"] in statuses:
            return results[0]
        clock.advance(1)
        time.sleep(0.05)
    raise AssertionError(f"move task never reached {statuses}: {results}")


def test_move_task_redrives_to_original_sources(sqs, clock):
    src, dlq = fill_dlq(sqs, clock, 5)
    dlq_arn = arn_of(sqs, dlq)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert handle
    done = wait_for_task(sqs, clock, dlq_arn)
    assert done["SourceArn"] == dlq_arn
    assert done["ApproximateNumberOfMessagesMoved"] == 5
    assert "DestinationArn" not in done or done["DestinationArn"] is None
    assert counts(sqs, dlq) == (0, 0, 0)
    assert sorted(m["Body"] for m in drain(sqs, src)) == [f"r{i}" for i in range(5)]


def test_move_task_to_explicit_destination_with_rate(sqs, clock):
    src, dlq = fill_dlq(sqs, clock, 4)
    dest = sqs.create_queue(QueueName="elsewhere")["QueueUrl"]
    dlq_arn, dest_arn = arn_of(sqs, dlq), arn_of(sqs, dest)
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=dest_arn, MaxNumberOfMessagesPerSecond=2)
    done = wait_for_task(sqs, clock, dlq_arn)
    assert done["DestinationArn"] == dest_arn
    assert done["MaxNumberOfMessagesPerSecond"] == 2
    assert done["ApproximateNumberOfMessagesMoved"] == 4
    assert sorted(m["Body"] for m in drain(sqs, dest)) == [f"r{i}" for i in range(4)]
    assert receive(sqs, src) == []


def test_cancel_message_move_task(sqs, clock):
    _, dlq = fill_dlq(sqs, clock, 30)
    dlq_arn = arn_of(sqs, dlq)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    running = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
    assert running["Status"] == "RUNNING"
    assert running["TaskHandle"] == handle
    cancelled = sqs.cancel_message_move_task(TaskHandle=handle)
    assert 0 <= cancelled["ApproximateNumberOfMessagesMoved"] < 30
    final = wait_for_task(sqs, clock, dlq_arn, statuses=("CANCELLED",))
    assert final["ApproximateNumberOfMessagesMoved"] < 30
    # What was not moved is still in the DLQ.
    assert counts(sqs, dlq)[0] + final["ApproximateNumberOfMessagesMoved"] == 30


def test_only_one_running_task_per_source(sqs, clock):
    _, dlq = fill_dlq(sqs, clock, 20)
    dlq_arn = arn_of(sqs, dlq)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    try:
        with_error = False
        try:
            sqs.start_message_move_task(SourceArn=dlq_arn)
        except ClientError:
            with_error = True
        assert with_error, "a second running move task on the same source was accepted"
    finally:
        sqs.cancel_message_move_task(TaskHandle=handle)


def test_move_task_requires_a_dead_letter_queue(sqs):
    plain = sqs.create_queue(QueueName="plain")["QueueUrl"]
    with_error = False
    try:
        sqs.start_message_move_task(SourceArn=arn_of(sqs, plain))
    except ClientError as err:
        with_error = err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert with_error


def test_move_task_on_unknown_source(sqs):
    with pytest.raises(sqs.exceptions.ResourceNotFoundException):
        sqs.start_message_move_task(SourceArn="arn:aws:sqs:us-east-1:000000000000:missing")
