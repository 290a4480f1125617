"""Small SQS helpers shared by the test modules."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def expect_error(call, code: str, *, status: int = 400, exc_name: str | None = None, **kwargs):
    """Runs `call(**kwargs)` and asserts it fails with `code` (boto3's `Error.Code`).

    `exc_name` names the modeled exception class boto3 must raise (e.g. "QueueDoesNotExist").
    Returns the parsed error response for further checks.
    """
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value
    assert err.response["Error"]["Code"] == code, err.response
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == status, err.response
    if exc_name is not None:
        assert type(err).__name__ == exc_name, (type(err).__name__, err.response)
    return err.response


def receive(sqs, url: str, n: int = 10, **kwargs) -> list[dict]:
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=n, **kwargs).get("Messages", [])


def receive_one(sqs, url: str, **kwargs) -> dict:
    msgs = receive(sqs, url, 1, **kwargs)
    assert len(msgs) == 1, msgs
    return msgs[0]


def drain(sqs, url: str, *, visibility: int = 600, max_rounds: int = 1000, **kwargs) -> list[dict]:
    """Receives until a receive comes back empty; messages stay in flight for `visibility` s."""
    out: list[dict] = []
    for _ in range(max_rounds):
        got = receive(sqs, url, 10, VisibilityTimeout=visibility, **kwargs)
        if not got:
            return out
        out.extend(got)
    raise AssertionError("queue never drained")


def attrs(sqs, url: str, *names: str) -> dict:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names) or ["All"])[
        "Attributes"
    ]


def counts(sqs, url: str) -> tuple[int, int, int]:
    """(visible, in flight, delayed) as GetQueueAttributes reports them."""
    a = attrs(
        sqs,
        url,
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    )
    return (
        int(a["ApproximateNumberOfMessages"]),
        int(a["ApproximateNumberOfMessagesNotVisible"]),
        int(a["ApproximateNumberOfMessagesDelayed"]),
    )
