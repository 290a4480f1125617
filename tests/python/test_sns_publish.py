"""Publish and PublishBatch to SQS subscribers: the JSON envelope, raw delivery, message
attributes, MessageStructure=json, filter policies on attributes and on the body, FIFO order
and deduplication, and the errors AWS gives.

https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html
"""

from __future__ import annotations

import base64
import json
import re
import threading

import pytest

from sns_helpers import expect_error, nothing_arrives, receive_all, subscribed_queue, verify_signature

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_envelope_to_sqs(sns, sqs):
    topic = sns.create_topic(Name="t")["TopicArn"]
    url, sub = subscribed_queue(sns, sqs, topic, "q")
    attrs = {
        "s": {"DataType": "String", "StringValue": "x"},
        "n": {"DataType": "Number", "StringValue": "1.5"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        "a": {"DataType": "String.Array", "StringValue": '["x", 1]'},
    }
    mid = sns.publish(TopicArn=topic, Message="hello", Subject="Greeting", MessageAttributes=attrs)["MessageId"]
    [m] = receive_all(sqs, url, 1)
    body = json.loads(m["Body"])
    assert list(body) == [
        "Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion",
        "Signature", "SigningCertURL", "UnsubscribeURL", "MessageAttributes",
    ]
    assert body["Type"] == "Notification"
    assert body["MessageId"] == mid
    assert body["TopicArn"] == topic
    assert body["Subject"] == "Greeting"
    assert body["Message"] == "hello"
    assert TIMESTAMP.match(body["Timestamp"])
    assert body["SignatureVersion"] == "1"
    assert body["UnsubscribeURL"].endswith(f"?Action=Unsubscribe&SubscriptionArn={sub}")
    assert body["MessageAttributes"] == {
        "s": {"Type": "String", "Value": "x"},
        "n": {"Type": "Number", "Value": "1.5"},
        "b": {"Type": "Binary", "Value": base64.b64encode(b"\x00\x01").decode()},
        "a": {"Type": "String.Array", "Value": '["x", 1]'},
    }
    verify_signature(body)
    assert "MessageAttributes" not in m  # the envelope carries them, not SQS


def test_signature_version_2(sns, sqs):
    topic = sns.create_topic(Name="t", Attributes={"SignatureVersion": "2"})["TopicArn"]
    url, _ = subscribed_queue(sns, sqs, topic, "q")
    sns.publish(TopicArn=topic, Message="v2")
    [m] = receive_all(sqs, url, 1)
    body = json.loads(m["Body"])
    assert body["SignatureVersion"] == "2"
    assert "Subject" not in body
    verify_signature(body)


def test_raw_delivery_maps_attributes(sns, sqs):
    topic = sns.create_topic(Name="t")["TopicArn"]
    url, _ = subscribed_queue(sns, sqs, topic, "q", RawMessageDelivery="true")
    sns.publish(
        TopicArn=topic,
        Message="raw body",
        MessageAttributes={
            "s": {"DataType": "String", "StringValue": "x"},
            "n": {"DataType": "Number.int", "StringValue": "7"},
            "b": {"DataType": "Binary", "BinaryValue": b"\x02"},
            "a": {"DataType": "String.Array", "StringValue": '["p","q"]'},
        },
    )
    [m] = receive_all(sqs, url, 1, MessageAttributeNames=["All"])
    assert m["Body"] == "raw body"
    assert m["MessageAttributes"] == {
        "s": {"DataType": "String", "StringValue": "x"},
        "n": {"DataType": "Number.int", "StringValue": "7"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x02"},
        "a": {"DataType": "String", "StringValue": '["p","q"]'},
    }


def test_message_structure_json(sns, sqs):
    topic = sns.create_topic(Name="t")["TopicArn"]
    url, _ = subscribed_queue(sns, sqs, topic, "q", RawMessageDelivery="true")
    sns.publish(TopicArn=topic, MessageStructure="json", Message=json.dumps({"default": "d", "sqs": "for queues"}))
    sns.publish(TopicArn=topic, MessageStructure="json", Message=json.dumps({"default": "only default"}))
    bodies = [m["Body"] for m in receive_all(sqs, url, 2)]
    assert sorted(bodies) == ["for queues", "only default"]
    expect_error("InvalidParameter", sns.publish, TopicArn=topic, MessageStructure="json", Message=json.dumps({"sqs": "x"}))
    expect_error("InvalidParameter", sns.publish, TopicArn=topic, MessageStructure="json", Message="{nope")


def test_fan_out_to_many_queues(sns, sqs):
    topic = sns.create_topic(Name="t")["TopicArn"]
    urls = [subscribed_queue(sns, sqs, topic, f"q{i}", RawMessageDelivery="true")[0] for i in range(5)]
    for i in range(20):
        sns.publish(TopicArn=topic, Message=f"m{i}")
    for url in urls:
        assert sorted(m["Body"] for m in receive_all(sqs, url, 20)) == sorted(f"m{i}" for i in range(20))


def test_publish_errors(sns):
    topic = sns.create_topic(Name="t")["TopicArn"]
    expect_error("InvalidParameter", sns.publish, TopicArn=topic, Message="")
    expect_error("InvalidParameter", sns.publish, TopicArn=topic, Message="x" * (256 * 1024 + 1))
    expect_error("InvalidParameter", sns.publish, TopicArn=topic, Message="x", Subject="line\nbreak")
    expect_error("InvalidParameter", sns.publish, Message="x")
    expect_error("ParameterValueInvalid", sns.publish, TopicArn=topic, Message="x",
                 MessageAttributes={"a": {"DataType": "Date", "StringValue": "x"}})
    expect_error("ParameterValueInvalid", sns.publish, TopicArn=topic, Message="x",
                 MessageAttributes={"a": {"DataType": "Number", "StringValue": "ten"}})
    expect_error("ParameterValueInvalid", sns.publish, TopicArn=topic, Message="x",
                 MessageAttributes={"a": {"DataType": "String.Array", "StringValue": "not an array"}})
    expect_error("InvalidParameter", sns.publish, TopicArn=topic, Message="x", MessageDeduplicationId="d")


def test_target_arn_publishes_to_the_topic(sns, sqs):
    topic = sns.create_topic(Name="t")["TopicArn"]
    url, _ = subscribed_queue(sns, sqs, topic, "q", RawMessageDelivery="true")
    sns.publish(TargetArn=topic, Message="via target")
    assert [m["Body"] for m in receive_all(sqs, url, 1)] == ["via target"]


def test_publish_batch_reports_each_entry(sns, sqs):
    topic = sns.create_topic(Name="t")["TopicArn"]
    url, _ = subscribed_queue(sns, sqs, topic, "q", RawMessageDelivery="true")
    resp = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[
            {"Id": "ok1", "Message": "one"},
            {"Id": "bad", "Message": "x", "MessageAttributes": {"a": {"DataType": "Nope", "StringValue": "x"}}},
            {"Id": "ok2", "Message": "two"},
        ],
    )
    assert sorted(e["Id"] for e in resp["Successful"]) == ["ok1", "ok2"]
    [failed] = resp["Failed"]
    assert failed["Id"] == "bad" and failed["SenderFault"] is True
    assert failed["Code"] == "ParameterValueInvalid"
    assert sorted(m["Body"] for m in receive_all(sqs, url, 2)) == ["one", "two"]
    entries = [{"Id": "same", "Message": "a"}, {"Id": "same", "Message": "b"}]
    expect_error("BatchEntryIdsNotDistinct", sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=entries)
    many = [{"Id": f"e{i}", "Message": "m"} for i in range(11)]
    expect_error("TooManyEntriesInBatchRequest", sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=many)
    expect_error("InvalidBatchEntryId", sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=[{"Id": "bad id!", "Message": "m"}])


# ---- filter policies -------------------------------------------------------------------------

ATTRIBUTE_CASES = [
    # (policy, attributes, delivered)
    ({"store": ["example_corp"]}, {"store": ("String", "example_corp")}, True),
    ({"store": ["example_corp"]}, {"store": ("String", "other")}, False),
    ({"store": ["example_corp"]}, {}, False),
    ({"price": [{"numeric": [">=", 100, "<", 200]}]}, {"price": ("Number", "150")}, True),
    ({"price": [{"numeric": [">=", 100, "<", 200]}]}, {"price": ("Number", "200")}, False),
    ({"price": [{"numeric": ["=", 5]}]}, {"price": ("String", "5")}, False),
    ({"event": [{"prefix": "order-"}]}, {"event": ("String", "order-placed")}, True),
    ({"event": [{"suffix": "-placed"}]}, {"event": ("String", "order-cancelled")}, False),
    ({"event": [{"anything-but": ["cancelled", "refunded"]}]}, {"event": ("String", "placed")}, True),
    ({"event": [{"anything-but": ["cancelled"]}]}, {"event": ("String", "cancelled")}, False),
    ({"event": [{"anything-but": {"prefix": "test-"}}]}, {"event": ("String", "test-1")}, False),
    ({"event": [{"equals-ignore-case": "PLACED"}]}, {"event": ("String", "placed")}, True),
    ({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": ("String", "10.0.0.9")}, True),
    ({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": ("String", "10.0.1.9")}, False),
    ({"flag": [{"exists": True}]}, {"flag": ("String", "x")}, True),
    ({"flag": [{"exists": False}]}, {"other": ("String", "x")}, True),
    ({"flag": [{"exists": False}]}, {"flag": ("String", "x")}, False),
    ({"sports": ["rugby"]}, {"sports": ("String.Array", '["soccer", "rugby"]')}, True),
    ({"sports": ["golf"]}, {"sports": ("String.Array", '["soccer", "rugby"]')}, False),
    ({"path": [{"wildcard": "logs/*/error"}]}, {"path": ("String", "logs/app/error")}, True),
    ({"$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"b": ("String", "2")}, True),
    ({"$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"b": ("String", "3")}, False),
    ({"a": ["x"], "b": ["y"]}, {"a": ("String", "x")}, False),
]


@pytest.mark.parametrize("policy,attributes,delivered", ATTRIBUTE_CASES)
def test_attribute_filter_table(sns, sqs, policy, attributes, delivered):
    topic = sns.create_topic(Name="t")["TopicArn"]
    url, _ = subscribed_queue(sns, sqs, topic, "q", RawMessageDelivery="true", FilterPolicy=json.dumps(policy))
    message_attributes = {k: {"DataType": t, "StringValue": v} for k, (t, v) in attributes.items()}
    sns.publish(TopicArn=topic, Message="candidate", MessageAttributes=message_attributes)
    got = receive_all(sqs, url, 1 if delivered else 0, timeout=5)
    if delivered:
        assert [m["Body"] for m in got] == ["candidate"]
    else:
        assert nothing_arrives(sqs, url)


BODY_CASES = [
    ({"order": {"status": ["paid"]}}, {"order": {"status": "paid", "total": 5}}, True),
    ({"order": {"status": ["paid"]}}, {"order": {"status": "open"}}, False),
    ({"order": {"total": [{"numeric": [">", 10]}]}}, {"order": {"total": 11}}, True),
    ({"items": {"sku": [{"prefix": "A-"}]}}, {"items": [{"sku": "B-1"}, {"sku": "A-2"}]}, True),
    ({"customer": [{"exists": False}]}, {"order": {}}, True),
]


@pytest.mark.parametrize("policy,body,delivered", BODY_CASES)
def test_body_filter_table(sns, sqs, policy, body, delivered):
    topic = sns.create_topic(Name="t")["TopicArn"]
    url, _ = subscribed_queue(
        sns, sqs, topic, "q", RawMessageDelivery="true", FilterPolicy=json.dumps(policy), FilterPolicyScope="MessageBody"
    )
    sns.publish(TopicArn=topic, Message=json.dumps(body))
    if delivered:
        assert [json.loads(m["Body"]) for m in receive_all(sqs, url, 1, timeout=5)] == [body]
    else:
        assert nothing_arrives(sqs, url)


def test_body_scope_ignores_non_json_messages(sns, sqs):
    topic = sns.create_topic(Name="t")["TopicArn"]
    url, _ = subscribed_queue(
        sns, sqs, topic, "q", FilterPolicy=json.dumps({"a": [{"exists": False}]}), FilterPolicyScope="MessageBody"
    )
    sns.publish(TopicArn=topic, Message="plain text")
    assert nothing_arrives(sqs, url)


# ---- FIFO ------------------------------------------------------------------------------------


def test_fifo_topic_keeps_group_order_under_concurrency(sns, sqs):
    topic = sns.create_topic(Name="t.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    url, _ = subscribed_queue(sns, sqs, topic, "q.fifo", RawMessageDelivery="true")
    groups, per_group = 4, 25
    sequences: dict[str, list[str]] = {}

    def publisher(group: str) -> None:
        seqs = []
        for i in range(per_group):
            r = sns.publish(TopicArn=topic, Message=f"{group}-{i}", MessageGroupId=group, MessageDeduplicationId=f"{group}-{i}")
            seqs.append(r["SequenceNumber"])
        sequences[group] = seqs

    threads = [threading.Thread(target=publisher, args=(f"g{g}",)) for g in range(groups)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    for seqs in sequences.values():
        assert seqs == sorted(seqs) and all(len(s) == 20 for s in seqs)
    got = receive_all(sqs, url, groups * per_group, timeout=30, MessageSystemAttributeNames=["MessageGroupId"])
    assert len(got) == groups * per_group
    for g in range(groups):
        bodies = [m["Body"] for m in got if m["Attributes"]["MessageGroupId"] == f"g{g}"]
        assert bodies == [f"g{g}-{i}" for i in range(per_group)]


def test_fifo_deduplication(sns, sqs):
    topic = sns.create_topic(
        Name="t.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    )["TopicArn"]
    url, _ = subscribed_queue(sns, sqs, topic, "q.fifo", RawMessageDelivery="true")
    first = sns.publish(TopicArn=topic, Message="same", MessageGroupId="g")
    second = sns.publish(TopicArn=topic, Message="same", MessageGroupId="g")
    assert first["MessageId"] == second["MessageId"]
    sns.publish(TopicArn=topic, Message="other", MessageGroupId="g", MessageDeduplicationId="explicit")
    got = receive_all(sqs, url, 2)
    assert [m["Body"] for m in got] == ["same", "other"]
    assert nothing_arrives(sqs, url)


def test_fifo_publish_errors(sns):
    topic = sns.create_topic(Name="t.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    expect_error("InvalidParameter", sns.publish, TopicArn=topic, Message="x", MessageDeduplicationId="d")
    expect_error("InvalidParameter", sns.publish, TopicArn=topic, Message="x", MessageGroupId="g")


def test_unsubscribed_queue_gets_nothing_more(sns, sqs):
    topic = sns.create_topic(Name="t")["TopicArn"]
    url, sub = subscribed_queue(sns, sqs, topic, "q", RawMessageDelivery="true")
    sns.publish(TopicArn=topic, Message="before")
    assert [m["Body"] for m in receive_all(sqs, url, 1)] == ["before"]
    sns.unsubscribe(SubscriptionArn=sub)
    sns.publish(TopicArn=topic, Message="after")
    assert nothing_arrives(sqs, url)


def test_fifo_deduplication_window_is_five_minutes(sns, sqs, clock):
    topic = sns.create_topic(Name="t.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    url, _ = subscribed_queue(sns, sqs, topic, "q.fifo", RawMessageDelivery="true")
    first = sns.publish(TopicArn=topic, Message="a", MessageGroupId="g", MessageDeduplicationId="d")
    clock.advance(299)
    assert sns.publish(TopicArn=topic, Message="a", MessageGroupId="g", MessageDeduplicationId="d")["MessageId"] == first["MessageId"]
    clock.advance(2)
    later = sns.publish(TopicArn=topic, Message="a", MessageGroupId="g", MessageDeduplicationId="d")
    assert later["MessageId"] != first["MessageId"]
    assert later["SequenceNumber"] > first["SequenceNumber"]
