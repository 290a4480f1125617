"""DynamoDB batches and transactions with boto3: limits, duplicates, all-or-nothing,
cancellation reasons, client-token idempotency, serialized concurrent transactions."""

from __future__ import annotations

import threading

import pytest

from ddb_helpers import *  # noqa: F401,F403


@pytest.fixture
def table(ddb):
    return create_table(ddb, "b")


def put(pk, **attrs):
    return {"PutRequest": {"Item": {"pk": {"S": pk}, **attrs}}}


def test_batch_write_and_get(ddb, table):
    ddb.batch_write_item(RequestItems={table: [put(f"k{i}", v={"N": str(i)}) for i in range(25)]})
    ddb.batch_write_item(
        RequestItems={table: [{"DeleteRequest": {"Key": {"pk": {"S": "k0"}}}}, put("k1", v={"N": "100"})]}
    )
    keys = [{"pk": {"S": f"k{i}"}} for i in range(3)] + [{"pk": {"S": "missing"}}]
    out = ddb.batch_get_item(RequestItems={table: {"Keys": keys, "ProjectionExpression": "v"}})
    assert out["UnprocessedKeys"] == {}
    assert sorted(int(i["v"]["N"]) for i in out["Responses"][table]) == [2, 100]


def test_batch_limits_and_duplicates(ddb, table):
    expect_ddb_error(
        ddb.batch_write_item,
        "ValidationException",
        "Provided list of item keys contains duplicates",
        RequestItems={table: [put("a"), put("a")]},
    )
    create_table(ddb, "b2")
    err = expect_ddb_error(
        ddb.batch_write_item,
        "ValidationException",
        RequestItems={table: [put(f"x{i}") for i in range(13)], "b2": [put(f"y{i}") for i in range(13)]},
    )
    assert "less than or equal to 25" in err["Error"]["Message"]
    expect_ddb_error(
        ddb.batch_get_item,
        "ValidationException",
        "Too many items requested for the BatchGetItem call",
        RequestItems={
            table: {"Keys": [{"pk": {"S": f"k{i}"}} for i in range(51)]},
            "b2": {"Keys": [{"pk": {"S": f"k{i}"}} for i in range(51)]},
        },
    )
    expect_ddb_error(
        ddb.batch_get_item,
        "ValidationException",
        "Provided list of item keys contains duplicates",
        RequestItems={table: {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "a"}}]}},
    )
    expect_ddb_error(ddb.batch_write_item, "ResourceNotFoundException", RequestItems={"nope": [put("a")]})


def test_batch_write_is_all_or_nothing_on_bad_item(ddb, table):
    expect_ddb_error(
        ddb.batch_write_item,
        "ValidationException",
        RequestItems={table: [put("fine"), {"PutRequest": {"Item": {"pk": {"N": "1"}}}}]},
    )
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "fine"}})


def test_batch_get_answers_at_most_16_mb(ddb, table):
    pad = "x" * 390_000
    for start in range(0, 50, 10):
        ddb.batch_write_item(RequestItems={table: [put(f"big{i}", pad={"S": pad}) for i in range(start, start + 10)]})
    keys = [{"pk": {"S": f"big{i}"}} for i in range(50)]
    out = ddb.batch_get_item(RequestItems={table: {"Keys": keys}})
    got = len(out["Responses"][table])
    left = out["UnprocessedKeys"][table]["Keys"]
    assert got < 50 and got + len(left) == 50


def test_transact_write_all_or_nothing_with_reasons(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "exists"}, "n": {"N": "1"}})
    with pytest.raises(ddb.exceptions.TransactionCanceledException) as info:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "new"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "exists"}},
                        "ConditionExpression": "n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )
    err = info.value.response
    assert err["Error"]["Message"] == (
        "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]"
    )
    reasons = err["CancellationReasons"]
    assert reasons[0] == {"Code": "None"}
    assert reasons[1]["Code"] == "ConditionalCheckFailed"
    assert reasons[1]["Item"] == {"pk": {"S": "exists"}, "n": {"N": "1"}}
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "new"}})

    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": "new"}}}},
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": "exists"}},
                    "UpdateExpression": "SET n = n + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {"Delete": {"TableName": table, "Key": {"pk": {"S": "gone"}}}},
        ]
    )
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "exists"}})["Item"]["n"] == {"N": "2"}
    assert "Item" in ddb.get_item(TableName=table, Key={"pk": {"S": "new"}})


def test_transact_rejects_two_operations_on_one_item(ddb, table):
    expect_ddb_error(
        ddb.transact_write_items,
        "ValidationException",
        "Transaction request cannot include multiple operations on one item",
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": "a"}}}},
            {"Delete": {"TableName": table, "Key": {"pk": {"S": "a"}}}},
        ],
    )


def test_client_request_token_idempotency(ddb, table, clock):
    request = [
        {
            "Update": {
                "TableName": table,
                "Key": {"pk": {"S": "c"}},
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
    ]
    ddb.transact_write_items(TransactItems=request, ClientRequestToken="tok-1")
    ddb.transact_write_items(TransactItems=request, ClientRequestToken="tok-1")
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "c"}})["Item"]["n"] == {"N": "1"}
    other = [{"Put": {"TableName": table, "Item": {"pk": {"S": "d"}}}}]
    expect_ddb_error(
        ddb.transact_write_items,
        "IdempotentParameterMismatchException",
        TransactItems=other,
        ClientRequestToken="tok-1",
    )
    clock.advance(11 * 60)
    ddb.transact_write_items(TransactItems=request, ClientRequestToken="tok-1")
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "c"}})["Item"]["n"] == {"N": "2"}


def test_concurrent_transactions_lose_nothing(nimbus, table):
    """Transactions are serialized: two items kept equal by every transaction stay equal."""
    ddb = nimbus.client("dynamodb")
    ddb.put_item(TableName=table, Item={"pk": {"S": "x"}, "n": {"N": "0"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "y"}, "n": {"N": "0"}})
    ok = []

    def worker():
        client = nimbus.client("dynamodb")
        for _ in range(25):
            client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"pk": {"S": k}},
                            "UpdateExpression": "SET n = n + :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    }
                    for k in ("x", "y")
                ]
            )
            ok.append(1)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = ddb.transact_get_items(
        TransactItems=[{"Get": {"TableName": table, "Key": {"pk": {"S": k}}}} for k in ("x", "y", "none")]
    )["Responses"]
    assert got[0]["Item"]["n"] == {"N": str(len(ok))} == got[1]["Item"]["n"]
    assert got[2] == {}


def test_transact_get_projection(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "x": {"S": "1"}, "y": {"S": "2"}})
    out = ddb.transact_get_items(
        TransactItems=[{"Get": {"TableName": table, "Key": {"pk": {"S": "a"}}, "ProjectionExpression": "y"}}]
    )
    assert out["Responses"] == [{"Item": {"y": {"S": "2"}}}]
