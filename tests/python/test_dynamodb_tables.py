"""DynamoDB control plane: tables, indexes, TTL, tags, backups settings, with boto3."""

from __future__ import annotations

import pytest

from ddb_helpers import *  # noqa: F401,F403


def test_create_describe_list_delete(ddb):
    out = ddb.create_table(
        TableName="orders",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7},
        Tags=[{"Key": "team", "Value": "a"}],
    )["TableDescription"]
    assert out["TableStatus"] == "CREATING"
    assert out["TableArn"] == "arn:aws:dynamodb:us-east-1:000000000000:table/orders"
    assert out["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert out["ProvisionedThroughput"]["WriteCapacityUnits"] == 7
    ddb.get_waiter("table_exists").wait(TableName="orders", WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    desc = ddb.describe_table(TableName="orders")["Table"]
    assert desc["TableStatus"] == "ACTIVE"
    assert desc["ItemCount"] == 0 and desc["TableSizeBytes"] == 0
    assert desc["TableId"] == out["TableId"]
    assert desc["KeySchema"][1] == {"AttributeName": "sk", "KeyType": "RANGE"}
    assert desc["DeletionProtectionEnabled"] is False
    assert "CreationDateTime" in desc
    assert ddb.list_tables()["TableNames"] == ["orders"]
    deleted = ddb.delete_table(TableName="orders")["TableDescription"]
    assert deleted["TableStatus"] == "DELETING"
    ddb.get_waiter("table_not_exists").wait(TableName="orders", WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    assert ddb.list_tables()["TableNames"] == []


def test_duplicate_and_missing_tables(ddb):
    create_table(ddb, "t")
    expect_ddb_error(
        create_table, "ResourceInUseException", "Table already exists: t", ddb=ddb, name="t"
    )
    expect_ddb_error(
        ddb.describe_table,
        "ResourceNotFoundException",
        "Requested resource not found: Table: nope not found",
        TableName="nope",
    )
    expect_ddb_error(ddb.delete_table, "ResourceNotFoundException", TableName="nope")


@pytest.mark.parametrize(
    "attrs, keys, message",
    [
        (
            [{"AttributeName": "a", "AttributeType": "S"}],
            [{"AttributeName": "b", "KeyType": "HASH"}],
            "One or more parameter values were invalid: Some index key attributes are not defined in "
            "AttributeDefinitions. Keys: [b], AttributeDefinitions: [a]",
        ),
        (
            [{"AttributeName": "a", "AttributeType": "S"}, {"AttributeName": "b", "AttributeType": "S"}],
            [{"AttributeName": "a", "KeyType": "HASH"}],
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly "
            "match number of attributes defined in AttributeDefinitions",
        ),
        (
            [{"AttributeName": "a", "AttributeType": "S"}, {"AttributeName": "b", "AttributeType": "S"}],
            [{"AttributeName": "a", "KeyType": "RANGE"}, {"AttributeName": "b", "KeyType": "HASH"}],
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ),
        (
            [{"AttributeName": "a", "AttributeType": "S"}, {"AttributeName": "b", "AttributeType": "S"}],
            [{"AttributeName": "a", "KeyType": "HASH"}, {"AttributeName": "b", "KeyType": "HASH"}],
            "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
        ),
        (
            [{"AttributeName": "a", "AttributeType": "S"}],
            [{"AttributeName": "a", "KeyType": "HASH"}, {"AttributeName": "c", "KeyType": "RANGE"}],
            "Invalid KeySchema: Some index key attribute have no definition",
        ),
    ],
)
def test_key_schema_validation(ddb, attrs, keys, message):
    expect_ddb_error(
        ddb.create_table,
        "ValidationException",
        message,
        TableName="bad",
        AttributeDefinitions=attrs,
        KeySchema=keys,
        BillingMode="PAY_PER_REQUEST",
    )


def test_billing_mode_rules(ddb):
    keys = {
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    }
    expect_ddb_error(
        ddb.create_table,
        "ValidationException",
        "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be "
        "specified when BillingMode is PROVISIONED",
        TableName="p",
        **keys,
    )
    expect_ddb_error(
        ddb.create_table,
        "ValidationException",
        "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be "
        "specified when BillingMode is PAY_PER_REQUEST",
        TableName="p",
        BillingMode="PAY_PER_REQUEST",
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        **keys,
    )
    desc = ddb.create_table(TableName="p", BillingMode="PAY_PER_REQUEST", **keys)["TableDescription"]
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert desc["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    updated = ddb.update_table(
        TableName="p", BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4}
    )["TableDescription"]
    assert updated["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert ddb.describe_table(TableName="p")["Table"]["ProvisionedThroughput"]["WriteCapacityUnits"] == 4


def test_indexes_streams_sse_class_protection(ddb):
    desc = ddb.create_table(
        TableName="full",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
            {"AttributeName": "l", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-l",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        SSESpecification={"Enabled": True, "SSEType": "KMS"},
        TableClass="STANDARD_INFREQUENT_ACCESS",
        DeletionProtectionEnabled=True,
    )["TableDescription"]
    gsi = desc["GlobalSecondaryIndexes"][0]
    assert gsi["IndexName"] == "by-g"
    assert gsi["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]}
    assert gsi["IndexArn"].endswith("table/full/index/by-g")
    assert desc["LocalSecondaryIndexes"][0]["Projection"]["ProjectionType"] == "KEYS_ONLY"
    assert desc["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert desc["LatestStreamArn"].startswith("arn:aws:dynamodb:us-east-1:000000000000:table/full/stream/")
    assert desc["SSEDescription"]["Status"] == "ENABLED"
    assert desc["TableClassSummary"]["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    described = ddb.describe_table(TableName="full")["Table"]
    assert described["GlobalSecondaryIndexes"][0]["IndexStatus"] == "ACTIVE"
    expect_ddb_error(
        ddb.delete_table,
        "ValidationException",
        "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.",
        TableName="full",
    )
    ddb.update_table(TableName="full", DeletionProtectionEnabled=False)
    ddb.update_table(TableName="full", StreamSpecification={"StreamEnabled": False})
    assert "StreamSpecification" not in ddb.describe_table(TableName="full")["Table"]
    ddb.delete_table(TableName="full")


def test_lsi_requires_same_hash_key(ddb):
    expect_ddb_error(
        ddb.create_table,
        "ValidationException",
        "One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as "
        "table KeySchema for index: lsi. index hash key: x, table hash key: pk",
        TableName="t",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "x", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
        LocalSecondaryIndexes=[
            {
                "IndexName": "lsi",
                "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


def test_list_tables_pagination(ddb):
    for name in ["c", "a", "e", "b", "d"]:
        create_table(ddb, name + "tbl")
    page = ddb.list_tables(Limit=2)
    assert page["TableNames"] == ["atbl", "btbl"]
    assert page["LastEvaluatedTableName"] == "btbl"
    page = ddb.list_tables(Limit=2, ExclusiveStartTableName="btbl")
    assert page["TableNames"] == ["ctbl", "dtbl"]
    page = ddb.list_tables(Limit=2, ExclusiveStartTableName="dtbl")
    assert page["TableNames"] == ["etbl"]
    assert "LastEvaluatedTableName" not in page
    names = [n for p in ddb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 2}) for n in p["TableNames"]]
    assert names == ["atbl", "btbl", "ctbl", "dtbl", "etbl"]


def test_time_to_live(ddb):
    create_table(ddb)
    assert ddb.describe_time_to_live(TableName="t")["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}
    spec = {"Enabled": True, "AttributeName": "expires"}
    assert ddb.update_time_to_live(TableName="t", TimeToLiveSpecification=spec)["TimeToLiveSpecification"] == spec
    assert ddb.describe_time_to_live(TableName="t")["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires",
    }
    expect_ddb_error(
        ddb.update_time_to_live, "ValidationException", "TimeToLive is already enabled",
        TableName="t", TimeToLiveSpecification=spec,
    )
    ddb.update_time_to_live(TableName="t", TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires"})
    assert ddb.describe_time_to_live(TableName="t")["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"
    expect_ddb_error(ddb.describe_time_to_live, "ResourceNotFoundException", TableName="nope")


def test_tags(ddb):
    arn = ddb.describe_table(TableName=create_table(ddb))["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "3"}])
    tags = sorted(ddb.list_tags_of_resource(ResourceArn=arn)["Tags"], key=lambda t: t["Key"])
    assert tags == [{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}]
    ddb.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    missing = arn.replace("table/t", "table/missing")
    expect_ddb_error(
        ddb.list_tags_of_resource,
        "ResourceNotFoundException",
        f"Requested resource not found: ResourcArn: {missing} not found",
        ResourceArn=missing,
    )


def test_continuous_backups_endpoints_limits(ddb):
    create_table(ddb)
    desc = ddb.describe_continuous_backups(TableName="t")["ContinuousBackupsDescription"]
    assert desc["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"
    out = ddb.update_continuous_backups(
        TableName="t", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )["ContinuousBackupsDescription"]
    assert out["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    desc = ddb.describe_continuous_backups(TableName="t")["ContinuousBackupsDescription"]
    assert desc["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    expect_ddb_error(ddb.describe_continuous_backups, "TableNotFoundException", "Table not found: nope", TableName="nope")
    assert ddb.describe_endpoints()["Endpoints"][0]["CachePeriodInMinutes"] == 1440
    assert ddb.describe_limits()["TableMaxReadCapacityUnits"] == 40000


def test_update_table_needs_a_change(ddb):
    create_table(ddb)
    expect_ddb_error(ddb.update_table, "ValidationException", TableName="t")


def test_unimplemented_operation_says_so(ddb):
    create_table(ddb)
    err = expect_ddb_error(ddb.create_backup, "NotImplemented", status=501, TableName="t", BackupName="bak")
    assert "CreateBackup" in err["Error"]["Message"]
