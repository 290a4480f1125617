"""DynamoDB Query and Scan with boto3: key conditions, filters, paging, indexes, segments."""

from __future__ import annotations

import pytest
from boto3.dynamodb.conditions import Attr, Key

from ddb_helpers import *  # noqa: F401,F403


@pytest.fixture
def table(ddb):
    create_table(
        ddb,
        "q",
        sort="sk",
        sort_type="N",
        ExtraAttributes=[
            {"AttributeName": "g", "AttributeType": "S"},
            {"AttributeName": "l", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-l",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    items = []
    for i in range(20):
        item = {"pk": {"S": "p"}, "sk": {"N": str(i)}, "v": {"N": str(i % 3)}}
        if i % 2 == 0:
            item["g"] = {"S": "even"}
        item["l"] = {"S": f"l{19 - i:02d}"}
        items.append({"PutRequest": {"Item": item}})
    ddb.batch_write_item(RequestItems={"q": items[:10]})
    ddb.batch_write_item(RequestItems={"q": items[10:]})
    ddb.put_item(TableName="q", Item={"pk": {"S": "other"}, "sk": {"N": "-1"}})
    return "q"


def sks(items):
    return [int(i["sk"]["N"]) for i in items]


def test_sort_conditions(ddb, table):
    def query(expr, **values):
        return sks(
            ddb.query(
                TableName=table,
                KeyConditionExpression="pk = :p AND " + expr,
                ExpressionAttributeValues={":p": {"S": "p"}, **{k: {"N": str(v)} for k, v in values.items()}},
            )["Items"]
        )

    assert query("sk < :a", **{":a": 3}) == [0, 1, 2]
    assert query("sk <= :a", **{":a": 3}) == [0, 1, 2, 3]
    assert query("sk > :a", **{":a": 17}) == [18, 19]
    assert query("sk >= :a", **{":a": 17}) == [17, 18, 19]
    assert query("sk = :a", **{":a": 5}) == [5]
    assert query("sk BETWEEN :a AND :b", **{":a": 4, ":b": 6}) == [4, 5, 6]
    # Numbers sort numerically, not as text.
    assert query("sk BETWEEN :a AND :b", **{":a": 9, ":b": 11}) == [9, 10, 11]


def test_between_bounds_must_be_ordered(ddb, table):
    err = expect_ddb_error(
        ddb.query,
        "ValidationException",
        TableName=table,
        KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
        ExpressionAttributeValues={":p": {"S": "p"}, ":a": {"N": "5"}, ":b": {"N": "1"}},
    )
    assert "BETWEEN operator requires upper bound to be greater than or equal to lower bound" in err["Error"]["Message"]


def test_backwards_limit_and_paging(ddb, table):
    out = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        ScanIndexForward=False,
        Limit=3,
    )
    assert sks(out["Items"]) == [19, 18, 17]
    assert out["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"N": "17"}}
    out = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        ScanIndexForward=False,
        Limit=3,
        ExclusiveStartKey=out["LastEvaluatedKey"],
    )
    assert sks(out["Items"]) == [16, 15, 14]
    pages = ddb.get_paginator("query").paginate(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        PaginationConfig={"PageSize": 6},
    )
    assert [s for page in pages for s in sks(page["Items"])] == list(range(20))


def test_filter_counts_and_select(ddb, table):
    out = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        FilterExpression="v = :zero",
        ExpressionAttributeValues={":p": {"S": "p"}, ":zero": {"N": "0"}},
        Limit=10,
    )
    # Limit counts items read before the filter.
    assert out["ScannedCount"] == 10
    assert sks(out["Items"]) == [0, 3, 6, 9]
    assert out["Count"] == 4
    count = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        Select="COUNT",
    )
    assert count["Count"] == 20 and "Items" not in count
    specific = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :p AND sk = :s",
        ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"N": "4"}},
        ProjectionExpression="v",
    )
    assert specific["Items"] == [{"v": {"N": "1"}}]
    expect_ddb_error(
        ddb.query,
        "ValidationException",
        "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        Select="SPECIFIC_ATTRIBUTES",
    )


def test_filter_may_not_name_keys(ddb, table):
    expect_ddb_error(
        ddb.query,
        "ValidationException",
        "Filter Expression can only contain non-primary key attributes: Primary key attribute: sk",
        TableName=table,
        KeyConditionExpression="pk = :p",
        FilterExpression="sk = :s",
        ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"N": "1"}},
    )


def test_global_index_query_is_sparse_and_projected(ddb, table):
    out = ddb.query(
        TableName=table,
        IndexName="by-g",
        KeyConditionExpression="g = :g AND sk >= :s",
        ExpressionAttributeValues={":g": {"S": "even"}, ":s": {"N": "10"}},
    )
    assert sks(out["Items"]) == [10, 12, 14, 16, 18]
    assert set(out["Items"][0]) == {"pk", "sk", "g"}
    page = ddb.query(
        TableName=table,
        IndexName="by-g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "even"}},
        Limit=2,
    )
    assert page["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"N": "2"}, "g": {"S": "even"}}
    rest = ddb.query(
        TableName=table,
        IndexName="by-g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "even"}},
        ExclusiveStartKey=page["LastEvaluatedKey"],
    )
    assert sks(rest["Items"]) == [4, 6, 8, 10, 12, 14, 16, 18]
    expect_ddb_error(
        ddb.query,
        "ValidationException",
        "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global "
        "secondary index by-g because its projection type is not ALL",
        TableName=table,
        IndexName="by-g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "even"}},
        Select="ALL_ATTRIBUTES",
    )
    expect_ddb_error(
        ddb.query,
        "ValidationException",
        "Consistent reads are not supported on global secondary indexes",
        TableName=table,
        IndexName="by-g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "even"}},
        ConsistentRead=True,
    )
    expect_ddb_error(
        ddb.query,
        "ValidationException",
        "The table does not have the specified index: nope",
        TableName=table,
        IndexName="nope",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "even"}},
    )


def test_local_index_orders_by_its_sort_key(ddb, table):
    out = ddb.query(
        TableName=table,
        IndexName="by-l",
        KeyConditionExpression="pk = :p AND begins_with(l, :prefix)",
        ExpressionAttributeValues={":p": {"S": "p"}, ":prefix": {"S": "l0"}},
    )
    assert [i["l"]["S"] for i in out["Items"]] == [f"l{n:02d}" for n in range(10)]
    assert sks(out["Items"]) == list(range(19, 9, -1))


def test_index_follows_updates_and_deletes(ddb, table):
    ddb.update_item(
        TableName=table,
        Key={"pk": {"S": "p"}, "sk": {"N": "0"}},
        UpdateExpression="SET g = :odd",
        ExpressionAttributeValues={":odd": {"S": "odd"}},
    )
    ddb.delete_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"N": "2"}})

    def by_g(value):
        return sks(
            ddb.query(
                TableName=table,
                IndexName="by-g",
                KeyConditionExpression="g = :g",
                ExpressionAttributeValues={":g": {"S": value}},
            )["Items"]
        )

    assert by_g("odd") == [0]
    assert by_g("even") == [4, 6, 8, 10, 12, 14, 16, 18]


def test_new_index_is_backfilled(ddb, table):
    ddb.update_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "v", "AttributeType": "N"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "by-v",
                    "KeySchema": [{"AttributeName": "v", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            }
        ],
    )
    desc = ddb.describe_table(TableName=table)["Table"]
    index = next(i for i in desc["GlobalSecondaryIndexes"] if i["IndexName"] == "by-v")
    assert index["IndexStatus"] == "ACTIVE"
    assert index["ItemCount"] == 20
    out = ddb.query(
        TableName=table,
        IndexName="by-v",
        KeyConditionExpression="v = :v",
        ExpressionAttributeValues={":v": {"N": "2"}},
    )
    assert sorted(sks(out["Items"])) == [2, 5, 8, 11, 14, 17]
    ddb.update_table(TableName=table, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by-v"}}])
    names = [i["IndexName"] for i in ddb.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]]
    assert names == ["by-g"]


def test_scan_filters_pages_and_segments(ddb, table):
    everything = ddb.scan(TableName=table)
    assert everything["Count"] == 21
    filtered = ddb.scan(TableName=table, FilterExpression="v = :one", ExpressionAttributeValues={":one": {"N": "1"}})
    assert filtered["ScannedCount"] == 21 and filtered["Count"] == 7
    pages = ddb.get_paginator("scan").paginate(TableName=table, PaginationConfig={"PageSize": 4})
    keys = [(i["pk"]["S"], i["sk"]["N"]) for page in pages for i in page["Items"]]
    assert len(keys) == 21 and len(set(keys)) == 21
    segments = [ddb.scan(TableName=table, Segment=s, TotalSegments=4)["Items"] for s in range(4)]
    seg_keys = [(i["pk"]["S"], i["sk"]["N"]) for seg in segments for i in seg]
    assert sorted(seg_keys) == sorted(keys)
    expect_ddb_error(
        ddb.scan,
        "ValidationException",
        "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 4 is not "
        "less than TotalSegments: 4",
        TableName=table,
        Segment=4,
        TotalSegments=4,
    )
    index_scan = ddb.scan(TableName=table, IndexName="by-g")
    assert index_scan["Count"] == 10


def test_one_megabyte_page(ddb):
    create_table(ddb, "big", sort="sk", sort_type="N")
    pad = "x" * 100_000
    for start in range(0, 15, 5):
        ddb.batch_write_item(
            RequestItems={
                "big": [
                    {"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"N": str(i)}, "pad": {"S": pad}}}}
                    for i in range(start, start + 5)
                ]
            }
        )
    first = ddb.query(
        TableName="big",
        KeyConditionExpression="pk = :p",
        FilterExpression="attribute_exists(nothing_here)",
        ExpressionAttributeValues={":p": {"S": "p"}},
    )
    # The page stops after 1 MB read even though the filter kept nothing.
    assert first["Count"] == 0
    assert first["ScannedCount"] < 15
    assert "LastEvaluatedKey" in first


def test_resource_api_with_key_conditions(ddb_resource, ddb, table):
    t = ddb_resource.Table(table)
    out = t.query(KeyConditionExpression=Key("pk").eq("p") & Key("sk").between(3, 5), FilterExpression=Attr("v").ne(0))
    assert [int(i["sk"]) for i in out["Items"]] == [4, 5]
    legacy = ddb.query(
        TableName=table,
        KeyConditions={
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
            "sk": {"ComparisonOperator": "LT", "AttributeValueList": [{"N": "2"}]},
        },
    )
    assert sks(legacy["Items"]) == [0, 1]
