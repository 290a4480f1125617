"""Helpers for the DynamoDB Streams → Lambda suites: a stream table, a function that logs the
stream batches it gets, and reading those batches back."""

from __future__ import annotations

import json

from esm_helpers import batches, wait_state
from lambda_helpers import create

# Logs every batch; MODE decides how it answers. Items with a `fail` attribute are the ones
# "poison" and "partial" refuse.
STREAM_RECORDER = """
import json, os
def handler(event, context):
    print("batch", json.dumps(event))
    mode = os.environ.get("MODE", "ok")
    def bad(r):
        return "fail" in (r["dynamodb"].get("NewImage") or {})
    if mode == "raise":
        raise RuntimeError("failing on purpose")
    if mode == "poison" and any(bad(r) for r in event["Records"]):
        raise RuntimeError("poison record")
    if mode == "partial":
        return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
                                      for r in event["Records"] if bad(r)]}
    return None
"""


def stream_recorder(lam, name: str = "worker", mode: str = "ok") -> str:
    environment = {"Variables": {"MODE": mode}}
    return create(lam, name, {"app.py": STREAM_RECORDER}, Environment=environment)["FunctionArn"]


def stream_table(ddb, name: str = "orders", view: str = "NEW_AND_OLD_IMAGES") -> str:
    """Creates a table with a stream; returns the stream ARN."""
    return ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
    )["TableDescription"]["LatestStreamArn"]


def stream_mapped(lam, stream_arn: str, function: str = "worker", **extra) -> str:
    extra.setdefault("StartingPosition", "TRIM_HORIZON")
    uuid = lam.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=function, **extra)["UUID"]
    wait_state(lam, uuid, "Disabled" if extra.get("Enabled") is False else "Enabled")
    return uuid


def stream_batches(logs, function: str = "worker") -> list[list[dict]]:
    """Every batch the recorder logged, oldest first."""
    return batches(logs, function)


def keys_seen(logs, function: str = "worker") -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for batch in stream_batches(logs, function) for r in batch]
