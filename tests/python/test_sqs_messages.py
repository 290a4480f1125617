"""Send, receive and delete; message attributes, system attributes, digests and sizes.

botocore 1.44 does not verify SQS digests itself, so every test computes them and compares.
"""

from __future__ import annotations

import re
import uuid

import pytest

from nimbus_harness import md5_hex, md5_of_attributes
from sqs_helpers import counts, expect_error, receive, receive_one

ONE_MIB = 1024 * 1024
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_send_receive_delete(sqs, queue, clock):
    sent = sqs.send_message(QueueUrl=queue, MessageBody="hello world")
    assert UUID_RE.match(sent["MessageId"])
    assert sent["MD5OfMessageBody"] == md5_hex("hello world") == "5eb63bbbe01eeed093cb22bb8f5acdc3"
    assert "MD5OfMessageAttributes" not in sent

    msg = receive_one(sqs, queue)
    assert msg["MessageId"] == sent["MessageId"]
    assert msg["Body"] == "hello world"
    assert msg["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert msg["ReceiptHandle"]
    assert counts(sqs, queue) == (0, 1, 0)

    sqs.delete_message(QueueUrl=queue, ReceiptHandle=msg["ReceiptHandle"])
    assert counts(sqs, queue) == (0, 0, 0)
    clock.advance(3600)
    assert receive(sqs, queue) == []


def test_receive_from_empty_queue_has_no_messages(sqs, queue):
    resp = sqs.receive_message(QueueUrl=queue)
    assert resp.get("Messages", []) == []


def test_unicode_body_round_trip(sqs, queue):
    body = "héllo ✓ 日本 🎉 \t\n\r end"
    sent = sqs.send_message(QueueUrl=queue, MessageBody=body)
    assert sent["MD5OfMessageBody"] == md5_hex(body)
    msg = receive_one(sqs, queue)
    assert msg["Body"] == body
    assert msg["MD5OfBody"] == md5_hex(body)


@pytest.mark.parametrize("bad", ["\x00", "a\x01b", "\x1f", "\ufffe"])
def test_invalid_message_contents(sqs, queue, bad):
    # Allowed: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    expect_error(
        sqs.send_message,
        "InvalidMessageContents",
        exc_name="InvalidMessageContents",
        QueueUrl=queue,
        MessageBody=bad,
    )
    assert counts(sqs, queue) == (0, 0, 0)


def test_many_messages_each_delivered_once(sqs, queue):
    bodies = {f"m-{i}" for i in range(25)}
    for b in sorted(bodies):
        sqs.send_message(QueueUrl=queue, MessageBody=b)
    got = []
    for _ in range(10):
        batch = receive(sqs, queue, 10)
        if not batch:
            break
        assert len(batch) <= 10
        got += batch
    assert sorted(m["Body"] for m in got) == sorted(bodies)
    assert len({m["MessageId"] for m in got}) == 25


def test_system_attributes_on_receive(sqs, queue, clock):
    sent_at = clock.now_ms()
    sqs.send_message(QueueUrl=queue, MessageBody="x")
    clock.advance(5)
    first = receive_one(sqs, queue, MessageSystemAttributeNames=["All"], VisibilityTimeout=10)
    a = first["Attributes"]
    assert {"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"} <= set(a)
    assert a["SenderId"]
    assert abs(int(a["SentTimestamp"]) - sent_at) < 1000
    assert abs(int(a["ApproximateFirstReceiveTimestamp"]) - (sent_at + 5000)) < 1000
    assert a["ApproximateReceiveCount"] == "1"

    clock.advance(11)
    second = receive_one(sqs, queue, MessageSystemAttributeNames=["ApproximateReceiveCount"])
    assert second["Attributes"] == {"ApproximateReceiveCount": "2"}
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    assert second["MessageId"] == first["MessageId"]


def test_legacy_attribute_names_parameter(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="x")
    msg = receive_one(sqs, queue, AttributeNames=["SentTimestamp"])
    assert set(msg["Attributes"]) == {"SentTimestamp"}


def test_no_attributes_unless_asked(sqs, queue):
    sqs.send_message(
        QueueUrl=queue,
        MessageBody="x",
        MessageAttributes={"a": {"DataType": "String", "StringValue": "1"}},
    )
    msg = receive_one(sqs, queue)
    assert "Attributes" not in msg
    assert "MessageAttributes" not in msg


ALL_TYPES = {
    "str": {"DataType": "String", "StringValue": "text ✓"},
    "num": {"DataType": "Number", "StringValue": "-12.5e3"},
    "int": {"DataType": "Number", "StringValue": "42"},
    "bin": {"DataType": "Binary", "BinaryValue": bytes(range(256))},
    "custom.str": {"DataType": "String.custom-type", "StringValue": "c"},
    "custom.num": {"DataType": "Number.float", "StringValue": "3.14"},
    "custom.bin": {"DataType": "Binary.gif", "BinaryValue": b"GIF89a"},
}


def test_message_attributes_of_every_type_and_md5(sqs, queue):
    sent = sqs.send_message(QueueUrl=queue, MessageBody="attrs", MessageAttributes=ALL_TYPES)
    expected_md5 = md5_of_attributes(ALL_TYPES)
    assert sent["MD5OfMessageAttributes"] == expected_md5

    msg = receive_one(sqs, queue, MessageAttributeNames=["All"])
    assert msg["MessageAttributes"] == ALL_TYPES
    assert msg["MD5OfMessageAttributes"] == expected_md5
    assert msg["MD5OfBody"] == md5_hex("attrs")


def test_known_attribute_digest(sqs, queue):
    # A fixed vector spelled out byte by byte, so that the server and the helper cannot agree on
    # a wrong encoding: len("a") "a" len("String") "String" 0x01 len("b") "b".
    one = {"a": {"DataType": "String", "StringValue": "b"}}
    raw = b"\x00\x00\x00\x01a" + b"\x00\x00\x00\x06String" + b"\x01" + b"\x00\x00\x00\x01b"
    assert md5_hex(raw) == md5_of_attributes(one) == "bef8bf215374a0a228d67533b1a488be"
    sent = sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes=one)
    assert sent["MD5OfMessageAttributes"] == "bef8bf215374a0a228d67533b1a488be"


def test_receive_selected_message_attributes(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="sel", MessageAttributes=ALL_TYPES)
    msg = receive_one(sqs, queue, MessageAttributeNames=["str", "custom.*"])
    want = {k: v for k, v in ALL_TYPES.items() if k == "str" or k.startswith("custom.")}
    assert msg["MessageAttributes"] == want
    # The digest covers the attributes returned.
    assert msg["MD5OfMessageAttributes"] == md5_of_attributes(want)


@pytest.mark.parametrize(
    "attributes",
    [
        {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)},
        {"AWS.reserved": {"DataType": "String", "StringValue": "v"}},
        {"bad name": {"DataType": "String", "StringValue": "v"}},
        {"n": {"DataType": "Number", "StringValue": "not-a-number"}},
        {"t": {"DataType": "Unknown", "StringValue": "v"}},
        {"e": {"DataType": "String", "StringValue": ""}},
    ],
    ids=["eleven", "aws-prefix", "space-in-name", "bad-number", "bad-type", "empty-value"],
)
def test_invalid_message_attributes(sqs, queue, attributes):
    # ≤ 10 attributes; names without AWS./Amazon. prefixes; https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html
    expect_error(
        sqs.send_message,
        "InvalidParameterValue",
        QueueUrl=queue,
        MessageBody="x",
        MessageAttributes=attributes,
    )
    assert counts(sqs, queue) == (0, 0, 0)


def test_aws_trace_header_system_attribute(sqs, queue):
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    system = {"AWSTraceHeader": {"DataType": "String", "StringValue": trace}}
    sent = sqs.send_message(QueueUrl=queue, MessageBody="traced", MessageSystemAttributes=system)
    assert sent["MD5OfMessageSystemAttributes"] == md5_of_attributes(system)

    msg = receive_one(sqs, queue, MessageSystemAttributeNames=["AWSTraceHeader"])
    assert msg["Attributes"] == {"AWSTraceHeader": trace}
    # Not a user attribute.
    assert "MessageAttributes" not in msg


def test_trace_header_in_all_attributes(sqs, queue):
    trace = "Root=1-00000000-000000000000000000000001"
    sqs.send_message(
        QueueUrl=queue,
        MessageBody="t",
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": trace}},
    )
    msg = receive_one(sqs, queue, MessageSystemAttributeNames=["All"])
    assert msg["Attributes"]["AWSTraceHeader"] == trace


# ---- sizes ---------------------------------------------------------------------------------------
# MaximumMessageSize: 1,024 to 1,048,576 bytes, default 1,048,576; the size counts the body and
# the attributes (names, types, values).
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html


def test_one_mib_message_is_accepted(sqs, queue):
    body = "x" * ONE_MIB
    sent = sqs.send_message(QueueUrl=queue, MessageBody=body)
    assert sent["MD5OfMessageBody"] == md5_hex(body)
    msg = receive_one(sqs, queue)
    assert len(msg["Body"]) == ONE_MIB
    assert msg["MD5OfBody"] == md5_hex(body)


def test_message_over_one_mib_is_rejected(sqs, queue):
    expect_error(sqs.send_message, "InvalidParameterValue", QueueUrl=queue, MessageBody="x" * (ONE_MIB + 1))
    assert counts(sqs, queue) == (0, 0, 0)


def test_multibyte_body_size_counts_bytes(sqs, queue):
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"MaximumMessageSize": "1024"})
    # 342 three-byte characters = 1026 bytes although only 342 characters.
    expect_error(sqs.send_message, "InvalidParameterValue", QueueUrl=queue, MessageBody="✓" * 342)
    sqs.send_message(QueueUrl=queue, MessageBody="✓" * 341)


def test_queue_maximum_message_size(sqs, queue):
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"MaximumMessageSize": "1024"})
    sqs.send_message(QueueUrl=queue, MessageBody="y" * 1024)
    expect_error(sqs.send_message, "InvalidParameterValue", QueueUrl=queue, MessageBody="y" * 1025)
    # Attributes count toward the size: 1000 + len("a") + len("String") + 100 > 1024.
    expect_error(
        sqs.send_message,
        "InvalidParameterValue",
        QueueUrl=queue,
        MessageBody="y" * 1000,
        MessageAttributes={"a": {"DataType": "String", "StringValue": "z" * 100}},
    )
    assert counts(sqs, queue) == (1, 0, 0)


def test_message_ids_are_unique(sqs, queue):
    ids = {sqs.send_message(QueueUrl=queue, MessageBody=str(uuid.uuid4()))["MessageId"] for _ in range(20)}
    assert len(ids) == 20
