"""SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch and PurgeQueue.

Batch limits: ≤ 10 entries, ids ≤ 80 chars of [A-Za-z0-9_-], distinct within a request, the
whole batch ≤ MaximumMessageSize.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from nimbus_harness import md5_hex, md5_of_attributes
from sqs_helpers import counts, expect_error, receive

ONE_MIB = 1024 * 1024


def test_send_message_batch(sqs, queue):
    attr = {"k": {"DataType": "String", "StringValue": "v"}}
    entries = [
        {"Id": "first", "MessageBody": "one"},
        {"Id": "second-2", "MessageBody": "two", "MessageAttributes": attr},
        {"Id": "Third_3", "MessageBody": "three", "DelaySeconds": 30},
    ]
    resp = sqs.send_message_batch(QueueUrl=queue, Entries=entries)
    assert resp.get("Failed", []) == []
    ok = {e["Id"]: e for e in resp["Successful"]}
    assert set(ok) == {"first", "second-2", "Third_3"}
    assert ok["first"]["MD5OfMessageBody"] == md5_hex("one")
    assert ok["second-2"]["MD5OfMessageAttributes"] == md5_of_attributes(attr)
    assert "MD5OfMessageAttributes" not in ok["first"]
    assert len({e["MessageId"] for e in ok.values()}) == 3
    assert counts(sqs, queue) == (2, 0, 1)
    got = receive(sqs, queue, MessageAttributeNames=["All"])
    by_body = {m["Body"]: m for m in got}
    assert set(by_body) == {"one", "two"}
    assert by_body["two"]["MessageAttributes"] == attr
    assert by_body["one"]["MessageId"] == ok["first"]["MessageId"]


def test_batch_of_ten_is_the_maximum(sqs, queue):
    entries = [{"Id": f"e{i}", "MessageBody": f"b{i}"} for i in range(10)]
    assert len(sqs.send_message_batch(QueueUrl=queue, Entries=entries)["Successful"]) == 10
    expect_error(
        sqs.send_message_batch,
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        exc_name="TooManyEntriesInBatchRequest",
        QueueUrl=queue,
        Entries=entries + [{"Id": "e10", "MessageBody": "b10"}],
    )
    assert counts(sqs, queue) == (10, 0, 0)


def test_empty_batches(sqs, queue):
    for call, kwargs in [
        (sqs.send_message_batch, {}),
        (sqs.delete_message_batch, {}),
        (sqs.change_message_visibility_batch, {}),
    ]:
        expect_error(
            call,
            "AWS.SimpleQueueService.EmptyBatchRequest",
            exc_name="EmptyBatchRequest",
            QueueUrl=queue,
            Entries=[],
            **kwargs,
        )


def test_batch_entry_ids_not_distinct(sqs, queue):
    expect_error(
        sqs.send_message_batch,
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        exc_name="BatchEntryIdsNotDistinct",
        QueueUrl=queue,
        Entries=[{"Id": "same", "MessageBody": "a"}, {"Id": "same", "MessageBody": "b"}],
    )
    assert counts(sqs, queue) == (0, 0, 0)
    sqs.send_message(QueueUrl=queue, MessageBody="m")
    handle = receive(sqs, queue)[0]["ReceiptHandle"]
    expect_error(
        sqs.delete_message_batch,
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        exc_name="BatchEntryIdsNotDistinct",
        QueueUrl=queue,
        Entries=[{"Id": "d", "ReceiptHandle": handle}, {"Id": "d", "ReceiptHandle": handle}],
    )
    assert counts(sqs, queue) == (0, 1, 0)


@pytest.mark.parametrize("bad_id", ["has space", "dot.id", "bang!", "x" * 81, ""])
def test_invalid_batch_entry_id(sqs, queue, bad_id):
    expect_error(
        sqs.send_message_batch,
        "AWS.SimpleQueueService.InvalidBatchEntryId",
        exc_name="InvalidBatchEntryId",
        QueueUrl=queue,
        Entries=[{"Id": "ok", "MessageBody": "a"}, {"Id": bad_id, "MessageBody": "b"}],
    )
    assert counts(sqs, queue) == (0, 0, 0)


def test_longest_batch_entry_id(sqs, queue):
    entry_id = "a-Z_9" * 16
    assert len(entry_id) == 80
    resp = sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": entry_id, "MessageBody": "a"}])
    assert resp["Successful"][0]["Id"] == entry_id


def test_batch_request_too_long(sqs, queue):
    half = "z" * (ONE_MIB // 2 + 10)
    expect_error(
        sqs.send_message_batch,
        "AWS.SimpleQueueService.BatchRequestTooLong",
        exc_name="BatchRequestTooLong",
        QueueUrl=queue,
        Entries=[{"Id": "a", "MessageBody": half}, {"Id": "b", "MessageBody": half}],
    )
    assert counts(sqs, queue) == (0, 0, 0)


def test_delete_message_batch_with_partial_failure(sqs, queue):
    for i in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody=f"m{i}")
    msgs = receive(sqs, queue)
    assert len(msgs) == 3
    entries = [{"Id": f"ok{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs[:2])]
    entries.append({"Id": "bad", "ReceiptHandle": "not-a-handle"})
    resp = sqs.delete_message_batch(QueueUrl=queue, Entries=entries)
    assert sorted(e["Id"] for e in resp["Successful"]) == ["ok0", "ok1"]
    assert len(resp["Failed"]) == 1
    failed = resp["Failed"][0]
    assert failed["Id"] == "bad"
    assert failed["Code"] == "ReceiptHandleIsInvalid"
    assert failed["SenderFault"] is True
    assert counts(sqs, queue) == (0, 1, 0)


def test_change_message_visibility_batch(sqs, queue, clock):
    for i in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody=f"m{i}")
    msgs = receive(sqs, queue, VisibilityTimeout=600)
    by_body = {m["Body"]: m for m in msgs}
    resp = sqs.change_message_visibility_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": "now", "ReceiptHandle": by_body["m0"]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "soon", "ReceiptHandle": by_body["m1"]["ReceiptHandle"], "VisibilityTimeout": 20},
            {"Id": "bad", "ReceiptHandle": "nope", "VisibilityTimeout": 0},
        ],
    )
    assert sorted(e["Id"] for e in resp["Successful"]) == ["now", "soon"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in resp["Failed"]] == [
        ("bad", "ReceiptHandleIsInvalid", True)
    ]
    assert [m["Body"] for m in receive(sqs, queue, VisibilityTimeout=600)] == ["m0"]
    clock.advance(21)
    assert [m["Body"] for m in receive(sqs, queue, VisibilityTimeout=600)] == ["m1"]


def test_batch_entries_validated_per_entry(sqs, queue):
    # A bad DelaySeconds in one entry fails that entry or the whole request, never silently.
    try:
        resp = sqs.send_message_batch(
            QueueUrl=queue,
            Entries=[
                {"Id": "good", "MessageBody": "g"},
                {"Id": "late", "MessageBody": "l", "DelaySeconds": 901},
            ],
        )
    except ClientError as err:
        assert err.response["Error"]["Code"] == "InvalidParameterValue"
        assert counts(sqs, queue) == (0, 0, 0)
        return
    assert [e["Id"] for e in resp["Successful"]] == ["good"]
    assert [(f["Id"], f["SenderFault"]) for f in resp["Failed"]] == [("late", True)]
    assert counts(sqs, queue) == (1, 0, 0)


# ---- purge ------------------------------------------------------------------------------------------


def test_purge_queue_and_sixty_second_rule(sqs, queue, clock):
    # "The message deletion process takes up to 60 seconds ... If you call PurgeQueue again
    # within 60 seconds, the request fails with PurgeQueueInProgress."
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_PurgeQueue.html
    for i in range(5):
        sqs.send_message(QueueUrl=queue, MessageBody=f"p{i}")
    receive(sqs, queue, 2, VisibilityTimeout=600)
    sqs.purge_queue(QueueUrl=queue)
    expect_error(
        sqs.purge_queue,
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        status=403,
        exc_name="PurgeQueueInProgress",
        QueueUrl=queue,
    )
    clock.advance(30)
    expect_error(
        sqs.purge_queue,
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        status=403,
        exc_name="PurgeQueueInProgress",
        QueueUrl=queue,
    )
    clock.advance(31)
    assert counts(sqs, queue) == (0, 0, 0)
    assert receive(sqs, queue) == []
    sqs.send_message(QueueUrl=queue, MessageBody="after")
    assert [m["Body"] for m in receive(sqs, queue, VisibilityTimeout=0)] == ["after"]
    sqs.purge_queue(QueueUrl=queue)


def test_purge_of_one_queue_does_not_touch_another(sqs, queue):
    other = sqs.create_queue(QueueName="keep")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="x")
    sqs.send_message(QueueUrl=other, MessageBody="y")
    sqs.purge_queue(QueueUrl=queue)
    assert counts(sqs, other) == (1, 0, 0)
