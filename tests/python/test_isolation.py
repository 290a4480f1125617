"""State is kept per account (from the access key) and per region (from the signature)."""

from __future__ import annotations

import pytest

from sqs_helpers import attrs


def test_accounts_do_not_see_each_other(nimbus):
    default = nimbus.client("sqs", access_key="test")
    other = nimbus.client("sqs", access_key="000000000002")
    third = nimbus.client("sqs", access_key="AKIAIOSFODNN7EXAMPLE")  # not 12 digits: default account

    a = default.create_queue(QueueName="shared-name")["QueueUrl"]
    b = other.create_queue(QueueName="shared-name")["QueueUrl"]
    assert a.endswith("/000000000000/shared-name")
    assert b.endswith("/000000000002/shared-name")
    assert attrs(other, b, "QueueArn")["QueueArn"] == "arn:aws:sqs:us-east-1:000000000002:shared-name"

    other.create_queue(QueueName="only-in-2")
    assert [u.rsplit("/", 1)[1] for u in default.list_queues()["QueueUrls"]] == ["shared-name"]
    assert sorted(u.rsplit("/", 1)[1] for u in other.list_queues()["QueueUrls"]) == ["only-in-2", "shared-name"]
    with pytest.raises(default.exceptions.QueueDoesNotExist):
        default.get_queue_url(QueueName="only-in-2")
    assert third.get_queue_url(QueueName="shared-name")["QueueUrl"] == a

    default.send_message(QueueUrl=a, MessageBody="for 0")
    other.send_message(QueueUrl=b, MessageBody="for 2")
    assert [m["Body"] for m in other.receive_message(QueueUrl=b)["Messages"]] == ["for 2"]
    assert [m["Body"] for m in default.receive_message(QueueUrl=a)["Messages"]] == ["for 0"]


def test_regions_do_not_see_each_other(nimbus):
    east = nimbus.client("sqs", region="us-east-1")
    west = nimbus.client("sqs", region="us-west-2")
    e = east.create_queue(QueueName="regional")["QueueUrl"]
    assert west.list_queues().get("QueueUrls", []) == []
    with pytest.raises(west.exceptions.QueueDoesNotExist) as info:
        west.get_queue_url(QueueName="regional")
    assert info.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    w = west.create_queue(QueueName="regional", Attributes={"VisibilityTimeout": "99"})["QueueUrl"]
    assert attrs(west, w, "QueueArn")["QueueArn"] == "arn:aws:sqs:us-west-2:000000000000:regional"
    assert attrs(east, e, "VisibilityTimeout")["VisibilityTimeout"] == "30"
    assert attrs(west, w, "VisibilityTimeout")["VisibilityTimeout"] == "99"
