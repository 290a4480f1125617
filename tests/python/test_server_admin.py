"""The /_nimbus admin API, process lifecycle, and URLs derived from the Host header."""

from __future__ import annotations

import http.client
import json
import re

import pytest

from nimbus_harness import NimbusServer


def test_health(nimbus):
    h = nimbus.health()
    assert h["status"] == "ok"
    assert isinstance(h["version"], str) and re.match(r"^\d+\.\d+\.\d+", h["version"])
    assert isinstance(h["uptime_seconds"], (int, float)) and h["uptime_seconds"] >= 0
    assert "sqs" in h["services"]


def test_metrics_count_requests_per_operation(nimbus, sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="m")
    sqs.send_message(QueueUrl=queue, MessageBody="m")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="missing")
    text = nimbus.metrics()
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert samples, text
    # Prometheus text: name{labels} value
    for line in samples:
        assert re.match(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eEInfaN]+( \d+)?$", line), line
    send_lines = [l for l in samples if "SendMessage" in l and "sqs" in l]
    assert send_lines, "no per-operation sample for SendMessage"
    assert any("GetQueueUrl" in l for l in samples)


def test_reset_wipes_everything(nimbus, sqs):
    sqs.create_queue(QueueName="a")
    nimbus.reset()
    assert sqs.list_queues().get("QueueUrls", []) == []


def test_reset_one_service(nimbus, sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="x")
    nimbus.reset("sqs")
    assert sqs.list_queues().get("QueueUrls", []) == []
    # A reset queue name is immediately reusable (no QueueDeletedRecently after a reset).
    sqs.create_queue(QueueName="q")


def test_clock_is_frozen_and_advances_exactly(nimbus):
    c = nimbus.clock()
    assert c["mode"] == "test"
    before = int(c["now_ms"])
    assert nimbus.now_ms() == before, "a test clock must stand still"
    after = nimbus.advance(90)
    assert after - before == 90_000
    assert nimbus.advance(0.5) - after == 500


def test_clock_rejects_bad_input(nimbus):
    before = nimbus.now_ms()
    status, _ = nimbus.admin("POST", "/_nimbus/clock", {"advance_seconds": -5})
    assert status == 400
    status, _ = nimbus.admin("POST", "/_nimbus/clock", {"advance_seconds": "soon"})
    assert status == 400
    assert nimbus.now_ms() == before


def test_unknown_admin_path_is_404(nimbus):
    status, _ = nimbus.admin("GET", "/_nimbus/nope")
    assert status == 404


def test_queue_url_follows_host_header(nimbus, account):
    via_localhost = nimbus.client("sqs", endpoint=nimbus.url_localhost)
    via_ip = nimbus.client("sqs", endpoint=nimbus.url_127)
    a = via_localhost.create_queue(QueueName="hosty")["QueueUrl"]
    assert a == f"http://localhost:{nimbus.port}/{account}/hosty"
    b = via_ip.get_queue_url(QueueName="hosty")["QueueUrl"]
    assert b == f"http://127.0.0.1:{nimbus.port}/{account}/hosty"
    listed = via_ip.list_queues()["QueueUrls"]
    assert listed == [b]


def test_queue_url_with_arbitrary_host_header(nimbus, account):
    # Raw request with a Host a proxy might send; the returned URL uses it verbatim.
    body = json.dumps({"QueueName": "proxied"})
    conn = http.client.HTTPConnection("127.0.0.1", nimbus.port, timeout=10)
    conn.request(
        "POST",
        "/",
        body=body,
        headers={
            "Host": "sqs.example.test:9999",
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "AmazonSQS.CreateQueue",
        },
    )
    resp = conn.getresponse()
    data = json.loads(resp.read())
    assert resp.status == 200, data
    assert data["QueueUrl"] == f"http://sqs.example.test:9999/{account}/proxied"


def test_sigterm_exits_cleanly():
    server = NimbusServer().start()
    client = server.client("sqs")
    client.create_queue(QueueName="bye")
    assert server.stop() == 0


def test_hostname_account_and_region_flags():
    server = NimbusServer("--hostname", "nimbus.internal", "--account", "123456789012", "--region", "eu-west-1")
    server.start()
    try:
        # A non-12-digit key uses --account; the signing region still decides the region.
        client = server.client("sqs", region="eu-west-1")
        url = client.create_queue(QueueName="named")["QueueUrl"]
        assert re.match(r"^http://nimbus\.internal(:\d+)?/123456789012/named$", url), url
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        assert arn == "arn:aws:sqs:eu-west-1:123456789012:named"
    finally:
        assert server.stop() == 0
