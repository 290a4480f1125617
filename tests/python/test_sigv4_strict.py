"""`--auth strict`: signatures are verified; failures get AWS's errors.

https://docs.aws.amazon.com/IAM/latest/UserGuide/signature-v4-troubleshooting.html
"""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from nimbus_harness import NimbusServer
from raw_http import get, json_call, presigned_get, query, send

KEY, SECRET = "AKIDNIMBUSSTRICT", "strict-secret-value"


@pytest.fixture(scope="module")
def strict():
    server = NimbusServer("--auth", "strict", "--access-key", f"{KEY}:{SECRET}").start()
    yield server
    assert server.stop() == 0


def error_of(call):
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response


def test_correct_credentials_work(strict):
    client = strict.client("sqs", access_key=KEY, secret_key=SECRET)
    url = client.create_queue(QueueName="strict-ok")["QueueUrl"]
    assert url.endswith("/000000000000/strict-ok")
    client.send_message(QueueUrl=url, MessageBody="signed")
    assert client.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "signed"


def test_wrong_secret(strict):
    client = strict.client("sqs", access_key=KEY, secret_key="wrong")
    resp = error_of(lambda: client.list_queues())
    assert resp["Error"]["Code"] == "SignatureDoesNotMatch"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_key(strict):
    client = strict.client("sqs", access_key="AKIDUNKNOWN", secret_key=SECRET)
    resp = error_of(lambda: client.list_queues())
    assert resp["Error"]["Code"] == "InvalidClientTokenId"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unsigned_request_is_refused(strict):
    resp = json_call(strict.url, "ListQueues", {}, sign=False)
    assert resp.status in (400, 403), resp.status


def test_tampered_body_is_refused(strict):
    # Signed for one body, sent with another: the payload hash no longer matches.
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.CreateQueue"}
    req = AWSRequest(method="POST", url=strict.url + "/", data=b'{"QueueName":"a"}', headers=headers)
    SigV4Auth(Credentials(KEY, SECRET), "sqs", "us-east-1").add_auth(req)
    resp = send(strict.url, "POST", "/", b'{"QueueName":"b"}', dict(req.headers.items()), sign=False)
    assert resp.status == 403
    said = (resp.header("x-amzn-query-error") or "") + resp.body.decode(errors="replace")
    assert "SignatureDoesNotMatch" in said


def test_query_protocol_errors_in_xml(strict):
    ok = query(strict.url, {"Action": "ListQueues"}, access_key=KEY, secret_key=SECRET)
    assert ok.status == 200, ok.body
    bad = query(strict.url, {"Action": "ListQueues"}, access_key=KEY, secret_key="nope")
    assert bad.status == 403
    assert bad.xml().find("Error/Code").text == "SignatureDoesNotMatch"


def test_presigned_urls(strict):
    url = presigned_get(strict.url, {"Action": "ListQueues"}, access_key=KEY, secret_key=SECRET)
    assert get(url).status == 200
    forged = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert get(forged).status == 403


def test_request_time_skew(strict):
    # Requests signed more than 15 minutes away from the server's time are refused.
    client = strict.client("sqs", access_key=KEY, secret_key=SECRET)
    skewed = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(hours=1)
    with mock.patch("botocore.auth.get_current_datetime", return_value=skewed):
        resp = error_of(lambda: client.list_queues())
    assert resp["Error"]["Code"] in ("RequestTimeTooSkewed", "SignatureDoesNotMatch", "RequestExpired")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 403
