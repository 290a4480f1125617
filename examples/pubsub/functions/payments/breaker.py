"""A circuit breaker whose state lives in DynamoDB, so every instance of the function shares
it: closed → open after THRESHOLD consecutive failures → half-open after OPEN_SECONDS (one
caller gets the trial call) → closed after a success, or open again after a failure.

Items (table with key pk, sk):
  pk=<name> sk=state                     state, failures, since (ms), version
  pk=<name> sk=transition#<ms>#<id>      from, to, at, reason, correlationId

Every change of state is a conditional update on the state the caller saw, so two instances
never both make the same transition; only the winner records it."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone

from botocore.exceptions import ClientError

from pubsub_common import log

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


def _conditional_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class Breaker:
    def __init__(self, client, table: str, name: str, threshold: int = 5,
                 open_seconds: float = 10.0, clock=time.time):
        self.client, self.table, self.name = client, table, name
        self.threshold, self.open_seconds, self.clock = threshold, open_seconds, clock

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _key(self) -> dict:
        return {"pk": {"S": self.name}, "sk": {"S": "state"}}

    def read(self) -> dict:
        """The current state, creating the closed state on first use."""
        item = self.client.get_item(TableName=self.table, Key=self._key(),
                                    ConsistentRead=True).get("Item")
        if item is None:
            fresh = {"state": CLOSED, "failures": 0, "since": 0, "version": 0}
            try:
                self.client.put_item(
                    TableName=self.table,
                    Item={**self._key(), "state": {"S": CLOSED}, "failures": {"N": "0"},
                          "since": {"N": "0"}, "version": {"N": "0"}},
                    ConditionExpression="attribute_not_exists(pk)")
            except ClientError as error:
                if not _conditional_failed(error):
                    raise
                return self.read()
            return fresh
        return {"state": item["state"]["S"], "failures": int(item["failures"]["N"]),
                "since": int(item["since"]["N"]), "version": int(item["version"]["N"])}

    def allow(self, correlation_id: str = "") -> tuple[bool, bool, dict]:
        """(may call, is the half-open trial, state seen)."""
        seen = self.read()
        if seen["state"] == CLOSED:
            return True, False, seen
        waited = self._now_ms() - seen["since"] >= self.open_seconds * 1000
        # A half-open trial that never reported back (its instance died) is taken over after
        # the same wait, so the breaker cannot stay half-open for ever.
        if waited and self._transition(seen, HALF_OPEN, "open timeout elapsed", correlation_id):
            return True, True, seen
        return False, False, seen

    def succeeded(self, trial: bool, seen: dict, correlation_id: str = "") -> None:
        if trial:
            self._transition({**seen, "state": HALF_OPEN, "version": seen["version"] + 1},
                             CLOSED, "trial call succeeded", correlation_id)
        elif seen["failures"]:
            try:
                self.client.update_item(
                    TableName=self.table, Key=self._key(),
                    UpdateExpression="SET failures = :zero",
                    ConditionExpression="#s = :closed",
                    ExpressionAttributeNames={"#s": "state"},
                    ExpressionAttributeValues={":zero": {"N": "0"}, ":closed": {"S": CLOSED}})
            except ClientError as error:
                if not _conditional_failed(error):
                    raise

    def failed(self, trial: bool, seen: dict, correlation_id: str = "") -> None:
        if trial:
            self._transition({**seen, "state": HALF_OPEN, "version": seen["version"] + 1},
                             OPEN, "trial call failed", correlation_id)
            return
        try:
            updated = self.client.update_item(
                TableName=self.table, Key=self._key(),
                UpdateExpression="ADD failures :one",
                ConditionExpression="#s = :closed",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={":one": {"N": "1"}, ":closed": {"S": CLOSED}},
                ReturnValues="ALL_NEW")["Attributes"]
        except ClientError as error:
            if _conditional_failed(error):
                return  # another instance already opened the breaker
            raise
        failures = int(updated["failures"]["N"])
        if failures >= self.threshold:
            current = {"state": CLOSED, "failures": failures,
                       "version": int(updated["version"]["N"])}
            self._transition(current, OPEN, f"{failures} consecutive failures", correlation_id)

    def _transition(self, seen: dict, to: str, reason: str, correlation_id: str) -> bool:
        """Moves from the state seen to `to` if nobody moved it first; records the change."""
        now = self._now_ms()
        try:
            self.client.update_item(
                TableName=self.table, Key=self._key(),
                UpdateExpression="SET #s = :to, since = :now, failures = :zero, version = :next",
                ConditionExpression="#s = :from AND version = :version",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={
                    ":to": {"S": to}, ":now": {"N": str(now)}, ":zero": {"N": "0"},
                    ":next": {"N": str(seen["version"] + 1)}, ":from": {"S": seen["state"]},
                    ":version": {"N": str(seen["version"])}})
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        at = datetime.fromtimestamp(now / 1000, timezone.utc).isoformat(timespec="milliseconds")
        self.client.put_item(TableName=self.table, Item={
            "pk": {"S": self.name}, "sk": {"S": f"transition#{now:013d}#{uuid.uuid4().hex[:8]}"},
            "from": {"S": seen["state"]}, "to": {"S": to}, "at": {"S": at},
            "reason": {"S": reason}, "correlationId": {"S": correlation_id or "-"}})
        log("warn", "breaker transition", breaker=self.name, correlationId=correlation_id,
            transition=f"{seen['state']}->{to}", reason=reason)
        return True
