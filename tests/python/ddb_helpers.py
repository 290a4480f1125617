"""DynamoDB fixtures and helpers shared by the test_dynamodb_* modules."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import raw_http

__all__ = ["_ddb_session_client", "ddb", "ddb_resource", "expect_ddb_error", "create_table", "ddb_raw"]


@pytest.fixture(scope="session")
def _ddb_session_client(nimbus):
    return nimbus.client("dynamodb")


@pytest.fixture
def ddb(nimbus, _ddb_session_client):
    """A boto3 DynamoDB client for account 000000000000 in us-east-1."""
    return _ddb_session_client


@pytest.fixture
def ddb_resource(nimbus):
    """The boto3 resource API (Table objects, conditions)."""
    return boto3.resource(
        "dynamodb",
        endpoint_url=nimbus.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}),
    )


def expect_ddb_error(call, code: str, message: str | None = None, *, status: int = 400, **kwargs):
    """Runs `call(**kwargs)`; asserts it fails with `code` (and `message` exactly, when given)."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response
    assert err["Error"]["Code"] == code, err
    assert err["ResponseMetadata"]["HTTPStatusCode"] == status, err
    if message is not None:
        assert err["Error"]["Message"] == message, err
    return err


def create_table(ddb, name: str = "t", *, sort: str | None = None, sort_type: str = "S", pk_type: str = "S", **extra):
    """A PAY_PER_REQUEST table keyed by `pk` (and `sort` when given)."""
    attrs = [{"AttributeName": "pk", "AttributeType": pk_type}]
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    if sort:
        attrs.append({"AttributeName": sort, "AttributeType": sort_type})
        keys.append({"AttributeName": sort, "KeyType": "RANGE"})
    attrs += extra.pop("ExtraAttributes", [])
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=attrs,
        KeySchema=keys,
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    return name


def ddb_raw(nimbus, operation: str, payload) -> raw_http.Response:
    """A DynamoDB call without boto3's client-side validation."""
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"DynamoDB_20120810.{operation}"}
    return raw_http.send(nimbus.url, "POST", "/", body, headers)
