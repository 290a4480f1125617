"""Functions and queued events survive restarts: code is kept in the store, and an event
whose run was cut short by `kill -9` runs again on the next start."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from lambda_helpers import ROLE, zip_of
from nimbus_harness import NimbusServer

SLOW = """
import time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    print("finished", event["tag"])
    return event["tag"]
"""


def finished_tags(logs, group):
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        return []
    events = logs.filter_log_events(logGroupName=group, filterPattern="finished")["events"]
    return [e["message"].split()[-1] for e in events]


@pytest.mark.slow
def test_functions_and_events_survive_restarts(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    first = NimbusServer(data_dir=data_dir).start()
    try:
        lam = first.client("lambda")
        lam.create_function(FunctionName="keep", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": zip_of({"app.py": SLOW})}, Timeout=30)
        assert json.loads(lam.invoke(FunctionName="keep", Payload=b'{"tag": "sync"}')["Payload"].read()) == "sync"
        response = lam.invoke(FunctionName="keep", InvocationType="Event",
                              Payload=json.dumps({"tag": "queued", "sleep": 5}).encode())
        assert response["StatusCode"] == 202
        time.sleep(0.5)  # the event is running now
    finally:
        first.kill()
    # Unpacked code is a cache: the store holds the zip.
    shutil.rmtree(data_dir / "lambda" / "code", ignore_errors=True)

    second = NimbusServer(data_dir=data_dir).start()
    try:
        lam = second.client("lambda")
        logs = second.client("logs")
        assert lam.get_function(FunctionName="keep")["Configuration"]["Timeout"] == 30
        assert json.loads(lam.invoke(FunctionName="keep", Payload=b'{"tag": "again"}')["Payload"].read()) == "again"
        deadline = time.time() + 20
        while time.time() < deadline and "queued" not in finished_tags(logs, "/aws/lambda/keep"):
            time.sleep(0.2)
        assert "queued" in finished_tags(logs, "/aws/lambda/keep")
    finally:
        assert second.stop() == 0
