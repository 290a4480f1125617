"""Event source mappings survive restarts: the mapping is kept in the store and its poller
starts again with the server, picking up messages sent while it was down."""

from __future__ import annotations

import pytest

from ddb_esm_helpers import keys_seen, stream_mapped, stream_recorder, stream_table
from esm_helpers import RECORDER, bodies_seen, queue_arn, wait_state
from lambda_helpers import ROLE, zip_of
from nimbus_harness import NimbusServer, wait_for


@pytest.mark.slow
def test_a_mapping_survives_a_restart(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    first = NimbusServer(data_dir=data_dir).start()
    try:
        lam, sqs, logs = first.client("lambda"), first.client("sqs"), first.client("logs")
        lam.create_function(FunctionName="worker", Runtime="python3.11", Role=ROLE,
                            Handler="app.handler", Code={"ZipFile": zip_of({"app.py": RECORDER})})
        url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
        uuid = lam.create_event_source_mapping(EventSourceArn=queue_arn(sqs, url), FunctionName="worker",
                                               BatchSize=5)["UUID"]
        wait_state(lam, uuid, "Enabled")
        sqs.send_message(QueueUrl=url, MessageBody="before restart")
        wait_for(lambda: bodies_seen(logs, "worker") == ["before restart"], what="the first message")
    finally:
        assert first.stop() == 0

    second = NimbusServer(data_dir=data_dir).start()
    try:
        lam, sqs, logs = second.client("lambda"), second.client("sqs"), second.client("logs")
        mapping = lam.get_event_source_mapping(UUID=uuid)
        assert mapping["State"] == "Enabled" and mapping["BatchSize"] == 5
        url = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="after restart")
        wait_for(lambda: "after restart" in bodies_seen(logs, "worker"), what="the message after restart")
    finally:
        assert second.stop() == 0


@pytest.mark.slow
def test_a_stream_mapping_resumes_from_its_checkpoint(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    first = NimbusServer(data_dir=data_dir).start()
    try:
        lam, ddb, logs = first.client("lambda"), first.client("dynamodb"), first.client("logs")
        stream_recorder(lam)
        arn = stream_table(ddb)
        uuid = stream_mapped(lam, arn, BatchSize=5)
        ddb.put_item(TableName="orders", Item={"pk": {"S": "before"}})
        wait_for(lambda: keys_seen(logs) == ["before"], what="the first record")
    finally:
        assert first.stop() == 0

    second = NimbusServer(data_dir=data_dir).start()
    try:
        lam, ddb, logs = second.client("lambda"), second.client("dynamodb"), second.client("logs")
        assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
        ddb.put_item(TableName="orders", Item={"pk": {"S": "after"}})
        wait_for(lambda: "after" in keys_seen(logs), what="the record after restart")
        # The record processed before the restart is not delivered again.
        assert keys_seen(logs) == ["before", "after"]
    finally:
        assert second.stop() == 0
