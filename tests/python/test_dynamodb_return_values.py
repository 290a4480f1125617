"""UpdateItem ReturnValues UPDATED_OLD / UPDATED_NEW with boto3: only the written document
paths come back, nested as in the item (nested maps, list indexes, sets, REMOVE)."""

from __future__ import annotations

import pytest

from ddb_helpers import *  # noqa: F401,F403

KEY = {"pk": {"S": "k"}}


@pytest.fixture
def table(ddb):
    name = create_table(ddb, "retvals")
    ddb.put_item(
        TableName=name,
        Item={
            **KEY,
            "a": {"M": {"b": {"S": "dog"}, "c": {"L": [{"N": "1"}, {"N": "2"}, {"N": "3"}]}}},
            "d": {"S": "cat"},
            "tags": {"SS": ["x", "y"]},
            "n": {"N": "10"},
        },
    )
    return name


def update(ddb, table, expression, return_values, values=None, **extra):
    kwargs = {"TableName": table, "Key": KEY, "UpdateExpression": expression, "ReturnValues": return_values}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    kwargs.update(extra)
    return ddb.update_item(**kwargs).get("Attributes")


def stored(ddb, table):
    return ddb.get_item(TableName=table, Key=KEY, ConsistentRead=True)["Item"]


def test_nested_map_key_returns_only_that_key(ddb, table):
    got = update(ddb, table, "SET a.b = :v", "UPDATED_OLD", {":v": {"S": "hi"}})
    assert got == {"a": {"M": {"b": {"S": "dog"}}}}
    got = update(ddb, table, "SET a.b = :v", "UPDATED_NEW", {":v": {"S": "yo"}})
    assert got == {"a": {"M": {"b": {"S": "yo"}}}}
    # ALL_OLD / ALL_NEW still answer the whole item.
    got = update(ddb, table, "SET a.b = :v", "ALL_NEW", {":v": {"S": "hey"}})
    assert got["d"] == {"S": "cat"} and got["a"]["M"]["c"]["L"][0] == {"N": "1"}


def test_list_index_returns_the_element_under_its_list(ddb, table):
    got = update(ddb, table, "SET a.c[1] = :v", "UPDATED_OLD", {":v": {"N": "7"}})
    assert got == {"a": {"M": {"c": {"L": [{"N": "2"}]}}}}
    got = update(ddb, table, "SET a.c[1] = :v", "UPDATED_NEW", {":v": {"N": "8"}})
    assert got == {"a": {"M": {"c": {"L": [{"N": "8"}]}}}}
    # Two paths in one attribute merge into one nested answer.
    got = update(
        ddb, table, "SET a.c[2] = :n, a.b = :s", "UPDATED_OLD", {":n": {"N": "9"}, ":s": {"S": "owl"}}
    )
    assert got == {"a": {"M": {"b": {"S": "dog"}, "c": {"L": [{"N": "3"}]}}}}
    # Two indexes of one list come back in list order, without gaps.
    got = update(ddb, table, "SET a.c[2] = :x, a.c[0] = :y", "UPDATED_NEW", {":x": {"N": "30"}, ":y": {"N": "10"}})
    assert got == {"a": {"M": {"c": {"L": [{"N": "10"}, {"N": "30"}]}}}}
    # An index past the end appends; the path itself names nothing afterwards.
    assert update(ddb, table, "SET a.c[100] = :v", "UPDATED_NEW", {":v": {"N": "70"}}) is None
    assert stored(ddb, table)["a"]["M"]["c"]["L"][-1] == {"N": "70"}


def test_new_nested_attribute_is_only_in_updated_new(ddb, table):
    assert update(ddb, table, "SET a.x1 = :v", "UPDATED_OLD", {":v": {"N": "8"}}) is None
    got = update(ddb, table, "SET a.x2 = :v", "UPDATED_NEW", {":v": {"N": "8"}})
    assert got == {"a": {"M": {"x2": {"N": "8"}}}}


def test_remove_returns_old_values_and_nothing_new(ddb, table):
    assert update(ddb, table, "REMOVE d", "UPDATED_OLD") == {"d": {"S": "cat"}}
    ddb.put_item(TableName=table, Item={**KEY, "d": {"S": "cat"}, "e": {"S": "eel"}})
    assert update(ddb, table, "REMOVE d", "UPDATED_NEW") is None
    # Removing something absent writes nothing that existed.
    assert update(ddb, table, "REMOVE zz", "UPDATED_OLD") is None
    got = update(ddb, table, "SET d = :v REMOVE e", "UPDATED_NEW", {":v": {"S": "dingo"}})
    assert got == {"d": {"S": "dingo"}}


def test_remove_list_elements(ddb, table):
    # a.c[5] does not exist, so only a.c[1] comes back.
    got = update(ddb, table, "REMOVE a.c[1], a.c[5]", "UPDATED_OLD")
    assert got == {"a": {"M": {"c": {"L": [{"N": "2"}]}}}}
    # After removing a.c[0] the list shifts, and a.c[0] names the next element.
    got = update(ddb, table, "REMOVE a.c[0]", "UPDATED_NEW")
    assert got == {"a": {"M": {"c": {"L": [{"N": "3"}]}}}}


def test_add_and_delete_on_sets_and_numbers(ddb, table):
    got = update(ddb, table, "ADD tags :t, n :one", "UPDATED_OLD", {":t": {"SS": ["z"]}, ":one": {"N": "1"}})
    assert sorted(got["tags"]["SS"]) == ["x", "y"]
    assert got["n"] == {"N": "10"} and set(got) == {"tags", "n"}
    got = update(ddb, table, "ADD tags :t, n :one", "UPDATED_NEW", {":t": {"SS": ["w"]}, ":one": {"N": "1"}})
    assert sorted(got["tags"]["SS"]) == ["w", "x", "y", "z"]
    assert got["n"] == {"N": "12"}
    got = update(ddb, table, "DELETE tags :t", "UPDATED_NEW", {":t": {"SS": ["w", "x"]}})
    assert sorted(got["tags"]["SS"]) == ["y", "z"]
    # Deleting the last elements removes the set: old values only.
    got = update(ddb, table, "DELETE tags :t", "UPDATED_OLD", {":t": {"SS": ["y", "z"]}})
    assert sorted(got["tags"]["SS"]) == ["y", "z"]
    assert update(ddb, table, "ADD tags :t", "UPDATED_OLD", {":t": {"SS": ["q"]}}) is None
    assert update(ddb, table, "DELETE tags :t", "UPDATED_NEW", {":t": {"SS": ["q"]}}) is None
    assert "tags" not in stored(ddb, table)


def test_untouched_attributes_never_come_back(ddb, table):
    got = update(ddb, table, "SET d = d", "UPDATED_OLD")
    # Overwriting with the same value is still an update.
    assert got == {"d": {"S": "cat"}}
    got = update(ddb, table, "SET fresh = :v", "UPDATED_NEW", {":v": {"BOOL": True}})
    assert got == {"fresh": {"BOOL": True}}


def test_new_item_updated_new_has_no_key(ddb, table):
    # A nested path under a missing attribute is refused and writes nothing.
    expect_ddb_error(
        ddb.update_item,
        "ValidationException",
        "The document path provided in the update expression is invalid for update",
        TableName=table,
        Key={"pk": {"S": "other"}},
        UpdateExpression="SET m.deep = :v",
        ExpressionAttributeValues={":v": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "other"}})
    # Creating the item: only the written attribute, not the key.
    got = ddb.update_item(
        TableName=table,
        Key={"pk": {"S": "other"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )["Attributes"]
    assert got == {"v": {"N": "1"}}


def test_legacy_attribute_updates(ddb, table):
    got = ddb.update_item(
        TableName=table,
        Key=KEY,
        AttributeUpdates={"n": {"Action": "ADD", "Value": {"N": "5"}}, "d": {"Action": "DELETE"}},
        ReturnValues="UPDATED_OLD",
    )["Attributes"]
    assert got == {"n": {"N": "10"}, "d": {"S": "cat"}}
    got = ddb.update_item(
        TableName=table,
        Key=KEY,
        AttributeUpdates={"n": {"Action": "ADD", "Value": {"N": "5"}}, "d": {"Action": "DELETE"}},
        ReturnValues="UPDATED_NEW",
    )["Attributes"]
    assert got == {"n": {"N": "20"}}
    assert "Attributes" not in ddb.update_item(
        TableName=table, Key=KEY, AttributeUpdates={}, ReturnValues="UPDATED_NEW"
    )
