"""Durability: `kill -9` while senders are running, then restart on the same data directory.

Every SendMessage that returned 200 must survive; deleted messages stay deleted; messages that
were in flight become visible again when their visibility timeout passes, across the restart.
"""

from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from nimbus_harness import NimbusServer
from sqs_helpers import drain

SENDERS = 4
KILL_AFTER_ACKS = 400
INFLIGHT_VISIBILITY = 3600


@pytest.mark.slow
def test_kill_dash_nine_keeps_every_acknowledged_message(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()

    first = NimbusServer(data_dir=data_dir).start()
    try:
        sqs = first.client("sqs")
        url = sqs.create_queue(QueueName="durable")["QueueUrl"]
        for i in range(30):
            sqs.send_message(QueueUrl=url, MessageBody=f"pre-{i}")
        taken = drain(sqs, url, visibility=INFLIGHT_VISIBILITY)
        assert len(taken) == 30
        deleted = {m["Body"] for m in taken[:15]}
        inflight = {m["Body"] for m in taken[15:]}
        for m in taken[:15]:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

        acked: list[set[str]] = [set() for _ in range(SENDERS)]
        stop = threading.Event()

        def sender(n: int) -> None:
            client = first.client("sqs", read_timeout=10)
            i = 0
            while not stop.is_set():
                try:
                    if i % 5 == 4:
                        entries = [{"Id": f"b{k}", "MessageBody": f"s{n}-{i}-b{k}"} for k in range(5)]
                        resp = client.send_message_batch(QueueUrl=url, Entries=entries)
                        ok = {e["Id"] for e in resp.get("Successful", [])}
                        acked[n].update(e["MessageBody"] for e in entries if e["Id"] in ok)
                    else:
                        client.send_message(QueueUrl=url, MessageBody=f"s{n}-{i}")
                        acked[n].add(f"s{n}-{i}")
                except (BotoCoreError, ClientError, OSError):
                    return  # the server is gone: this request was never acknowledged
                i += 1

        threads = [threading.Thread(target=sender, args=(n,), daemon=True) for n in range(SENDERS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while sum(len(a) for a in acked) < KILL_AFTER_ACKS and time.monotonic() < deadline:
            time.sleep(0.01)
        first.kill()  # SIGKILL mid-stream
        stop.set()
        for t in threads:
            t.join(15)
        acknowledged = set().union(*acked)
        assert len(acknowledged) >= KILL_AFTER_ACKS
    finally:
        first.kill()

    second = NimbusServer(data_dir=data_dir).start()
    try:
        sqs = second.client("sqs")
        assert sqs.get_queue_url(QueueName="durable")["QueueUrl"].endswith("/000000000000/durable")
        # Held for the maximum visibility so they stay out of the way of the check below.
        received = [m["Body"] for m in drain(sqs, url.replace(first.url, second.url), visibility=43200)]
        got = set(received)
        missing = acknowledged - got
        assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {sorted(missing)[:5]}"
        assert not (got & deleted), "deleted messages came back"
        assert not (got & inflight), "in-flight messages reappeared before their visibility timeout"
        # Only messages that were sent at all may come back (unacknowledged ones may or may not).
        assert all(b.startswith("s") for b in got)
        assert len(received) == len(got), "a message was delivered twice"

        second.advance(INFLIGHT_VISIBILITY + 1)
        back = {m["Body"] for m in drain(sqs, url.replace(first.url, second.url))}
        assert back == inflight
    finally:
        assert second.stop() == 0

    # A clean restart after the graceful stop keeps the same state.
    third = NimbusServer(data_dir=data_dir).start()
    try:
        sqs = third.client("sqs")
        a = sqs.get_queue_attributes(
            QueueUrl=url.replace(first.url, third.url),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        # Everything received above is still in flight: the clock restarted near real time.
        assert int(a["ApproximateNumberOfMessages"]) == 0
        assert int(a["ApproximateNumberOfMessagesNotVisible"]) == len(got) + len(inflight)
    finally:
        assert third.stop() == 0
