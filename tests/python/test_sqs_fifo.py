"""FIFO queues: ordering per group, group locking, deduplication, sequence numbers.

https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues.html
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-key-terms.html
"""

from __future__ import annotations

import pytest

from sqs_helpers import attrs, counts, expect_error, receive, receive_one

DEDUP_WINDOW_S = 5 * 60


def send(sqs, url, body, group="g", dedup=None, **kwargs):
    return sqs.send_message(
        QueueUrl=url,
        MessageBody=body,
        MessageGroupId=group,
        MessageDeduplicationId=dedup or body,
        **kwargs,
    )


def bodies(msgs):
    return [m["Body"] for m in msgs]


def test_order_within_a_group_and_sequence_numbers(sqs, fifo):
    seqs = []
    for i in range(8):
        resp = send(sqs, fifo, f"m{i}")
        assert resp["SequenceNumber"].isdigit()
        seqs.append(int(resp["SequenceNumber"]))
    assert seqs == sorted(seqs) and len(set(seqs)) == 8

    got = []
    for _ in range(8):
        batch = receive(sqs, fifo, 3, MessageSystemAttributeNames=["All"])
        if not batch:
            break
        got += batch
        for m in batch:
            sqs.delete_message(QueueUrl=fifo, ReceiptHandle=m["ReceiptHandle"])
    assert bodies(got) == [f"m{i}" for i in range(8)]
    assert [int(m["Attributes"]["SequenceNumber"]) for m in got] == seqs
    assert {m["Attributes"]["MessageGroupId"] for m in got} == {"g"}
    assert got[0]["Attributes"]["MessageDeduplicationId"] == "m0"


def test_group_is_blocked_while_a_message_is_in_flight(sqs, fifo, clock):
    send(sqs, fifo, "a1", group="A")
    send(sqs, fifo, "a2", group="A")
    send(sqs, fifo, "b1", group="B")
    first = receive_one(sqs, fifo)
    assert first["Body"] == "a1"
    # a2 must wait for a1; the other group is free.
    assert bodies(receive(sqs, fifo, 10)) == ["b1"]
    assert receive(sqs, fifo, 10) == []
    # When a1's visibility expires, a1 (not a2) comes back first.
    clock.advance(31)
    again = receive(sqs, fifo, 1)
    assert bodies(again) == ["a1"]
    sqs.delete_message(QueueUrl=fifo, ReceiptHandle=again[0]["ReceiptHandle"])
    # b1's visibility expired with the same clock move, so it is receivable again too.
    assert bodies(receive(sqs, fifo, 10)) == ["a2", "b1"]


def test_one_receive_may_return_several_messages_of_a_group_in_order(sqs, fifo):
    for i in range(4):
        send(sqs, fifo, f"x{i}", group="X")
    got = receive(sqs, fifo, 10)
    assert bodies(got) == ["x0", "x1", "x2", "x3"]
    assert receive(sqs, fifo, 10) == []


def test_deduplication_by_id_within_five_minutes(sqs, fifo, clock):
    first = send(sqs, fifo, "one", dedup="d-1")
    second = send(sqs, fifo, "one again", dedup="d-1")  # accepted, not delivered
    assert second["MessageId"]
    assert counts(sqs, fifo) == (1, 0, 0)
    msg = receive_one(sqs, fifo)
    assert msg["Body"] == "one"
    assert msg["MessageId"] == first["MessageId"]
    # Tracking continues after the message is deleted.
    sqs.delete_message(QueueUrl=fifo, ReceiptHandle=msg["ReceiptHandle"])
    clock.advance(DEDUP_WINDOW_S - 10)
    send(sqs, fifo, "one more", dedup="d-1")
    assert counts(sqs, fifo) == (0, 0, 0)
    # After the interval the same id is a new message.
    clock.advance(11)
    send(sqs, fifo, "fresh", dedup="d-1")
    assert bodies(receive(sqs, fifo)) == ["fresh"]


def test_content_based_deduplication(sqs, clock):
    url = sqs.create_queue(
        QueueName="cbd.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    assert attrs(sqs, url)["ContentBasedDeduplication"] == "true"
    for body in ["same", "same", "other"]:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    # Attributes do not take part in the content hash.
    sqs.send_message(
        QueueUrl=url,
        MessageBody="same",
        MessageGroupId="g",
        MessageAttributes={"a": {"DataType": "String", "StringValue": "1"}},
    )
    # An explicit id overrides the generated one.
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g", MessageDeduplicationId="explicit")
    assert bodies(receive(sqs, url, 10)) == ["same", "other", "same"]
    clock.advance(DEDUP_WINDOW_S + 1)
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    assert counts(sqs, url)[0] + counts(sqs, url)[1] == 4


def test_deduplication_id_required_without_content_based(sqs, fifo):
    expect_error(
        sqs.send_message, "InvalidParameterValue", QueueUrl=fifo, MessageBody="x", MessageGroupId="g"
    )
    assert counts(sqs, fifo) == (0, 0, 0)


def test_message_group_id_required(sqs, fifo):
    # "MessageGroupId is required for FIFO queues."
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    expect_error(
        sqs.send_message, "MissingParameter", QueueUrl=fifo, MessageBody="x", MessageDeduplicationId="d"
    )
    assert counts(sqs, fifo) == (0, 0, 0)


def test_per_message_delay_not_allowed_on_fifo(sqs, fifo):
    # "When you set FifoQueue, you can't set DelaySeconds per message."
    expect_error(
        sqs.send_message,
        "InvalidParameterValue",
        QueueUrl=fifo,
        MessageBody="x",
        MessageGroupId="g",
        MessageDeduplicationId="d",
        DelaySeconds=5,
    )


def test_queue_delay_applies_to_fifo(sqs, clock):
    url = sqs.create_queue(QueueName="d.fifo", Attributes={"FifoQueue": "true", "DelaySeconds": "10"})[
        "QueueUrl"
    ]
    send(sqs, url, "late")
    assert receive(sqs, url) == []
    clock.advance(11)
    assert bodies(receive(sqs, url)) == ["late"]


def test_deduplication_scope_queue_vs_message_group(sqs):
    per_queue = sqs.create_queue(QueueName="sq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    per_group = sqs.create_queue(
        QueueName="sg.fifo",
        Attributes={
            "FifoQueue": "true",
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        },
    )["QueueUrl"]
    got = attrs(sqs, per_group)
    assert (got["DeduplicationScope"], got["FifoThroughputLimit"]) == ("messageGroup", "perMessageGroupId")
    for url in (per_queue, per_group):
        send(sqs, url, "in A", group="A", dedup="same")
        send(sqs, url, "in B", group="B", dedup="same")
        send(sqs, url, "in A again", group="A", dedup="same")
    assert sorted(bodies(receive(sqs, per_queue, 10))) == ["in A"]
    assert sorted(bodies(receive(sqs, per_group, 10))) == ["in A", "in B"]


@pytest.mark.parametrize(
    "name,value",
    [("DeduplicationScope", "bogus"), ("FifoThroughputLimit", "bogus"), ("ContentBasedDeduplication", "maybe")],
)
def test_invalid_fifo_attribute_values(sqs, fifo, name, value):
    expect_error(
        sqs.set_queue_attributes,
        "InvalidAttributeValue",
        exc_name="InvalidAttributeValue",
        QueueUrl=fifo,
        Attributes={name: value},
    )


def test_fifo_batch_keeps_order(sqs, fifo):
    entries = [
        {"Id": f"e{i}", "MessageBody": f"b{i}", "MessageGroupId": "g", "MessageDeduplicationId": f"b{i}"}
        for i in range(5)
    ]
    resp = sqs.send_message_batch(QueueUrl=fifo, Entries=entries)
    seq = {e["Id"]: int(e["SequenceNumber"]) for e in resp["Successful"]}
    assert [seq[f"e{i}"] for i in range(5)] == sorted(seq.values())
    assert bodies(receive(sqs, fifo, 10)) == [f"b{i}" for i in range(5)]


def test_fifo_change_visibility_zero_releases_group(sqs, fifo):
    send(sqs, fifo, "h1", group="H")
    send(sqs, fifo, "h2", group="H")
    m = receive_one(sqs, fifo)
    assert receive(sqs, fifo) == []
    sqs.change_message_visibility(QueueUrl=fifo, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    assert bodies(receive(sqs, fifo, 10)) == ["h1", "h2"]


def test_receive_request_attempt_id_returns_the_same_messages(sqs, fifo, clock):
    # "During a visibility timeout, subsequent calls with the same ReceiveRequestAttemptId
    # return the same messages and receipt handles. If a retry occurs within the deduplication
    # interval, it resets the visibility timeout."
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
    for i in range(3):
        send(sqs, fifo, f"r{i}", group=f"g{i}")
    first = receive(sqs, fifo, 2, ReceiveRequestAttemptId="attempt-1", VisibilityTimeout=30)
    assert len(first) == 2
    clock.advance(20)
    again = receive(sqs, fifo, 2, ReceiveRequestAttemptId="attempt-1", VisibilityTimeout=30)
    assert [m["ReceiptHandle"] for m in again] == [m["ReceiptHandle"] for m in first]
    assert bodies(again) == bodies(first)
    # The retry restarted the timeout: 20 s after it, the messages are still hidden.
    clock.advance(20)
    assert bodies(receive(sqs, fifo, 10)) == ["r2"]
    # Another attempt id is an ordinary receive.
    clock.advance(11)
    other = receive(sqs, fifo, 10, ReceiveRequestAttemptId="attempt-2")
    assert sorted(bodies(other)) == sorted(bodies(first))
    # After five minutes the first id is forgotten.
    clock.advance(301)
    fresh = receive(sqs, fifo, 10, ReceiveRequestAttemptId="attempt-1")
    assert sorted(bodies(fresh)) == ["r0", "r1", "r2"]


def test_receive_request_attempt_id_is_validated(sqs, fifo):
    expect_error(
        sqs.receive_message,
        "InvalidParameterValue",
        QueueUrl=fifo,
        ReceiveRequestAttemptId="has space",
    )
