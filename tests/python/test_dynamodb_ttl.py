"""DynamoDB time to live: the sweep deletes items whose TTL attribute has passed by the server
clock (moved by the test), keeps the rest, and keeps indexes in step."""

from __future__ import annotations

import time

from ddb_helpers import *  # noqa: F401,F403
from nimbus_harness import wait_for


def test_expired_items_are_deleted(ddb, clock):
    create_table(
        ddb,
        "ttl",
        ExtraAttributes=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    now = clock.now_ms() // 1000
    # Written before TTL is enabled: enabling makes it a candidate too.
    ddb.put_item(TableName="ttl", Item={"pk": {"S": "early"}, "exp": {"N": str(now + 30)}, "g": {"S": "x"}})
    ddb.update_time_to_live(TableName="ttl", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    ddb.put_item(TableName="ttl", Item={"pk": {"S": "soon"}, "exp": {"N": str(now + 60)}, "g": {"S": "x"}})
    ddb.put_item(TableName="ttl", Item={"pk": {"S": "later"}, "exp": {"N": str(now + 3600)}})
    ddb.put_item(TableName="ttl", Item={"pk": {"S": "text"}, "exp": {"S": str(now)}})
    ddb.put_item(TableName="ttl", Item={"pk": {"S": "ancient"}, "exp": {"N": str(now - 6 * 365 * 86400)}})
    ddb.put_item(TableName="ttl", Item={"pk": {"S": "none"}})
    clock.advance(120)

    def remaining():
        return sorted(i["pk"]["S"] for i in ddb.scan(TableName="ttl", ConsistentRead=True)["Items"])

    wait_for(
        lambda: remaining() == ["ancient", "later", "none", "text"],
        what="the sweep to delete exactly the expired items",
    )
    index = ddb.query(
        TableName="ttl",
        IndexName="by-g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "x"}},
    )
    assert index["Items"] == []
    # Moving the expiry forward keeps the item.
    ddb.update_item(
        TableName="ttl",
        Key={"pk": {"S": "later"}},
        UpdateExpression="SET #e = :e",
        ExpressionAttributeNames={"#e": "exp"},
        ExpressionAttributeValues={":e": {"N": str(now + 100_000)}},
    )
    clock.advance(3600)
    time.sleep(0.5)
    assert "later" in remaining()


def test_disabled_ttl_deletes_nothing(ddb, clock):
    create_table(ddb, "keep")
    now = clock.now_ms() // 1000
    ddb.put_item(TableName="keep", Item={"pk": {"S": "a"}, "exp": {"N": str(now - 10)}})
    clock.advance(60)
    time.sleep(0.5)
    assert "Item" in ddb.get_item(TableName="keep", Key={"pk": {"S": "a"}})
