"""The awsJson 1.0 wire as current SDKs see it, and server-side validation without boto3.

Error shape for awsQueryCompatible services: JSON `__type` plus the `x-amzn-query-error:
<legacy code>;Sender` header (see the SQS model's awsQueryCompatible trait and botocore's
parsers).
"""

from __future__ import annotations

import pytest

from raw_http import JSON_CT, json_call, send


def create(nimbus, name="wire"):
    resp = json_call(nimbus.url, "CreateQueue", {"QueueName": name})
    assert resp.status == 200, resp.body
    return resp.json()["QueueUrl"]


def assert_error(resp, shape: str, legacy: str, status: int = 400):
    assert resp.status == status, (resp.status, resp.body)
    data = resp.json()
    assert data["__type"].split("#")[-1] == shape, data
    assert isinstance(data.get("message", data.get("Message")), str)
    assert resp.header("x-amzn-query-error") == f"{legacy};Sender"
    assert resp.header("x-amzn-requestid")


def test_success_headers(nimbus):
    resp = json_call(nimbus.url, "ListQueues", {})
    assert resp.status == 200
    assert resp.header("content-type").startswith(JSON_CT)
    assert resp.header("x-amzn-requestid")
    assert resp.json().get("QueueUrls", []) == []


def test_non_existent_queue_error_shape(nimbus, account):
    resp = json_call(nimbus.url, "GetQueueUrl", {"QueueName": "missing"})
    assert_error(resp, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")
    resp = json_call(nimbus.url, "SendMessage", {"QueueUrl": f"{nimbus.url}/{account}/missing", "MessageBody": "x"})
    assert_error(resp, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")


def test_batch_error_shapes(nimbus):
    url = create(nimbus)
    assert_error(
        json_call(nimbus.url, "SendMessageBatch", {"QueueUrl": url, "Entries": []}),
        "EmptyBatchRequest",
        "AWS.SimpleQueueService.EmptyBatchRequest",
    )
    entries = [{"Id": f"i{n}", "MessageBody": "b"} for n in range(11)]
    assert_error(
        json_call(nimbus.url, "SendMessageBatch", {"QueueUrl": url, "Entries": entries}),
        "TooManyEntriesInBatchRequest",
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    )


def test_queue_name_exists_shape(nimbus):
    json_call(nimbus.url, "CreateQueue", {"QueueName": "dup", "Attributes": {"DelaySeconds": "1"}})
    resp = json_call(nimbus.url, "CreateQueue", {"QueueName": "dup", "Attributes": {"DelaySeconds": "2"}})
    assert_error(resp, "QueueNameExists", "QueueAlreadyExists")


def test_receipt_handle_invalid_shape(nimbus):
    url = create(nimbus)
    resp = json_call(nimbus.url, "DeleteMessage", {"QueueUrl": url, "ReceiptHandle": "junk"})
    assert_error(resp, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", status=404)


@pytest.mark.parametrize(
    "operation,payload",
    [
        ("CreateQueue", {}),  # QueueName missing
        ("SendMessage", {"MessageBody": "no url"}),
        ("SendMessage", {"QueueUrl": "{url}"}),  # MessageBody missing
        ("ReceiveMessage", {"QueueUrl": "{url}", "MaxNumberOfMessages": "ten"}),
        ("ReceiveMessage", {"QueueUrl": "{url}", "MaxNumberOfMessages": 11}),
        ("ReceiveMessage", {"QueueUrl": "{url}", "WaitTimeSeconds": 21}),
        ("ReceiveMessage", {"QueueUrl": "{url}", "VisibilityTimeout": -1}),
        ("ChangeMessageVisibility", {"QueueUrl": "{url}", "ReceiptHandle": "x"}),
        ("SendMessage", {"QueueUrl": "{url}", "MessageBody": "x", "DelaySeconds": 901}),
        ("SendMessage", {"QueueUrl": "{url}", "MessageBody": ""}),
        ("CreateQueue", {"QueueName": "x" * 81}),
        ("ListQueues", {"MaxResults": 1001}),
        ("ListQueues", {"MaxResults": 0}),
        ("GetQueueAttributes", {"QueueUrl": "{url}", "AttributeNames": "All"}),
    ],
)
def test_server_side_validation(nimbus, operation, payload):
    url = create(nimbus)
    payload = {k: (v.replace("{url}", url) if isinstance(v, str) else v) for k, v in payload.items()}
    resp = json_call(nimbus.url, operation, payload)
    assert resp.status == 400, (resp.status, resp.body)
    data = resp.json()
    assert "__type" in data
    # The queue was not changed by a rejected request.
    check = json_call(nimbus.url, "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["ApproximateNumberOfMessages"]})
    assert check.json()["Attributes"]["ApproximateNumberOfMessages"] == "0"


# An empty body is read as `{}` (no input members), as awsJson servers do.
@pytest.mark.parametrize("body", [b"{not json", b"[]", b"\xff\xfe"])
def test_malformed_bodies_are_client_errors(nimbus, body):
    resp = json_call(nimbus.url, "ListQueues", body)
    assert 400 <= resp.status < 500, (resp.status, resp.body)


def test_unknown_operation(nimbus):
    resp = json_call(nimbus.url, "MakeCoffee", {})
    assert resp.status == 400
    assert "__type" in resp.json()


def test_oversized_request_is_rejected_not_crashing(nimbus):
    url = create(nimbus)
    resp = json_call(nimbus.url, "SendMessage", {"QueueUrl": url, "MessageBody": "x" * (8 * 1024 * 1024)})
    assert resp.status in (400, 413), resp.status
    assert nimbus.health()["status"] == "ok"


def test_unsigned_request_accepted_by_default(nimbus):
    resp = send(
        nimbus.url,
        "POST",
        "/",
        b"{}",
        {"Content-Type": JSON_CT, "X-Amz-Target": "AmazonSQS.ListQueues"},
        sign=False,
    )
    assert resp.status == 200, resp.body
