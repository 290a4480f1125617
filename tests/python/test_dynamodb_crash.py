"""DynamoDB durability: `kill -9` while writers run; every acknowledged PutItem and
transaction survives the restart, and no transaction is half applied."""

from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from nimbus_harness import NimbusServer

WRITERS = 4
KILL_AFTER_ACKS = 300


@pytest.mark.slow
def test_kill_dash_nine_keeps_acknowledged_writes(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    first = NimbusServer(data_dir=data_dir).start()
    acked_puts: list[set[str]] = [set() for _ in range(WRITERS)]
    acked_tx: list[set[str]] = [set() for _ in range(WRITERS)]
    try:
        ddb = first.client("dynamodb")
        ddb.create_table(
            TableName="durable",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        stop = threading.Event()

        def writer(n: int) -> None:
            client = first.client("dynamodb", read_timeout=10)
            i = 0
            while not stop.is_set():
                try:
                    if i % 3 == 2:
                        tag = f"t{n}-{i}"
                        client.transact_write_items(
                            TransactItems=[
                                {"Put": {"TableName": "durable", "Item": {"pk": {"S": f"{tag}-a"}}}},
                                {"Put": {"TableName": "durable", "Item": {"pk": {"S": f"{tag}-b"}}}},
                            ]
                        )
                        acked_tx[n].add(tag)
                    else:
                        client.put_item(TableName="durable", Item={"pk": {"S": f"p{n}-{i}"}, "v": {"N": str(i)}})
                        acked_puts[n].add(f"p{n}-{i}")
                except (BotoCoreError, ClientError, OSError):
                    return
                i += 1

        threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(WRITERS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while sum(len(a) for a in acked_puts) < KILL_AFTER_ACKS and time.monotonic() < deadline:
            time.sleep(0.01)
        first.kill()
        stop.set()
        for t in threads:
            t.join(15)
    finally:
        first.kill()

    puts = set().union(*acked_puts)
    transactions = set().union(*acked_tx)
    assert len(puts) >= KILL_AFTER_ACKS
    second = NimbusServer(data_dir=data_dir).start()
    try:
        ddb = second.client("dynamodb")
        stored = set()
        for page in ddb.get_paginator("scan").paginate(TableName="durable"):
            stored.update(i["pk"]["S"] for i in page["Items"])
        assert puts <= stored
        for tag in transactions:
            assert {f"{tag}-a", f"{tag}-b"} <= stored
        # A transaction is never half applied, acknowledged or not.
        halves = {k[:-2] for k in stored if k.startswith("t")}
        for tag in halves:
            assert {f"{tag}-a", f"{tag}-b"} <= stored, tag
    finally:
        assert second.stop() == 0
