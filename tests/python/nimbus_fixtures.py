"""Fixtures for the real-client suites: one nimbus per test run, state wiped per test.

Imported by tests/python/conftest.py and tests/cli/conftest.py.
"""

from __future__ import annotations

import pytest

from nimbus_harness import DEFAULT_ACCOUNT, NimbusServer

__all__ = [
    "nimbus", "_reset", "_sqs_session_client", "sqs", "account", "queue", "fifo", "clock",
    "_sns_session_client", "sns",
]


@pytest.fixture(scope="session")
def nimbus():
    """The shared server: `nimbus serve --port 0 --in-memory --clock test`."""
    server = NimbusServer().start()
    yield server
    code = server.stop()
    assert code == 0, f"nimbus exited with {code} on SIGTERM\n{server.log_tail()}"


@pytest.fixture(autouse=True)
def _reset(request):
    """Every test starts from empty state (the clock keeps running forward)."""
    if "nimbus" in request.fixturenames:
        request.getfixturevalue("nimbus").reset()


@pytest.fixture(scope="session")
def _sqs_session_client(nimbus):
    return nimbus.client("sqs")


@pytest.fixture
def sqs(nimbus, _sqs_session_client):
    """A boto3 SQS client for account 000000000000 in us-east-1."""
    return _sqs_session_client


@pytest.fixture(scope="session")
def _sns_session_client(nimbus):
    return nimbus.client("sns")


@pytest.fixture
def sns(nimbus, _sns_session_client):
    """A boto3 SNS client for account 000000000000 in us-east-1."""
    return _sns_session_client


@pytest.fixture
def account():
    return DEFAULT_ACCOUNT


@pytest.fixture
def queue(sqs):
    """A fresh standard queue with default attributes; its URL."""
    return sqs.create_queue(QueueName="q")["QueueUrl"]


@pytest.fixture
def fifo(sqs):
    """A fresh FIFO queue (no content-based deduplication); its URL."""
    return sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]


@pytest.fixture
def clock(nimbus):
    """The server's test clock: `clock.now_ms()`, `clock.advance(seconds)`."""
    return nimbus
