"""The publisher behind a function URL: validates and sanitises a message, enriches it with a
correlation id and an ISO-8601 timestamp, publishes it to the topic with the routing
attributes and answers with the SNS message id and the correlation id.

Request:  POST {"type": "order", "payload": {...}, "source": "web"}  (x-correlation-id optional)
Answer:   202 {"messageId": "...", "correlationId": "..."}; 400/405/413 with {"error": ...}
"""

from __future__ import annotations

import base64
import json
import os
import re
import unicodedata
import uuid
from datetime import datetime, timezone

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from pubsub_common import log

MAX_BODY_BYTES = int(os.environ.get("MAX_BODY_BYTES", "16384"))
MAX_STRING = 1024
MAX_DEPTH = 5
MAX_KEYS = 100
MESSAGE_TYPES = set(os.environ.get("MESSAGE_TYPES", "order,notification,payment,poison").split(","))
TOP_LEVEL = {"type", "payload", "source"}
CORRELATION_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")
# Control characters other than tab and newline, which have no business in a message.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

_sns = None


class Invalid(Exception):
    """The request is not a message this system accepts (answered with 400)."""


def sanitise(value, depth: int = 0):
    """A copy with strings normalised (NFC, control characters removed, trimmed) and with
    depth, key count and string length bounded."""
    if depth > MAX_DEPTH:
        raise Invalid(f"payload nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        clean = CONTROL_RE.sub("", unicodedata.normalize("NFC", value)).strip()
        if len(clean) > MAX_STRING:
            raise Invalid(f"a string is longer than {MAX_STRING} characters")
        return clean
    if isinstance(value, dict):
        if len(value) > MAX_KEYS:
            raise Invalid(f"an object has more than {MAX_KEYS} keys")
        return {sanitise(k, depth + 1): sanitise(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) > MAX_KEYS:
            raise Invalid(f"a list has more than {MAX_KEYS} items")
        return [sanitise(v, depth + 1) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    raise Invalid("unsupported value")


def validate(body: dict) -> dict:
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    unknown = set(body) - TOP_LEVEL
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}")
    kind = body.get("type")
    if kind not in MESSAGE_TYPES:
        raise Invalid(f"type must be one of {', '.join(sorted(MESSAGE_TYPES))}")
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise Invalid("payload must be a JSON object")
    source = body.get("source", "unknown")
    if not isinstance(source, str) or not 1 <= len(source) <= 64:
        raise Invalid("source must be a string of 1 to 64 characters")
    return {"type": kind, "payload": sanitise(payload), "source": sanitise(source)}


def answer(status: int, body: dict, correlation_id: str | None = None) -> dict:
    headers = {"content-type": "application/json"}
    if correlation_id:
        headers["x-correlation-id"] = correlation_id
    return {"statusCode": status, "headers": headers, "body": json.dumps(body)}


def handler(event, context):
    global _sns
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    wanted = headers.get("x-correlation-id", "")
    correlation_id = wanted if CORRELATION_RE.match(wanted) else str(uuid.uuid4())
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "POST")
    if method != "POST":
        return answer(405, {"error": "use POST"}, correlation_id)
    raw = event.get("body") or ""
    data = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    if len(data) > MAX_BODY_BYTES:
        log("warn", "rejected", correlationId=correlation_id, reason="too large", bytes=len(data))
        return answer(413, {"error": f"body exceeds {MAX_BODY_BYTES} bytes"}, correlation_id)
    try:
        message = validate(json.loads(data))
    except (ValueError, Invalid) as error:
        reason = str(error) if isinstance(error, Invalid) else "the body is not JSON"
        log("warn", "rejected", correlationId=correlation_id, reason=reason)
        return answer(400, {"error": reason, "correlationId": correlation_id}, correlation_id)

    timestamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    environment = os.environ.get("ENVIRONMENT", "dev")
    message.update(correlationId=correlation_id, timestamp=timestamp, environment=environment)
    if _sns is None:
        _sns = boto3.client("sns")
    string = lambda value: {"DataType": "String", "StringValue": value}  # noqa: E731
    try:
        published = _sns.publish(
            TopicArn=os.environ["TOPIC_ARN"],
            Message=json.dumps(message, separators=(",", ":")),
            MessageAttributes={
                "CorrelationId": string(correlation_id),
                "Environment": string(environment),
                "MessageType": string(message["type"]),
                "Timestamp": string(timestamp),
            },
        )
    except (ClientError, BotoCoreError) as error:
        log("error", "publish failed", correlationId=correlation_id, error=str(error))
        return answer(502, {"error": "could not publish", "correlationId": correlation_id},
                      correlation_id)
    log("info", "published", correlationId=correlation_id, messageId=published["MessageId"],
        messageType=message["type"], requestId=context.aws_request_id)
    return answer(202, {"messageId": published["MessageId"], "correlationId": correlation_id},
                  correlation_id)
