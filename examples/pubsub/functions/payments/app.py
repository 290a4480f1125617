"""The payments subscriber (filter: MessageType payment). It charges through the flaky
downstream behind a DynamoDB-backed circuit breaker and records the outcome once per SNS
MessageId: `charged`, `downstream_failed` or `short_circuited` (breaker open). The downstream
gets the MessageId as its Idempotency-Key, since delivery is at least once."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

from breaker import Breaker
from pubsub_common import dynamodb, log, notifications, now_ms, record_once

SUBSCRIBER = "payments"
# Well inside the function's 10 s timeout, and long enough that a busy host (a cold downstream
# instance importing boto3 while a load run is going) is not taken for a failing downstream.
TIMEOUT_S = float(os.environ.get("DOWNSTREAM_TIMEOUT_SECONDS", "5"))


def call_downstream(note: dict) -> bool:
    payload = note["body"].get("payload") or {}
    request = urllib.request.Request(
        os.environ["DOWNSTREAM_URL"],
        data=json.dumps({"amount": payload.get("amount"),
                         "simulateFailure": bool(payload.get("simulateFailure"))}).encode(),
        headers={"content-type": "application/json", "x-correlation-id": note["correlationId"],
                 "idempotency-key": note["messageId"]},
        method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError) as error:
        log("warn", "downstream failed", subscriber=SUBSCRIBER,
            correlationId=note["correlationId"], messageId=note["messageId"], error=str(error))
        return False


def handler(event, context):
    received = now_ms()
    breaker = Breaker(dynamodb(), os.environ["BREAKER_TABLE"], "downstream",
                      threshold=int(os.environ.get("BREAKER_THRESHOLD", "5")),
                      open_seconds=float(os.environ.get("BREAKER_OPEN_SECONDS", "10")))
    outcomes = []
    for note in notifications(event):
        allowed, trial, seen = breaker.allow(note["correlationId"])
        if not allowed:
            outcome = "short_circuited"
        elif call_downstream(note):
            breaker.succeeded(trial, seen, note["correlationId"])
            outcome = "charged"
        else:
            breaker.failed(trial, seen, note["correlationId"])
            outcome = "downstream_failed"
        record_once(SUBSCRIBER, note, received, outcome, breakerState=seen["state"])
        outcomes.append(outcome)
    return {"subscriber": SUBSCRIBER, "outcomes": outcomes}
