"""Visibility timeouts, receipt handles, long polling, delays and retention.

Every time rule is driven by the test clock (`clock.advance`); only the long-poll tests wait in
real time, and only for fractions of a second.
"""

from __future__ import annotations

import threading
import time

import pytest

from sqs_helpers import counts, expect_error, receive, receive_one


# ---- visibility ------------------------------------------------------------------------------


def test_queue_default_visibility_timeout(sqs, queue, clock):
    sqs.send_message(QueueUrl=queue, MessageBody="v")
    first = receive_one(sqs, queue)
    clock.advance(29)
    assert receive(sqs, queue) == []
    clock.advance(2)
    again = receive_one(sqs, queue, MessageSystemAttributeNames=["ApproximateReceiveCount"])
    assert again["MessageId"] == first["MessageId"]
    assert again["ReceiptHandle"] != first["ReceiptHandle"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"


def test_queue_visibility_attribute(sqs, clock):
    url = sqs.create_queue(QueueName="vis", Attributes={"VisibilityTimeout": "100"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="v")
    receive_one(sqs, url)
    clock.advance(99)
    assert receive(sqs, url) == []
    clock.advance(2)
    assert len(receive(sqs, url)) == 1


def test_visibility_per_receive(sqs, queue, clock):
    sqs.send_message(QueueUrl=queue, MessageBody="v")
    receive_one(sqs, queue, VisibilityTimeout=5)
    clock.advance(4)
    assert receive(sqs, queue) == []
    clock.advance(2)
    assert len(receive(sqs, queue)) == 1


def test_visibility_zero_on_receive_keeps_message_visible(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="v")
    a = receive_one(sqs, queue, VisibilityTimeout=0)
    b = receive_one(sqs, queue, VisibilityTimeout=0)
    assert a["MessageId"] == b["MessageId"]
    assert a["ReceiptHandle"] != b["ReceiptHandle"]


def test_change_visibility_to_zero_makes_message_visible(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="v")
    msg = receive_one(sqs, queue, VisibilityTimeout=600)
    assert receive(sqs, queue) == []
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0)
    assert counts(sqs, queue) == (1, 0, 0)
    assert receive_one(sqs, queue)["MessageId"] == msg["MessageId"]


def test_change_visibility_counts_from_the_call(sqs, queue, clock):
    # "the 10 seconds begin to count from the time that you make the ChangeMessageVisibility call"
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
    sqs.send_message(QueueUrl=queue, MessageBody="v")
    msg = receive_one(sqs, queue, VisibilityTimeout=60)
    clock.advance(15)
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=10)
    clock.advance(9)
    assert receive(sqs, queue) == []
    clock.advance(2)
    assert len(receive(sqs, queue)) == 1


def test_change_visibility_extends(sqs, queue, clock):
    sqs.send_message(QueueUrl=queue, MessageBody="v")
    msg = receive_one(sqs, queue)
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=300)
    clock.advance(299)
    assert receive(sqs, queue) == []
    clock.advance(2)
    assert len(receive(sqs, queue)) == 1


def test_change_visibility_out_of_range(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="v")
    msg = receive_one(sqs, queue)
    expect_error(
        sqs.change_message_visibility,
        "InvalidParameterValue",
        QueueUrl=queue,
        ReceiptHandle=msg["ReceiptHandle"],
        VisibilityTimeout=43201,
    )


def test_change_visibility_of_message_not_in_flight(sqs, queue, clock):
    # Errors of ChangeMessageVisibility: MessageNotInflight "The specified message isn't in flight."
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
    sqs.send_message(QueueUrl=queue, MessageBody="v")
    msg = receive_one(sqs, queue, VisibilityTimeout=5)
    clock.advance(6)
    expect_error(
        sqs.change_message_visibility,
        "AWS.SimpleQueueService.MessageNotInflight",
        exc_name="MessageNotInflight",
        QueueUrl=queue,
        ReceiptHandle=msg["ReceiptHandle"],
        VisibilityTimeout=30,
    )


def test_receive_visibility_out_of_range(sqs, queue):
    expect_error(sqs.receive_message, "InvalidParameterValue", QueueUrl=queue, VisibilityTimeout=43201)


# ---- receipt handles ----------------------------------------------------------------------------


def test_new_receipt_handle_per_receive(sqs, queue, clock):
    sqs.send_message(QueueUrl=queue, MessageBody="h")
    handles = set()
    for _ in range(4):
        handles.add(receive_one(sqs, queue)["ReceiptHandle"])
        clock.advance(31)
    assert len(handles) == 4


def test_delete_with_stale_handle_succeeds(sqs, queue, clock):
    # "If you use an old ReceiptHandle, the request will succeed, but the message might not be
    # deleted." https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html
    sqs.send_message(QueueUrl=queue, MessageBody="s")
    old = receive_one(sqs, queue)["ReceiptHandle"]
    clock.advance(31)
    new = receive_one(sqs, queue)["ReceiptHandle"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=old)
    # The newest handle still works and removes the message for good.
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=new)
    clock.advance(3600)
    assert counts(sqs, queue) == (0, 0, 0)
    assert receive(sqs, queue) == []


def test_delete_twice_is_harmless(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="d")
    handle = receive_one(sqs, queue)["ReceiptHandle"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=handle)
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=handle)
    assert counts(sqs, queue) == (0, 0, 0)


def test_delete_in_flight_message_from_other_consumer(sqs, queue):
    # A message locked by a visibility timeout is still deleted by its current handle.
    sqs.send_message(QueueUrl=queue, MessageBody="d")
    handle = receive_one(sqs, queue, VisibilityTimeout=600)["ReceiptHandle"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=handle)
    assert counts(sqs, queue) == (0, 0, 0)


# The SQS Smithy model declares ReceiptHandleIsInvalid with HTTP status 404.
@pytest.mark.parametrize("handle", ["garbage", "x" * 1024, "AQEB" + "=" * 10])
def test_invalid_receipt_handle(sqs, queue, handle):
    expect_error(
        sqs.delete_message,
        "ReceiptHandleIsInvalid",
        status=404,
        exc_name="ReceiptHandleIsInvalid",
        QueueUrl=queue,
        ReceiptHandle=handle,
    )
    expect_error(
        sqs.change_message_visibility,
        "ReceiptHandleIsInvalid",
        status=404,
        exc_name="ReceiptHandleIsInvalid",
        QueueUrl=queue,
        ReceiptHandle=handle,
        VisibilityTimeout=10,
    )


def test_receipt_handle_of_other_queue_does_not_delete(sqs, queue):
    other = sqs.create_queue(QueueName="other")["QueueUrl"]
    sqs.send_message(QueueUrl=other, MessageBody="o")
    handle = receive_one(sqs, other)["ReceiptHandle"]
    try:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=handle)
    except sqs.exceptions.ReceiptHandleIsInvalid:
        pass
    assert counts(sqs, other) == (0, 1, 0)


# ---- receive parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 11])
def test_max_number_of_messages_range(sqs, queue, n):
    expect_error(sqs.receive_message, "InvalidParameterValue", QueueUrl=queue, MaxNumberOfMessages=n)


def test_wait_time_over_twenty_seconds_is_rejected(sqs, queue):
    started = time.monotonic()
    expect_error(sqs.receive_message, "InvalidParameterValue", QueueUrl=queue, WaitTimeSeconds=21)
    assert time.monotonic() - started < 5


# ---- long polling ---------------------------------------------------------------------------------


def _receive_in_thread(nimbus, url, **kwargs):
    result: dict = {}

    def run():
        client = nimbus.client("sqs")
        started = time.monotonic()
        try:
            result["messages"] = client.receive_message(QueueUrl=url, **kwargs).get("Messages", [])
        except Exception as exc:  # reported by the caller
            result["error"] = exc
        result["elapsed"] = time.monotonic() - started

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


def test_long_poll_returns_as_soon_as_a_message_arrives(sqs, queue, nimbus):
    t, result = _receive_in_thread(nimbus, queue, WaitTimeSeconds=20)
    time.sleep(0.5)
    assert t.is_alive(), "an empty long poll returned early"
    sent_at = time.monotonic()
    sqs.send_message(QueueUrl=queue, MessageBody="wake")
    t.join(10)
    assert not t.is_alive()
    assert "error" not in result, result.get("error")
    assert [m["Body"] for m in result["messages"]] == ["wake"]
    # Woken by the send, not by the 20 s timer.
    assert time.monotonic() - sent_at < 3


def test_queue_receive_wait_time_is_the_default(sqs, nimbus):
    url = sqs.create_queue(QueueName="lp", Attributes={"ReceiveMessageWaitTimeSeconds": "20"})["QueueUrl"]
    t, result = _receive_in_thread(nimbus, url)
    time.sleep(0.5)
    assert t.is_alive(), "ReceiveMessageWaitTimeSeconds was ignored"
    sqs.send_message(QueueUrl=url, MessageBody="late")
    t.join(10)
    assert [m["Body"] for m in result["messages"]] == ["late"]


def test_wait_time_zero_overrides_queue_default(sqs, nimbus):
    url = sqs.create_queue(QueueName="lp0", Attributes={"ReceiveMessageWaitTimeSeconds": "20"})["QueueUrl"]
    started = time.monotonic()
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []
    assert time.monotonic() - started < 3


def test_empty_long_poll_ends_after_wait_time(sqs, queue, nimbus, clock):
    t, result = _receive_in_thread(nimbus, queue, WaitTimeSeconds=1)
    time.sleep(0.3)
    # The wait may run on the test clock or on real time: moving the clock past it ends it in both.
    clock.advance(2)
    t.join(10)
    assert not t.is_alive()
    assert result["messages"] == []


def test_long_poll_wakes_for_delayed_message_when_clock_moves(sqs, queue, nimbus, clock):
    sqs.send_message(QueueUrl=queue, MessageBody="later", DelaySeconds=5)
    t, result = _receive_in_thread(nimbus, queue, WaitTimeSeconds=20)
    time.sleep(0.3)
    assert t.is_alive()
    clock.advance(6)
    t.join(10)
    assert not t.is_alive()
    assert [m["Body"] for m in result["messages"]] == ["later"]


# ---- delays ---------------------------------------------------------------------------------------


def test_queue_delay_seconds(sqs, clock):
    url = sqs.create_queue(QueueName="delayed", Attributes={"DelaySeconds": "10"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="d")
    assert counts(sqs, url) == (0, 0, 1)
    assert receive(sqs, url) == []
    clock.advance(9)
    assert receive(sqs, url) == []
    clock.advance(2)
    assert counts(sqs, url) == (1, 0, 0)
    assert receive_one(sqs, url)["Body"] == "d"


def test_message_delay_overrides_queue_delay(sqs, clock):
    url = sqs.create_queue(QueueName="delayed2", Attributes={"DelaySeconds": "100"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="fast", DelaySeconds=0)
    sqs.send_message(QueueUrl=url, MessageBody="slow", DelaySeconds=5)
    assert [m["Body"] for m in receive(sqs, url, VisibilityTimeout=600)] == ["fast"]
    clock.advance(6)
    assert [m["Body"] for m in receive(sqs, url)] == ["slow"]


def test_message_delay_out_of_range(sqs, queue):
    expect_error(sqs.send_message, "InvalidParameterValue", QueueUrl=queue, MessageBody="x", DelaySeconds=901)
    assert counts(sqs, queue) == (0, 0, 0)


def test_changing_queue_delay_does_not_affect_sent_messages(sqs, clock):
    url = sqs.create_queue(QueueName="delayed3", Attributes={"DelaySeconds": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="d")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "0"})
    assert receive(sqs, url) == []
    clock.advance(61)
    assert len(receive(sqs, url)) == 1


# ---- retention --------------------------------------------------------------------------------------


def test_retention_expiry(sqs, clock):
    url = sqs.create_queue(QueueName="short", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    clock.advance(30)
    sqs.send_message(QueueUrl=url, MessageBody="young")
    clock.advance(31)
    msgs = receive(sqs, url, VisibilityTimeout=600)
    assert [m["Body"] for m in msgs] == ["young"]
    clock.advance(30)
    # Expiry also removes messages that are in flight.
    assert counts(sqs, url) == (0, 0, 0)
    clock.advance(600)
    assert receive(sqs, url) == []


def test_default_retention_is_four_days(sqs, queue, clock):
    sqs.send_message(QueueUrl=queue, MessageBody="r")
    clock.advance(345_600 - 60)
    assert counts(sqs, queue) == (1, 0, 0)
    clock.advance(61)
    assert counts(sqs, queue) == (0, 0, 0)
    assert receive(sqs, queue) == []
