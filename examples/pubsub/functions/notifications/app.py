"""The notifications subscriber (filter: MessageType notification or poison). It renders the
notification and records it once per SNS MessageId. A `poison` message fails on purpose, on
every attempt: each attempt is counted on `attempts#<MessageId>` and, once Lambda's retries are
exhausted, the event lands in the dead-letter queue."""

from __future__ import annotations

from pubsub_common import count, log, notifications, now_ms, record_once

SUBSCRIBER = "notifications"


class PoisonMessage(Exception):
    """Raised for the marked message type, so the asynchronous retries and the DLQ engage."""


def handler(event, context):
    received = now_ms()
    processed = 0
    for note in notifications(event):
        if note["messageType"] == "poison":
            attempt = count(f"attempts#{note['messageId']}", "attempts")
            log("error", "poison", subscriber=SUBSCRIBER, correlationId=note["correlationId"],
                messageId=note["messageId"], attempt=attempt)
            raise PoisonMessage(f"message {note['messageId']} is marked to fail")
        payload = note["body"].get("payload") or {}
        text = f"Hello {payload.get('user', 'there')}: {payload.get('text', '')}"[:200]
        if record_once(SUBSCRIBER, note, received, "sent", channel=payload.get("channel", "email"),
                       rendered=text):
            processed += 1
    return {"subscriber": SUBSCRIBER, "processed": processed}
