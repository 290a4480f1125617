"""Durability of the SNS outbox: `kill -9` between publish and delivery loses nothing.

A Publish that returned has its deliveries committed with it; after a restart on the same data
directory the delivery worker finds them and delivers (at least once).
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from nimbus_harness import NimbusServer
from sns_helpers import HttpSubscriber, queue_arn, receive_all, verify_signature


@pytest.mark.slow
def test_pending_http_deliveries_survive_kill_dash_nine(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    endpoint = HttpSubscriber()
    port = endpoint.port
    first = NimbusServer(data_dir=data_dir).start()
    try:
        sns = first.client("sns")
        topic = sns.create_topic(Name="durable")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)
        _, confirmation = endpoint.next_json()
        sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])
        endpoint.close()  # the endpoint goes away: deliveries wait for their retry
        published = {sns.publish(TopicArn=topic, Message=f"m{i}")["MessageId"] for i in range(20)}
    finally:
        first.kill()

    endpoint = HttpSubscriber(port=port)
    second = NimbusServer(data_dir=data_dir).start()
    try:
        second.advance(60)
        received = set()
        while received != published:
            _, body = endpoint.next_json(timeout=15)
            # The URLs name the server that took the publish; this one listens on a new port.
            path = body["SigningCertURL"].split("/", 3)[3]
            body["SigningCertURL"] = f"{second.url}/{path}"
            verify_signature(body)
            received.add(body["MessageId"])
        assert received == published
    finally:
        endpoint.close()
        assert second.stop() == 0


@pytest.mark.slow
def test_every_acknowledged_publish_reaches_the_queue_after_kill_dash_nine(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    first = NimbusServer(data_dir=data_dir).start()
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    try:
        sns, sqs = first.client("sns"), first.client("sqs")
        topic = sns.create_topic(Name="t")["TopicArn"]
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(sqs, url), Attributes={"RawMessageDelivery": "true"})

        def publisher(n: int) -> None:
            client = first.client("sns")
            i = 0
            while not stop.is_set():
                try:
                    client.publish(TopicArn=topic, Message=f"p{n}-{i}")
                except (BotoCoreError, ClientError):
                    return
                with lock:
                    acknowledged.append(f"p{n}-{i}")
                i += 1

        threads = [threading.Thread(target=publisher, args=(n,)) for n in range(4)]
        [t.start() for t in threads]
        while len(acknowledged) < 300:
            threading.Event().wait(0.01)
        first.kill()
        stop.set()
        [t.join(10) for t in threads]
    finally:
        first.kill()

    second = NimbusServer(data_dir=data_dir).start()
    try:
        sqs = second.client("sqs")
        url = sqs.get_queue_url(QueueName="q")["QueueUrl"]
        with lock:
            expected = set(acknowledged)
        # Delivery is at least once: deliveries under way at the kill arrive again, and
        # publishes cut off before their answer may arrive too, so count distinct bodies.
        got: set[str] = set()
        deadline = time.time() + 60
        while not expected <= got and time.time() < deadline:
            got |= {m["Body"] for m in receive_all(sqs, url, len(expected - got), timeout=2)}
        missing = expected - got
        assert not missing, f"{len(missing)} acknowledged publishes were lost, e.g. {sorted(missing)[:5]}"
    finally:
        assert second.stop() == 0
