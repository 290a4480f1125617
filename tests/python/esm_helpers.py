"""Helpers for the event source mapping suites: a batch-recording function, mapping state
waits, and reading back the batches a function received."""

from __future__ import annotations

import json
import time

import boto3
from botocore.config import Config

from lambda_helpers import create

# Logs every batch it gets; MODE (an environment variable) decides how it answers.
RECORDER = """
import json, os
def handler(event, context):
    print("batch", json.dumps(event))
    mode = os.environ.get("MODE", "ok")
    bodies = [r["body"] for r in event["Records"]]
    if mode == "raise":
        raise RuntimeError("failing on purpose")
    if mode == "partial":
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]}
                                      for r in event["Records"] if "fail" in r["body"]]}
    if mode == "not-a-response":
        return "all good, honestly"
    if mode == "unknown-id":
        return {"batchItemFailures": [{"itemIdentifier": "no-such-message"}]}
    if mode == "empty-id":
        return {"batchItemFailures": [{"itemIdentifier": ""}]}
    return None
"""


def recorder(lam, name: str = "worker", mode: str = "ok", **extra) -> str:
    """Creates the recording function; returns its ARN."""
    environment = {"Variables": {"MODE": mode}}
    return create(lam, name, {"app.py": RECORDER}, Environment=environment, **extra)["FunctionArn"]


def queue_arn(sqs, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def wait_state(lam, uuid: str, state: str, timeout: float = 10.0) -> dict:
    """The mapping once it reached `state`."""
    deadline = time.monotonic() + timeout
    while True:
        mapping = lam.get_event_source_mapping(UUID=uuid)
        if mapping["State"] == state or time.monotonic() > deadline:
            assert mapping["State"] == state, mapping
            return mapping
        time.sleep(0.02)


def batches(logs, function: str) -> list[list[dict]]:
    """Every batch the recorder logged, oldest first."""
    group = f"/aws/lambda/{function}"
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        return []
    found = []
    for event in logs.filter_log_events(logGroupName=group)["events"]:
        text = event["message"]
        if text.startswith("batch "):
            found.append((event["timestamp"], json.loads(text[len("batch "):])["Records"]))
    return [records for _, records in sorted(found, key=lambda pair: pair[0])]


def bodies_seen(logs, function: str) -> list[str]:
    return [r["body"] for batch in batches(logs, function) for r in batch]


def unvalidated_lambda(nimbus):
    """A Lambda client that sends what it is given, so the server's own checks are seen."""
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client("lambda", endpoint_url=nimbus.url,
             config=Config(parameter_validation=False, retries={"total_max_attempts": 1}))
