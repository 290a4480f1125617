"""Shared by the example's Python functions (bundled into each zip by deploy.sh): structured
logs, SNS record parsing and the exactly-once audit write."""

from __future__ import annotations

import json
import os
import sys
import time

import boto3
from botocore.exceptions import ClientError

_dynamodb = None


def dynamodb():
    """One DynamoDB client per instance (it honours AWS_ENDPOINT_URL)."""
    global _dynamodb
    if _dynamodb is None:
        _dynamodb = boto3.client("dynamodb")
    return _dynamodb


def now_ms() -> int:
    return int(time.time() * 1000)


def log(level: str, event: str, **fields) -> None:
    """One JSON line on stdout, which the runtime sends to CloudWatch Logs."""
    line = {"level": level, "event": event, **fields}
    sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")


def notifications(event: dict) -> list[dict]:
    """The SNS notifications of a Lambda event, flattened to the fields the subscribers use."""
    found = []
    for record in event.get("Records") or []:
        sns = record.get("Sns")
        if not isinstance(sns, dict):
            continue
        attributes = sns.get("MessageAttributes") or {}

        def attribute(name: str) -> str:
            return (attributes.get(name) or {}).get("Value", "")

        try:
            body = json.loads(sns.get("Message") or "{}")
        except ValueError:
            body = {}
        found.append({
            "messageId": sns.get("MessageId", ""),
            "timestamp": sns.get("Timestamp", ""),
            "correlationId": attribute("CorrelationId"),
            "messageType": attribute("MessageType"),
            "body": body if isinstance(body, dict) else {},
        })
    return found


def iso_ms(text: str) -> int | None:
    """Milliseconds since the epoch of SNS's `2026-01-02T03:04:05.678Z`."""
    from datetime import datetime

    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _s(value) -> dict:
    return {"S": str(value)}


def _n(value) -> dict:
    return {"N": str(value)}


def record_once(subscriber: str, note: dict, received_ms: int, outcome: str, **extra) -> bool:
    """Writes the idempotency key and the audit item in one transaction; False when the
    message was already processed (the duplicate is counted on `stats#<subscriber>`)."""
    processed = now_ms()
    key = f"{subscriber}#{note['messageId']}"
    audit = {
        "pk": _s(note["correlationId"]),
        "sk": _s(key),
        "subscriber": _s(subscriber),
        "messageId": _s(note["messageId"]),
        "messageType": _s(note["messageType"]),
        "publishedAt": _n(iso_ms(note["timestamp"]) or received_ms),
        "receivedAt": _n(received_ms),
        "processedAt": _n(processed),
        "outcome": _s(outcome),
    }
    audit.update({name: _s(value) for name, value in extra.items()})
    try:
        dynamodb().transact_write_items(TransactItems=[
            {"Put": {
                "TableName": os.environ["IDEMPOTENCY_TABLE"],
                "Item": {"pk": _s(key), "processedAt": _n(processed)},
                "ConditionExpression": "attribute_not_exists(pk)",
            }},
            {"Put": {"TableName": os.environ["AUDIT_TABLE"], "Item": audit}},
        ])
    except ClientError as error:
        reasons = error.response.get("CancellationReasons") or []
        if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
            count(f"stats#{subscriber}", "duplicates")
            log("info", "duplicate", subscriber=subscriber, correlationId=note["correlationId"],
                messageId=note["messageId"])
            return False
        raise
    log("info", "processed", subscriber=subscriber, correlationId=note["correlationId"],
        messageId=note["messageId"], messageType=note["messageType"], outcome=outcome)
    return True


def count(key: str, counter: str) -> int:
    """Adds one to a counter item on the idempotency table; its new value."""
    updated = dynamodb().update_item(
        TableName=os.environ["IDEMPOTENCY_TABLE"],
        Key={"pk": _s(key)},
        UpdateExpression="ADD #c :one",
        ExpressionAttributeNames={"#c": counter},
        ExpressionAttributeValues={":one": _n(1)},
        ReturnValues="UPDATED_NEW",
    )
    return int(updated["Attributes"][counter]["N"])
