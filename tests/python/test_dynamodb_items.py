"""DynamoDB single-item operations with boto3: keys, sizes, conditions, return values, capacity."""

from __future__ import annotations

import pytest
from boto3.dynamodb.conditions import Attr

from ddb_helpers import *  # noqa: F401,F403


@pytest.fixture
def table(ddb):
    return create_table(ddb, "items", sort="sk", sort_type="N")


def key(pk="a", sk="1"):
    return {"pk": {"S": pk}, "sk": {"N": sk}}


def test_put_get_delete_round_trip(ddb, table):
    item = {
        **key(),
        "s": {"S": "text"},
        "n": {"N": "001.500"},
        "b": {"B": b"\x00\x01"},
        "bool": {"BOOL": False},
        "null": {"NULL": True},
        "l": {"L": [{"S": "x"}, {"N": "2"}]},
        "m": {"M": {"inner": {"SS": ["a", "b"]}}},
        "ns": {"NS": ["1", "2"]},
    }
    ddb.put_item(TableName=table, Item=item)
    got = ddb.get_item(TableName=table, Key=key(), ConsistentRead=True)["Item"]
    assert got["n"] == {"N": "1.5"}
    assert got["b"] == {"B": b"\x00\x01"}
    assert got["m"]["M"]["inner"]["SS"] == ["a", "b"] or sorted(got["m"]["M"]["inner"]["SS"]) == ["a", "b"]
    assert got["l"] == {"L": [{"S": "x"}, {"N": "2"}]}
    # A number key is matched numerically.
    assert ddb.get_item(TableName=table, Key=key(sk="1.0"))["Item"]["s"] == {"S": "text"}
    old = ddb.delete_item(TableName=table, Key=key(), ReturnValues="ALL_OLD")["Attributes"]
    assert old["s"] == {"S": "text"}
    assert "Item" not in ddb.get_item(TableName=table, Key=key())
    assert "Attributes" not in ddb.delete_item(TableName=table, Key=key(), ReturnValues="ALL_OLD")


def test_put_return_all_old(ddb, table):
    assert "Attributes" not in ddb.put_item(TableName=table, Item={**key(), "v": {"S": "1"}}, ReturnValues="ALL_OLD")
    old = ddb.put_item(TableName=table, Item={**key(), "v": {"S": "2"}}, ReturnValues="ALL_OLD")["Attributes"]
    assert old["v"] == {"S": "1"}
    expect_ddb_error(
        ddb.put_item, "ValidationException", TableName=table, Item=key(), ReturnValues="ALL_NEW"
    )


@pytest.mark.parametrize(
    "item, message",
    [
        ({"sk": {"N": "1"}}, "One or more parameter values were invalid: Missing the key pk in the item"),
        (
            {"pk": {"N": "1"}, "sk": {"N": "1"}},
            "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N",
        ),
        (
            {"pk": {"S": ""}, "sk": {"N": "1"}},
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain "
            "an empty string value. Key: pk",
        ),
        (
            {"pk": {"S": "x" * 2049}, "sk": {"N": "1"}},
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes",
        ),
        (
            {"pk": {"S": "a"}, "sk": {"N": "1"}, "big": {"S": "x" * (400 * 1024)}},
            "Item size has exceeded the maximum allowed size",
        ),
    ],
)
def test_put_validation(ddb, table, item, message):
    expect_ddb_error(ddb.put_item, "ValidationException", message, TableName=table, Item=item)


def test_sort_key_size_limit(ddb):
    create_table(ddb, "str", sort="sk")
    expect_ddb_error(
        ddb.put_item,
        "ValidationException",
        "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
        TableName="str",
        Item={"pk": {"S": "a"}, "sk": {"S": "y" * 1025}},
    )
    ddb.put_item(TableName="str", Item={"pk": {"S": "a"}, "sk": {"S": "y" * 1024}})


def test_key_must_match_schema(ddb, table):
    for bad in [{"pk": {"S": "a"}}, {**key(), "extra": {"S": "x"}}, {"pk": {"S": "a"}, "sk": {"S": "1"}}]:
        expect_ddb_error(
            ddb.get_item,
            "ValidationException",
            "The provided key element does not match the schema",
            TableName=table,
            Key=bad,
        )


def test_missing_table(ddb):
    expect_ddb_error(
        ddb.put_item, "ResourceNotFoundException", "Requested resource not found", TableName="nope", Item=key()
    )
    expect_ddb_error(ddb.get_item, "ResourceNotFoundException", TableName="nope", Key=key())


def test_invalid_attribute_value_raw(nimbus, table):
    resp = ddb_raw(nimbus, "PutItem", {"TableName": table, "Item": {**key(), "x": {}}})
    assert resp.status == 400
    body = resp.json()
    assert body["__type"].endswith("ValidationException")
    assert "Supplied AttributeValue is empty" in body.get("message", body.get("Message", ""))


def test_condition_expression_and_failure_item(ddb, table):
    ddb.put_item(TableName=table, Item={**key(), "v": {"N": "1"}}, ConditionExpression="attribute_not_exists(pk)")
    err = expect_ddb_error(
        ddb.put_item,
        "ConditionalCheckFailedException",
        "The conditional request failed",
        TableName=table,
        Item=key(),
        ConditionExpression="attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    assert err["Item"]["v"] == {"N": "1"}
    ddb.delete_item(
        TableName=table,
        Key=key(),
        ConditionExpression="v = :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    assert "Item" not in ddb.get_item(TableName=table, Key=key())


def test_update_item_return_values(ddb, table):
    out = ddb.update_item(
        TableName=table,
        Key=key(),
        UpdateExpression="SET a = :a, b = :b",
        ExpressionAttributeValues={":a": {"S": "x"}, ":b": {"N": "5"}},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert out == {**key(), "a": {"S": "x"}, "b": {"N": "5"}}
    out = ddb.update_item(
        TableName=table,
        Key=key(),
        UpdateExpression="ADD b :n REMOVE a",
        ExpressionAttributeValues={":n": {"N": "2"}},
        ReturnValues="UPDATED_OLD",
    )["Attributes"]
    assert out == {"a": {"S": "x"}, "b": {"N": "5"}}
    out = ddb.update_item(
        TableName=table,
        Key=key(),
        UpdateExpression="SET #c = :c",
        ExpressionAttributeNames={"#c": "c"},
        ExpressionAttributeValues={":c": {"S": "new"}},
        ReturnValues="UPDATED_NEW",
    )["Attributes"]
    assert out == {"c": {"S": "new"}}
    got = ddb.get_item(TableName=table, Key=key())["Item"]
    assert got == {**key(), "b": {"N": "7"}, "c": {"S": "new"}}


def test_update_cannot_touch_key(ddb, table):
    expect_ddb_error(
        ddb.update_item,
        "ValidationException",
        "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key",
        TableName=table,
        Key=key(),
        UpdateExpression="SET pk = :v",
        ExpressionAttributeValues={":v": {"S": "b"}},
    )


def test_update_condition_failure_changes_nothing(ddb, table):
    ddb.put_item(TableName=table, Item={**key(), "v": {"N": "1"}})
    expect_ddb_error(
        ddb.update_item,
        "ConditionalCheckFailedException",
        TableName=table,
        Key=key(),
        UpdateExpression="SET v = :two",
        ConditionExpression="v = :three",
        ExpressionAttributeValues={":two": {"N": "2"}, ":three": {"N": "3"}},
    )
    assert ddb.get_item(TableName=table, Key=key())["Item"]["v"] == {"N": "1"}


def test_unused_expression_values_are_errors(ddb, table):
    expect_ddb_error(
        ddb.put_item,
        "ValidationException",
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}",
        TableName=table,
        Item=key(),
        ConditionExpression="attribute_not_exists(pk)",
        ExpressionAttributeValues={":x": {"S": "1"}},
    )


def test_mixing_legacy_and_expressions(ddb, table):
    err = expect_ddb_error(
        ddb.put_item,
        "ValidationException",
        TableName=table,
        Item=key(),
        ConditionExpression="attribute_not_exists(pk)",
        Expected={"pk": {"Exists": False}},
    )
    assert err["Error"]["Message"].startswith(
        "Can not use both expression and non-expression parameters in the same request"
    )


def test_legacy_expected_and_attribute_updates(ddb, table):
    ddb.put_item(TableName=table, Item=key(), Expected={"pk": {"Exists": False}})
    expect_ddb_error(
        ddb.put_item,
        "ConditionalCheckFailedException",
        TableName=table,
        Item=key(),
        Expected={"pk": {"Exists": False}},
    )
    ddb.update_item(
        TableName=table,
        Key=key(),
        AttributeUpdates={"n": {"Action": "ADD", "Value": {"N": "3"}}, "s": {"Action": "PUT", "Value": {"S": "v"}}},
    )
    got = ddb.get_item(TableName=table, Key=key(), AttributesToGet=["n", "s"])["Item"]
    assert got == {"n": {"N": "3"}, "s": {"S": "v"}}


def test_projection_expression(ddb, table):
    ddb.put_item(TableName=table, Item={**key(), "a": {"M": {"b": {"S": "x"}, "c": {"S": "y"}}}, "d": {"S": "z"}})
    got = ddb.get_item(
        TableName=table, Key=key(), ProjectionExpression="#a.b, d", ExpressionAttributeNames={"#a": "a"}
    )["Item"]
    assert got == {"a": {"M": {"b": {"S": "x"}}}, "d": {"S": "z"}}


def test_consumed_capacity(ddb):
    create_table(
        ddb,
        "cap",
        ExtraAttributes=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    item = {"pk": {"S": "a"}, "g": {"S": "x"}, "pad": {"S": "y" * 1500}}
    total = ddb.put_item(TableName="cap", Item=item, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]
    assert total["TableName"] == "cap"
    assert total["CapacityUnits"] == 4.0  # 2 KB rounded up on the table and on the index
    changed = {**item, "pad": {"S": "z" * 1500}}
    indexes = ddb.put_item(TableName="cap", Item=changed, ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
    assert indexes["Table"]["CapacityUnits"] == 2.0
    assert indexes["GlobalSecondaryIndexes"]["by-g"]["CapacityUnits"] == 2.0
    read = ddb.get_item(TableName="cap", Key={"pk": {"S": "a"}}, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]
    assert read["CapacityUnits"] == 0.5
    read = ddb.get_item(
        TableName="cap", Key={"pk": {"S": "a"}}, ConsistentRead=True, ReturnConsumedCapacity="TOTAL"
    )["ConsumedCapacity"]
    assert read["CapacityUnits"] == 1.0


def test_table_resource_api(ddb_resource, ddb):
    create_table(ddb, "res", sort="sk", sort_type="N")
    table = ddb_resource.Table("res")
    table.put_item(Item={"pk": "a", "sk": 1, "tags": {"x", "y"}, "price": 9})
    assert table.get_item(Key={"pk": "a", "sk": 1})["Item"]["price"] == 9
    table.update_item(
        Key={"pk": "a", "sk": 1},
        UpdateExpression="SET price = price + :d",
        ConditionExpression=Attr("price").gt(5) & Attr("tags").contains("x"),
        ExpressionAttributeValues={":d": 1},
    )
    assert table.get_item(Key={"pk": "a", "sk": 1})["Item"]["price"] == 10
    with pytest.raises(table.meta.client.exceptions.ConditionalCheckFailedException):
        table.delete_item(Key={"pk": "a", "sk": 1}, ConditionExpression=Attr("price").lt(5))


def test_refused_update_leaves_every_index_untouched(ddb):
    """Index keys are all checked before any change: a mistyped key for the second index must
    not leave the first index pointing at a value the item never took."""
    create_table(
        ddb,
        "two-indexes",
        ExtraAttributes=[
            {"AttributeName": "a", "AttributeType": "S"},
            {"AttributeName": "b", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": name,
                "KeySchema": [{"AttributeName": attribute, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, attribute in [("by-a", "a"), ("by-b", "b")]
        ],
    )
    ddb.put_item(TableName="two-indexes", Item={"pk": {"S": "item"}, "a": {"S": "before"}})
    expect_ddb_error(
        ddb.update_item,
        "ValidationException",
        TableName="two-indexes",
        Key={"pk": {"S": "item"}},
        UpdateExpression="SET a = :a, b = :b",
        ExpressionAttributeValues={":a": {"S": "after"}, ":b": {"N": "5"}},
    )
    assert ddb.get_item(TableName="two-indexes", Key={"pk": {"S": "item"}})["Item"]["a"] == {"S": "before"}
    for value, expected in [("after", 0), ("before", 1)]:
        found = ddb.query(
            TableName="two-indexes",
            IndexName="by-a",
            KeyConditionExpression="a = :v",
            ExpressionAttributeValues={":v": {"S": value}},
        )
        assert found["Count"] == expected, (value, found)
