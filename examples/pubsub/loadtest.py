"""Drives a deployed pub/sub example and measures it.

    python3 loadtest.py --outputs deployed.env [--messages 10000] [--rate 100] [--nimbus-pid PID]

Publishes the messages through the publisher's function URL at a fixed rate (open loop: the
i-th message leaves at start + i/rate whatever the previous ones did), one message type in
four per subscriber and every `--poison-every`th message of the marked type, waits until every
message has an outcome (an audit item, or the dead-letter queue for the marked ones), then
checks exactly-once processing and routing and prints the latency figures as JSON.

Uses boto3 with the standard environment (AWS_ENDPOINT_URL, credentials, region).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from figures import cpu_seconds, percentile  # noqa: E402

# Concurrent requests, so at most this many publisher instances.
WORKERS = 8
ROUTES = {"order": "orders", "notification": "notifications", "payment": "payments"}


def read_outputs(path: str) -> dict:
    with open(path) as f:
        return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)


def message(i: int, poison_every: int) -> dict:
    if poison_every and i % poison_every == poison_every - 1:
        return {"type": "poison", "payload": {"n": i}, "source": "loadtest"}
    kind = ("order", "notification", "payment")[i % 3]
    payload = {
        "order": {"items": [{"sku": f"sku-{i}", "price": 9.5, "quantity": 2}]},
        "notification": {"user": f"user-{i}", "text": "welcome", "channel": "email"},
        "payment": {"amount": i % 500 + 1},
    }[kind]
    return {"type": kind, "payload": payload, "source": "loadtest"}


def publish(url: str, body: dict, timeout: float = 30.0) -> dict:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"content-type": "application/json"})
    sent = time.time()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, answer = response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        status, answer = error.code, {}
    except OSError as error:
        status, answer = 0, {"error": str(error)}
    return {"type": body["type"], "sentMs": sent * 1000, "latencyMs": (time.time() - sent) * 1000,
            "status": status, **answer}


def warm_up(url: str) -> None:
    """Starts a few publisher instances: a burst of cold starts (each importing boto3) would
    measure start-up, not the steady state."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(lambda _: publish(url, {"type": "notification", "source": "warm-up",
                                               "payload": {"user": "warm-up"}}, 60),
                      range(WORKERS)))


def send_all(url: str, count: int, rate: float, poison_every: int
             ) -> tuple[list[dict], float]:
    """Publishes on schedule; returns the results and the achieved rate."""
    results: list[dict | None] = [None] * count
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        def one(i: int) -> None:
            results[i] = publish(url, message(i, poison_every))

        for i in range(count):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, i)
    elapsed = time.monotonic() - start
    return [r for r in results if r is not None], count / elapsed


def scan_pages(ddb, **args):
    """Every page of a Scan."""
    while True:
        page = ddb.scan(**args)
        yield page
        if "LastEvaluatedKey" not in page:
            return
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def scan(ddb, table: str) -> list[dict]:
    return [item for page in scan_pages(ddb, TableName=table, ConsistentRead=True)
            for item in page["Items"]]


def count_since(ddb, table: str, since_ms: int) -> int:
    """How many audit items were written since a time, counted by the server."""
    return sum(page["Count"] for page in scan_pages(
        ddb, TableName=table, Select="COUNT", FilterExpression="processedAt >= :t",
        ExpressionAttributeValues={":t": {"N": str(since_ms)}}))


def drain(sqs, url: str) -> list[dict]:
    found = []
    while True:
        page = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                   MessageAttributeNames=["All"], VisibilityTimeout=300)
        batch = page.get("Messages", [])
        if not batch:
            return found
        found += batch


def report_durations(logs, function: str, since_ms: int) -> tuple[list[float], int]:
    """The Duration of every REPORT line of a function since a time (CloudWatch Logs), and how
    many of them were cold starts (they carry an Init Duration)."""
    durations, cold, args = [], 0, {"logGroupName": f"/aws/lambda/{function}", "startTime": since_ms,
                           "filterPattern": "REPORT"}
    while True:
        try:
            page = logs.filter_log_events(**args)
        except logs.exceptions.ResourceNotFoundException:
            return durations, cold  # the function never ran
        for event in page["events"]:
            text = event["message"]
            if "Duration:" in text:
                durations.append(float(text.split("Duration:")[1].split("ms")[0]))
                cold += "Init Duration:" in text
        if not page.get("nextToken"):
            return durations, cold
        args["nextToken"] = page["nextToken"]


def run(args) -> dict:
    out = read_outputs(args.outputs)
    ddb, sqs, logs = boto3.client("dynamodb"), boto3.client("sqs"), boto3.client("logs")
    warm_up(out["PUBLISHER_URL"])
    # Lets the warm-up's own audit writes land before the window opens.
    time.sleep(1)
    started_ms = int(time.time() * 1000)
    cpu_before = cpu_seconds(args.nimbus_pid) if args.nimbus_pid else None
    sent, achieved = send_all(out["PUBLISHER_URL"], args.messages, args.rate, args.poison_every)
    accepted = [r for r in sent if r["status"] == 202]
    # The table may hold earlier messages (warm-up, other runs): only this run's are judged.
    run_ids = {r["correlationId"] for r in accepted}
    expected = {r["correlationId"]: r for r in accepted if r["type"] in ROUTES}
    poison = {r["messageId"]: r for r in accepted if r["type"] == "poison"}

    deadline = time.monotonic() + args.settle_seconds
    # The CPU window closes when the last routed message is audited. Waiting for it polls a
    # count (the server counts, nothing is sent back), so the wait adds little work of its
    # own; the poison messages' retries, a minute or two later, fall outside the window.
    while time.monotonic() < deadline and count_since(ddb, out["AUDIT_TABLE"], started_ms) < len(expected):
        time.sleep(0.2)
    cpu_after = cpu_seconds(args.nimbus_pid) if args.nimbus_pid else None
    audit, dead = [], {}
    while True:
        audit = [i for i in scan(ddb, out["AUDIT_TABLE"]) if i["pk"]["S"] in run_ids]
        for entry in drain(sqs, out["DLQ_URL"]):
            event = json.loads(entry["Body"])
            message_id = event["Records"][0]["Sns"]["MessageId"]
            if event["Records"][0]["Sns"]["MessageAttributes"].get(
                    "CorrelationId", {}).get("Value") in run_ids:
                dead[message_id] = entry
        audited = {i["pk"]["S"] for i in audit}
        if audited >= set(expected) and set(dead) >= set(poison) or time.monotonic() >= deadline:
            break
        time.sleep(1)

    by_correlation: dict[str, list[dict]] = {}
    for item in audit:
        by_correlation.setdefault(item["pk"]["S"], []).append(item)
    # A poison message has no audit item anywhere (its one subscriber always fails).
    misrouted = [c for c, items in by_correlation.items()
                 if c not in expected or len(items) != 1
                 or items[0]["subscriber"]["S"] != ROUTES[expected[c]["type"]]]
    missing = [c for c in expected if c not in by_correlation]
    stats = {i["pk"]["S"]: i for i in scan(ddb, out["IDEMPOTENCY_TABLE"])
             if i["pk"]["S"].startswith(("stats#", "attempts#"))}
    duplicates = {k.split("#", 1)[1]: int(v["duplicates"]["N"])
                  for k, v in stats.items() if k.startswith("stats#")}
    attempts = {mid: int(stats.get(f"attempts#{mid}", {}).get("attempts", {}).get("N", "0"))
                for mid in poison}

    delivery = [int(i["receivedAt"]["N"]) - int(i["publishedAt"]["N"]) for i in audit]
    end_to_end = [int(i["processedAt"]["N"]) - expected[i["pk"]["S"]]["sentMs"]
                  for i in audit if i["pk"]["S"] in expected]
    processing, cold_starts = [], {}
    for fn in ("publisher", "orders", "notifications", "payments", "downstream"):
        durations, cold_starts[fn] = report_durations(logs, f"{args.prefix}-{fn}", started_ms)
        if fn in ROUTES.values():
            processing += durations
    figures = {
        "messages": args.messages,
        "rate_target": args.rate,
        "rate_achieved": round(achieved, 1),
        "accepted": len(accepted),
        "statuses": {str(k): sum(1 for r in sent if r["status"] == k)
                     for k in sorted({r["status"] for r in sent})},
        "first_error": next((r for r in sent if r["status"] != 202), None),
        "audited": len(audit),
        "missing": len(missing),
        "misrouted": len(misrouted),
        # What went wrong, for the first few: the message's type and the subscribers it reached.
        "misrouted_examples": [
            {"correlationId": c, "type": (expected.get(c) or {}).get("type", "poison"),
             "subscribers": [i["subscriber"]["S"] for i in by_correlation[c]]}
            for c in misrouted[:5]],
        "missing_examples": [{"correlationId": c, "type": expected[c]["type"]}
                             for c in missing[:5]],
        "duplicates_caught": duplicates,
        "poison_published": len(poison),
        "poison_in_dlq": len(set(poison) & set(dead)),
        "poison_attempts": sorted(set(attempts.values())),
        "dlq_error_attributes": sorted({name for e in dead.values()
                                        for name in e.get("MessageAttributes", {})}),
        # Messages of this run dead-lettered although not poison, and why (a timeout, …).
        "unexpected_in_dlq": len(set(dead) - set(poison)),
        "dlq_error_messages": sorted({
            e.get("MessageAttributes", {}).get("ErrorMessage", {}).get("StringValue", "")[:120]
            for e in dead.values()}),
        "publisher_p95_ms": percentile([r["latencyMs"] for r in accepted], 95),
        "sns_delivery_p95_ms": percentile(delivery, 95),
        "subscriber_processing_p95_ms": percentile(processing, 95),
        "end_to_end_p95_ms": percentile(end_to_end, 95),
        "cold_starts": cold_starts,
    }
    if cpu_before and cpu_after:
        own = cpu_after["nimbus"] - cpu_before["nimbus"]
        total = own + cpu_after["functions"] - cpu_before["functions"]
        figures["nimbus_cpu_seconds"] = round(own, 2)
        figures["functions_cpu_seconds"] = round(total - own, 2)
        figures["nimbus_cpu_share_percent"] = round(100 * own / total, 1) if total else None
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", required=True, help="deploy.sh's KEY=VALUE outputs")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rate", type=float, default=100.0, help="messages per second")
    parser.add_argument("--poison-every", type=int, default=50)
    parser.add_argument("--prefix", default=os.environ.get("PUBSUB_PREFIX", "pubsub"))
    parser.add_argument("--nimbus-pid", type=int, help="measure this process's CPU share")
    parser.add_argument("--settle-seconds", type=float, default=120.0)
    print(json.dumps(run(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
