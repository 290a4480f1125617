"""DynamoDB Streams with boto3: a record per changing write (INSERT, MODIFY, REMOVE) with the
images the view type asks for, none for a write that changes nothing, iterators of every type,
and REMOVE records from the TTL sweep naming the service."""

from __future__ import annotations

import time

import pytest

from ddb_helpers import *  # noqa: F401,F403


@pytest.fixture(scope="session")
def _streams_session_client(nimbus):
    return nimbus.client("dynamodbstreams")


@pytest.fixture
def streams(nimbus, _streams_session_client):
    return _streams_session_client


def stream_table(ddb, view="NEW_AND_OLD_IMAGES", name="s"):
    desc = ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
    )["TableDescription"]
    return desc["LatestStreamArn"]


def read_all(streams, arn, kind="TRIM_HORIZON", **extra):
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind, **extra)["ShardIterator"]
    return streams.get_records(ShardIterator=it)


def test_records_follow_writes(ddb, streams):
    arn = stream_table(ddb)
    listed = streams.list_streams()["Streams"]
    assert listed == [{"StreamArn": arn, "TableName": "s", "StreamLabel": arn.rsplit("/", 1)[1]}]
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "ENABLED" and desc["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert desc["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]

    ddb.put_item(TableName="s", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    ddb.put_item(TableName="s", Item={"pk": {"S": "a"}, "v": {"N": "1"}})  # changes nothing
    ddb.update_item(
        TableName="s",
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "2"}},
    )
    ddb.delete_item(TableName="s", Key={"pk": {"S": "a"}})
    ddb.delete_item(TableName="s", Key={"pk": {"S": "a"}})  # nothing to delete
    records = read_all(streams, arn)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = (r["dynamodb"] for r in records)
    assert insert["Keys"] == {"pk": {"S": "a"}}
    assert insert["NewImage"] == {"pk": {"S": "a"}, "v": {"N": "1"}} and "OldImage" not in insert
    assert modify["OldImage"]["v"] == {"N": "1"} and modify["NewImage"]["v"] == {"N": "2"}
    assert remove["OldImage"]["v"] == {"N": "2"} and "NewImage" not in remove
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert all(r["eventSource"] == "aws:dynamodb" and r["dynamodb"]["SizeBytes"] > 0 for r in records)

    after = read_all(streams, arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=records[0]["dynamodb"]["SequenceNumber"])
    assert [r["eventName"] for r in after["Records"]] == ["MODIFY", "REMOVE"]
    at = read_all(streams, arn, "AT_SEQUENCE_NUMBER", SequenceNumber=records[1]["dynamodb"]["SequenceNumber"])
    assert [r["eventName"] for r in at["Records"]] == ["MODIFY", "REMOVE"]
    latest = read_all(streams, arn, "LATEST")
    assert latest["Records"] == []
    ddb.put_item(TableName="s", Item={"pk": {"S": "b"}})
    more = streams.get_records(ShardIterator=latest["NextShardIterator"])["Records"]
    assert [r["eventName"] for r in more] == ["INSERT"]


def test_keys_only_view_and_transactions(ddb, streams):
    arn = stream_table(ddb, view="KEYS_ONLY", name="k")
    ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": "k", "Item": {"pk": {"S": x}, "v": {"S": "1"}}}} for x in ("a", "b")]
    )
    records = read_all(streams, arn)["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["a", "b"]
    assert all("NewImage" not in r["dynamodb"] for r in records)


def test_ttl_deletions_name_the_service(ddb, streams, clock):
    arn = stream_table(ddb, view="OLD_IMAGE", name="t")
    ddb.update_time_to_live(TableName="t", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    now = clock.now_ms() // 1000
    ddb.put_item(TableName="t", Item={"pk": {"S": "old"}, "exp": {"N": str(now - 1)}})
    clock.advance(5)
    deadline = time.monotonic() + 10
    records = []
    while time.monotonic() < deadline:
        records = read_all(streams, arn)["Records"]
        if len(records) == 2:
            break
        time.sleep(0.05)
    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"]
    assert records[1]["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}


def test_retention_and_iterator_expiry(ddb, streams, clock):
    arn = stream_table(ddb, name="r")
    ddb.put_item(TableName="r", Item={"pk": {"S": "a"}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    clock.advance(16 * 60)
    expect_ddb_error(streams.get_records, "ExpiredIteratorException", ShardIterator=it)
    clock.advance(24 * 3600)
    assert read_all(streams, arn)["Records"] == []


def test_disabled_stream_closes_its_shard(ddb, streams):
    arn = stream_table(ddb, name="d")
    ddb.put_item(TableName="d", Item={"pk": {"S": "a"}})
    ddb.update_table(TableName="d", StreamSpecification={"StreamEnabled": False})
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "DISABLED"
    assert "EndingSequenceNumber" in desc["Shards"][0]["SequenceNumberRange"]
    first = read_all(streams, arn)
    assert len(first["Records"]) == 1
    assert "NextShardIterator" not in streams.get_records(ShardIterator=first["NextShardIterator"])
    expect_ddb_error(
        streams.describe_stream, "ResourceNotFoundException", StreamArn=arn.replace("table/d", "table/none")
    )
