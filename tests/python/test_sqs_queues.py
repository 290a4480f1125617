"""Queue lifecycle, listing, attributes, tags and permissions through boto3.

Reference: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/
"""

from __future__ import annotations

import json

import pytest

from sqs_helpers import attrs, counts, expect_error

NON_EXISTENT = "AWS.SimpleQueueService.NonExistentQueue"

# What GetQueueAttributes(All) returns for a new standard queue created without attributes.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html
STANDARD_DEFAULTS = {
    "VisibilityTimeout": "30",
    "MaximumMessageSize": "1048576",
    "MessageRetentionPeriod": "345600",
    "DelaySeconds": "0",
    "ReceiveMessageWaitTimeSeconds": "0",
    "ApproximateNumberOfMessages": "0",
    "ApproximateNumberOfMessagesNotVisible": "0",
    "ApproximateNumberOfMessagesDelayed": "0",
    # SSE-SQS is on by default for new queues since 2022:
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html
    "SqsManagedSseEnabled": "true",
}


# ---- create / get url / delete ----------------------------------------------------------------


def test_create_queue_returns_url_of_host_and_account(sqs, nimbus, account):
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    assert url == f"{nimbus.url}/{account}/orders"
    assert sqs.get_queue_url(QueueName="orders")["QueueUrl"] == url


def test_create_is_idempotent_with_same_attributes(sqs):
    a = sqs.create_queue(QueueName="same", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
    b = sqs.create_queue(QueueName="same", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
    assert a == b
    assert len(sqs.list_queues()["QueueUrls"]) == 1


def test_create_with_different_attributes_is_queue_name_exists(sqs):
    sqs.create_queue(QueueName="dup", Attributes={"VisibilityTimeout": "45"})
    resp = expect_error(
        sqs.create_queue,
        "QueueAlreadyExists",
        exc_name="QueueNameExists",
        QueueName="dup",
        Attributes={"VisibilityTimeout": "46"},
    )
    assert resp["Error"].get("QueryErrorCode") == "QueueNameExists"
    assert attrs(sqs, sqs.get_queue_url(QueueName="dup")["QueueUrl"])["VisibilityTimeout"] == "45"


def test_delete_queue_then_operations_fail_with_non_existent_queue(sqs):
    url = sqs.create_queue(QueueName="gone")["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as info:
        sqs.get_queue_url(QueueName="gone")
    assert info.value.response["Error"]["Code"] == NON_EXISTENT
    assert info.value.response["Error"]["QueryErrorCode"] == "QueueDoesNotExist"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    for call, kwargs in [
        (sqs.send_message, {"QueueUrl": url, "MessageBody": "x"}),
        (sqs.receive_message, {"QueueUrl": url}),
        (sqs.get_queue_attributes, {"QueueUrl": url, "AttributeNames": ["All"]}),
        (sqs.delete_queue, {"QueueUrl": url}),
        (sqs.purge_queue, {"QueueUrl": url}),
        (sqs.list_queue_tags, {"QueueUrl": url}),
    ]:
        expect_error(call, NON_EXISTENT, exc_name="QueueDoesNotExist", **kwargs)


def test_get_queue_url_of_unknown_queue(sqs):
    expect_error(sqs.get_queue_url, NON_EXISTENT, exc_name="QueueDoesNotExist", QueueName="nope")


def test_queue_deleted_recently_follows_the_clock(sqs, clock):
    # "You must wait 60 seconds after deleting a queue before you can create another queue with
    # the same name." https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
    url = sqs.create_queue(QueueName="again")["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    clock.advance(30)
    expect_error(
        sqs.create_queue,
        "AWS.SimpleQueueService.QueueDeletedRecently",
        exc_name="QueueDeletedRecently",
        QueueName="again",
    )
    # Another name is not affected.
    sqs.create_queue(QueueName="again2")
    clock.advance(31)
    assert sqs.create_queue(QueueName="again")["QueueUrl"] == url


@pytest.mark.parametrize(
    "name",
    ["bad name", "bad!", "a" * 81, "slash/name", "dot.name"],
)
def test_invalid_queue_names(sqs, name):
    # Names: 1-80 chars of alphanumerics, hyphens and underscores (.fifo suffix for FIFO).
    expect_error(sqs.create_queue, "InvalidParameterValue", QueueName=name)
    assert sqs.list_queues().get("QueueUrls", []) == []


def test_longest_valid_name_and_allowed_characters(sqs, nimbus, account):
    name = "A-b_9" + "x" * 75
    assert len(name) == 80
    assert sqs.create_queue(QueueName=name)["QueueUrl"].endswith(f"/{account}/{name}")


def test_fifo_name_must_end_with_fifo(sqs):
    expect_error(
        sqs.create_queue, "InvalidParameterValue", QueueName="nofifo", Attributes={"FifoQueue": "true"}
    )


# ---- listing ------------------------------------------------------------------------------------


def test_list_queues_empty_and_prefix(sqs):
    assert sqs.list_queues().get("QueueUrls", []) == []
    for n in ["alpha-1", "alpha-2", "beta-1"]:
        sqs.create_queue(QueueName=n)
    urls = sqs.list_queues(QueueNamePrefix="alpha")["QueueUrls"]
    assert sorted(u.rsplit("/", 1)[1] for u in urls) == ["alpha-1", "alpha-2"]
    assert len(sqs.list_queues()["QueueUrls"]) == 3
    assert sqs.list_queues(QueueNamePrefix="gamma").get("QueueUrls", []) == []
    # Prefixes are case-sensitive.
    assert sqs.list_queues(QueueNamePrefix="ALPHA").get("QueueUrls", []) == []


def test_list_queues_pagination(sqs):
    names = [f"page-{i:02d}" for i in range(7)]
    for n in names:
        sqs.create_queue(QueueName=n)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs = {"MaxResults": 3}
        if token:
            kwargs["NextToken"] = token
        resp = sqs.list_queues(**kwargs)
        page = resp.get("QueueUrls", [])
        assert len(page) <= 3
        seen += page
        pages += 1
        token = resp.get("NextToken")
        if not token:
            break
        assert pages < 10
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert sorted(u.rsplit("/", 1)[1] for u in seen) == names
    # The boto3 paginator walks the same pages.
    paginated = [
        u
        for p in sqs.get_paginator("list_queues").paginate(PaginationConfig={"PageSize": 2})
        for u in p.get("QueueUrls", [])
    ]
    assert sorted(paginated) == sorted(seen)


def test_list_queues_without_max_results_has_no_token(sqs):
    for i in range(3):
        sqs.create_queue(QueueName=f"nt{i}")
    assert "NextToken" not in sqs.list_queues()


# ---- attributes ---------------------------------------------------------------------------------


def test_default_attributes_of_standard_queue(sqs, clock, account):
    now_s = clock.now_ms() // 1000
    url = sqs.create_queue(QueueName="defaults")["QueueUrl"]
    got = attrs(sqs, url)
    expected_keys = set(STANDARD_DEFAULTS) | {"QueueArn", "CreatedTimestamp", "LastModifiedTimestamp"}
    assert set(got) == expected_keys
    for k, v in STANDARD_DEFAULTS.items():
        assert got[k] == v, k
    assert got["QueueArn"] == f"arn:aws:sqs:us-east-1:{account}:defaults"
    assert abs(int(got["CreatedTimestamp"]) - now_s) <= 1
    assert got["LastModifiedTimestamp"] == got["CreatedTimestamp"]


def test_default_attributes_of_fifo_queue(sqs, fifo, account):
    got = attrs(sqs, fifo)
    assert got["FifoQueue"] == "true"
    assert got["ContentBasedDeduplication"] == "false"
    assert got["DeduplicationScope"] == "queue"
    assert got["FifoThroughputLimit"] == "perQueue"
    assert got["QueueArn"] == f"arn:aws:sqs:us-east-1:{account}:q.fifo"
    assert got["VisibilityTimeout"] == "30"


def test_get_selected_attributes_only(sqs, queue):
    got = attrs(sqs, queue, "VisibilityTimeout", "QueueArn")
    assert set(got) == {"VisibilityTimeout", "QueueArn"}


def test_standard_queue_does_not_report_fifo_attributes(sqs, queue):
    assert "FifoQueue" not in attrs(sqs, queue)


def test_set_attributes_round_trip_and_last_modified(sqs, queue, clock):
    created = attrs(sqs, queue)["CreatedTimestamp"]
    later_s = clock.advance(100) // 1000
    new = {
        "VisibilityTimeout": "120",
        "MaximumMessageSize": "2048",
        "MessageRetentionPeriod": "86400",
        "DelaySeconds": "15",
        "ReceiveMessageWaitTimeSeconds": "20",
        "SqsManagedSseEnabled": "false",
    }
    sqs.set_queue_attributes(QueueUrl=queue, Attributes=new)
    got = attrs(sqs, queue)
    for k, v in new.items():
        assert got[k] == v, k
    assert got["CreatedTimestamp"] == created
    assert abs(int(got["LastModifiedTimestamp"]) - later_s) <= 1
    assert int(got["LastModifiedTimestamp"]) >= int(created) + 99


def test_create_with_attributes(sqs):
    url = sqs.create_queue(
        QueueName="custom",
        Attributes={"VisibilityTimeout": "0", "MessageRetentionPeriod": "60", "DelaySeconds": "900"},
    )["QueueUrl"]
    got = attrs(sqs, url)
    assert (got["VisibilityTimeout"], got["MessageRetentionPeriod"], got["DelaySeconds"]) == (
        "0",
        "60",
        "900",
    )


@pytest.mark.parametrize(
    "name,value",
    [
        ("VisibilityTimeout", "43201"),
        ("VisibilityTimeout", "-1"),
        ("VisibilityTimeout", "abc"),
        ("MaximumMessageSize", "1023"),
        ("MaximumMessageSize", "1048577"),
        ("MessageRetentionPeriod", "59"),
        ("MessageRetentionPeriod", "1209601"),
        ("DelaySeconds", "901"),
        ("ReceiveMessageWaitTimeSeconds", "21"),
    ],
)
def test_invalid_attribute_values(sqs, queue, name, value):
    # Ranges: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html
    expect_error(
        sqs.set_queue_attributes,
        "InvalidAttributeValue",
        exc_name="InvalidAttributeValue",
        QueueUrl=queue,
        Attributes={name: value},
    )
    expect_error(
        sqs.create_queue,
        "InvalidAttributeValue",
        exc_name="InvalidAttributeValue",
        QueueName="other",
        Attributes={name: value},
    )
    assert len(sqs.list_queues()["QueueUrls"]) == 1


def test_invalid_attribute_value_is_not_partially_applied(sqs, queue):
    with pytest.raises(sqs.exceptions.InvalidAttributeValue):
        sqs.set_queue_attributes(
            QueueUrl=queue, Attributes={"DelaySeconds": "5", "VisibilityTimeout": "99999"}
        )
    got = attrs(sqs, queue)
    assert (got["DelaySeconds"], got["VisibilityTimeout"]) == ("0", "30")


def test_unknown_attribute_names(sqs, queue):
    expect_error(
        sqs.set_queue_attributes,
        "InvalidAttributeName",
        exc_name="InvalidAttributeName",
        QueueUrl=queue,
        Attributes={"Bogus": "1"},
    )
    expect_error(
        sqs.get_queue_attributes,
        "InvalidAttributeName",
        exc_name="InvalidAttributeName",
        QueueUrl=queue,
        AttributeNames=["Bogus"],
    )
    expect_error(
        sqs.create_queue,
        "InvalidAttributeName",
        exc_name="InvalidAttributeName",
        QueueName="x",
        Attributes={"Bogus": "1"},
    )


def test_policy_attribute_round_trip(sqs, queue, account):
    arn = attrs(sqs, queue, "QueueArn")["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "s1",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": json.dumps(policy)})
    assert json.loads(attrs(sqs, queue, "Policy")["Policy"]) == policy
    # An empty value removes the policy.
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": ""})
    assert "Policy" not in attrs(sqs, queue)


def test_approximate_counters(sqs, queue, clock):
    assert counts(sqs, queue) == (0, 0, 0)
    sqs.send_message(QueueUrl=queue, MessageBody="a")
    sqs.send_message(QueueUrl=queue, MessageBody="b")
    sqs.send_message(QueueUrl=queue, MessageBody="c", DelaySeconds=60)
    assert counts(sqs, queue) == (2, 0, 1)
    sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1)
    assert counts(sqs, queue) == (1, 1, 1)
    clock.advance(61)
    # The delayed message is now visible; the received one came back after 30 s.
    assert counts(sqs, queue) == (3, 0, 0)


# ---- tags ----------------------------------------------------------------------------------------


def test_tags(sqs):
    url = sqs.create_queue(QueueName="tagged", tags={"team": "core", "env": "dev"})["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "core", "env": "dev"}
    sqs.tag_queue(QueueUrl=url, Tags={"env": "prod", "cost": "42"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "core", "env": "prod", "cost": "42"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["team", "cost", "missing"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "prod"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["env"])
    assert sqs.list_queue_tags(QueueUrl=url).get("Tags", {}) == {}


# ---- permissions ---------------------------------------------------------------------------------


def _statements(sqs, url):
    raw = attrs(sqs, url).get("Policy")
    return [] if not raw else json.loads(raw)["Statement"]


def test_add_and_remove_permission(sqs, queue):
    arn = attrs(sqs, queue, "QueueArn")["QueueArn"]
    sqs.add_permission(
        QueueUrl=queue,
        Label="AllowSend",
        AWSAccountIds=["111122223333"],
        Actions=["SendMessage", "ReceiveMessage"],
    )
    sqs.add_permission(QueueUrl=queue, Label="AllowAll", AWSAccountIds=["444455556666"], Actions=["*"])
    stmts = {s["Sid"]: s for s in _statements(sqs, queue)}
    assert set(stmts) == {"AllowSend", "AllowAll"}
    send = stmts["AllowSend"]
    assert send["Effect"] == "Allow"
    assert send["Resource"] == arn
    actions = send["Action"] if isinstance(send["Action"], list) else [send["Action"]]
    assert sorted(a.lower() for a in actions) == ["sqs:receivemessage", "sqs:sendmessage"]
    principal = send["Principal"]["AWS"]
    principal = principal if isinstance(principal, list) else [principal]
    assert principal == ["arn:aws:iam::111122223333:root"]

    sqs.remove_permission(QueueUrl=queue, Label="AllowSend")
    assert [s["Sid"] for s in _statements(sqs, queue)] == ["AllowAll"]
    sqs.remove_permission(QueueUrl=queue, Label="AllowAll")
    assert _statements(sqs, queue) == []


def test_remove_unknown_permission_label_fails(sqs, queue):
    expect_error(sqs.remove_permission, "InvalidParameterValue", QueueUrl=queue, Label="nope")


def test_add_duplicate_permission_label_fails(sqs, queue):
    sqs.add_permission(QueueUrl=queue, Label="L", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    expect_error(
        sqs.add_permission,
        "InvalidParameterValue",
        QueueUrl=queue,
        Label="L",
        AWSAccountIds=["111122223333"],
        Actions=["DeleteMessage"],
    )
