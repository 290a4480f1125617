"""The flaky downstream the payments subscriber calls (behind its own function URL). It fails
with 503 when the request asks for it (`simulateFailure`) or, at random, with the probability
in FAILURE_RATE, so the circuit breaker in front of it has something to protect against."""

from __future__ import annotations

import base64
import json
import os
import random

from pubsub_common import log


def handler(event, context):
    raw = event.get("body") or ""
    data = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    try:
        request = json.loads(data or b"{}")
    except ValueError:
        request = {}
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    correlation_id = headers.get("x-correlation-id", "")
    failing = bool(request.get("simulateFailure")) or (
        random.random() < float(os.environ.get("FAILURE_RATE", "0")))
    log("warn" if failing else "info", "downstream call", correlationId=correlation_id,
        idempotencyKey=headers.get("idempotency-key", ""), failed=failing)
    if failing:
        return {"statusCode": 503, "body": json.dumps({"error": "downstream unavailable"})}
    return {"statusCode": 200, "body": json.dumps({"ok": True, "amount": request.get("amount")})}
