"""The aws CLI v1 against nimbus's DynamoDB: create and wait for a table, items, query,
batch and transactions, and errors as the CLI prints them."""

from __future__ import annotations

import json

import pytest

from cli_helpers import cli_runner, out  # noqa: F401


@pytest.fixture
def aws(nimbus, tmp_path):
    return cli_runner(nimbus.url, tmp_path, "dynamodb")



def test_cli_table_lifecycle_and_items(aws):
    created = out(
        aws(
            "create-table",
            "--table-name", "cli",
            "--attribute-definitions", "AttributeName=pk,AttributeType=S", "AttributeName=sk,AttributeType=N",
            "--key-schema", "AttributeName=pk,KeyType=HASH", "AttributeName=sk,KeyType=RANGE",
            "--billing-mode", "PAY_PER_REQUEST",
        )
    )
    assert created["TableDescription"]["TableStatus"] == "CREATING"
    aws("wait", "table-exists", "--table-name", "cli")
    assert out(aws("describe-table", "--table-name", "cli"))["Table"]["TableStatus"] == "ACTIVE"
    assert out(aws("list-tables"))["TableNames"] == ["cli"]

    aws("put-item", "--table-name", "cli", "--item", '{"pk":{"S":"a"},"sk":{"N":"1"},"v":{"S":"one"}}')
    aws(
        "batch-write-item",
        "--request-items",
        json.dumps({"cli": [{"PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"N": str(i)}}}} for i in range(2, 6)]}),
    )
    got = out(aws("get-item", "--table-name", "cli", "--key", '{"pk":{"S":"a"},"sk":{"N":"1"}}'))
    assert got["Item"]["v"] == {"S": "one"}
    queried = out(
        aws(
            "query",
            "--table-name", "cli",
            "--key-condition-expression", "pk = :p AND sk > :s",
            "--expression-attribute-values", '{":p":{"S":"a"},":s":{"N":"2"}}',
        )
    )
    assert [i["sk"]["N"] for i in queried["Items"]] == ["3", "4", "5"]
    # The CLI follows LastEvaluatedKey by itself.
    scanned = out(aws("scan", "--table-name", "cli", "--page-size", "2"))
    assert scanned["Count"] == 5
    aws(
        "update-item",
        "--table-name", "cli",
        "--key", '{"pk":{"S":"a"},"sk":{"N":"1"}}',
        "--update-expression", "SET v = :v",
        "--expression-attribute-values", '{":v":{"S":"uno"}}',
    )
    aws(
        "transact-write-items",
        "--transact-items",
        json.dumps([{"Delete": {"TableName": "cli", "Key": {"pk": {"S": "a"}, "sk": {"N": "5"}}}}]),
    )
    got = out(aws("get-item", "--table-name", "cli", "--key", '{"pk":{"S":"a"},"sk":{"N":"1"}}'))
    assert got["Item"]["v"] == {"S": "uno"}
    aws("delete-table", "--table-name", "cli")
    aws("wait", "table-not-exists", "--table-name", "cli")


def test_cli_errors(aws):
    proc = aws("describe-table", "--table-name", "missing", check=False)
    assert proc.returncode != 0
    assert "ResourceNotFoundException" in proc.stderr
    assert "Requested resource not found: Table: missing not found" in proc.stderr
    aws(
        "create-table",
        "--table-name", "e",
        "--attribute-definitions", "AttributeName=pk,AttributeType=S",
        "--key-schema", "AttributeName=pk,KeyType=HASH",
        "--billing-mode", "PAY_PER_REQUEST",
    )
    proc = aws(
        "put-item",
        "--table-name", "e",
        "--item", '{"pk":{"S":"a"}}',
        "--condition-expression", "attribute_exists(pk)",
        check=False,
    )
    assert proc.returncode != 0
    assert "ConditionalCheckFailedException" in proc.stderr


def test_cli_ttl_and_tags(aws):
    arn = out(
        aws(
            "create-table",
            "--table-name", "ttl",
            "--attribute-definitions", "AttributeName=pk,AttributeType=S",
            "--key-schema", "AttributeName=pk,KeyType=HASH",
            "--billing-mode", "PAY_PER_REQUEST",
            "--tags", "Key=team,Value=a",
        )
    )["TableDescription"]["TableArn"]
    aws("update-time-to-live", "--table-name", "ttl", "--time-to-live-specification", "Enabled=true,AttributeName=exp")
    ttl = out(aws("describe-time-to-live", "--table-name", "ttl"))["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    assert out(aws("list-tags-of-resource", "--resource-arn", arn))["Tags"] == [{"Key": "team", "Value": "a"}]


def test_cli_update_returns_only_written_paths(aws):
    aws(
        "create-table",
        "--table-name", "rv",
        "--attribute-definitions", "AttributeName=pk,AttributeType=S",
        "--key-schema", "AttributeName=pk,KeyType=HASH",
        "--billing-mode", "PAY_PER_REQUEST",
    )
    key = '{"pk":{"S":"k"}}'
    aws(
        "put-item", "--table-name", "rv", "--item",
        '{"pk":{"S":"k"},"a":{"M":{"b":{"S":"dog"},"c":{"L":[{"N":"1"},{"N":"2"}]}}},"d":{"S":"cat"}}',
    )

    def update(expression, return_values, values=None):
        args = ["update-item", "--table-name", "rv", "--key", key, "--update-expression", expression,
                "--return-values", return_values]
        if values:
            args += ["--expression-attribute-values", json.dumps(values)]
        return out(aws(*args)).get("Attributes")

    assert update("SET a.b = :v", "UPDATED_OLD", {":v": {"S": "owl"}}) == {"a": {"M": {"b": {"S": "dog"}}}}
    assert update("SET a.c[1] = :v", "UPDATED_NEW", {":v": {"N": "7"}}) == {"a": {"M": {"c": {"L": [{"N": "7"}]}}}}
    assert update("REMOVE d", "UPDATED_OLD") == {"d": {"S": "cat"}}
    # Nothing written is left to show as new: the CLI prints no Attributes at all.
    assert update("REMOVE a.b", "UPDATED_NEW") is None
    proc = aws(
        "update-item", "--table-name", "rv", "--key", key, "--update-expression", "REMOVE a",
        "--return-values", "UPDATED", check=False,
    )
    assert proc.returncode != 0 and "ValidationException" in proc.stderr
