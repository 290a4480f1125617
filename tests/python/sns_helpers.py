"""Helpers for the SNS suites: queues subscribed to topics, waiting for deliveries, a local
HTTP subscriber, and signature checks with the served certificate."""

from __future__ import annotations

import base64
import json
import queue as queue_module
import ssl
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError


def expect_error(code: str, fn, *args, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as info:
        fn(*args, **kwargs)
    assert info.value.response["Error"]["Code"] == code, info.value.response
    return info.value


def queue_arn(sqs, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def subscribed_queue(sns, sqs, topic_arn: str, name: str, **attributes) -> tuple[str, str]:
    """A new queue subscribed to the topic; returns (queue URL, subscription ARN)."""
    create = {"QueueName": name}
    if name.endswith(".fifo"):
        create["Attributes"] = {"FifoQueue": "true"}
    url = sqs.create_queue(**create)["QueueUrl"]
    sub = sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn(sqs, url),
        Attributes={k: v for k, v in attributes.items()},
    )["SubscriptionArn"]
    return url, sub


def receive_all(sqs, url: str, expected: int, timeout: float = 10.0, **kwargs) -> list[dict]:
    """Receives (and deletes) until `expected` messages arrived or the timeout passed."""
    got: list[dict] = []
    deadline = time.time() + timeout
    while len(got) < expected and time.time() < deadline:
        resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, **kwargs)
        for m in resp.get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def nothing_arrives(sqs, url: str, wait: float = 1.0) -> bool:
    resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=int(max(wait, 1)))
    return not resp.get("Messages")


# ---- signatures --------------------------------------------------------------------------
# https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html

NOTIFICATION_KEYS = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION_KEYS = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]


def string_to_sign(message: dict) -> bytes:
    keys = NOTIFICATION_KEYS if message["Type"] == "Notification" else CONFIRMATION_KEYS
    out = ""
    for key in keys:
        if key in message:
            out += f"{key}\n{message[key]}\n"
    return out.encode()


_cert_cache: dict[str, object] = {}


def verify_signature(message: dict) -> None:
    """Raises unless the message's signature verifies with the certificate it names."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    url = message["SigningCertURL"]
    if url not in _cert_cache:
        with urllib.request.urlopen(url, timeout=10) as resp:
            _cert_cache[url] = x509.load_pem_x509_certificate(resp.read())
    cert = _cert_cache[url]
    digest = hashes.SHA256() if message["SignatureVersion"] == "2" else hashes.SHA1()
    cert.public_key().verify(
        base64.b64decode(message["Signature"]), string_to_sign(message), padding.PKCS1v15(), digest
    )


# ---- an HTTP subscriber --------------------------------------------------------------------


class HttpSubscriber:
    """A local endpoint that records every POST; `status` sets what it answers."""

    def __init__(self, port: int = 0, tls: "ssl.SSLContext | None" = None):
        self.requests: queue_module.Queue = queue_module.Queue()
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                outer.requests.put({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next(self, timeout: float = 10.0) -> dict:
        return self.requests.get(timeout=timeout)

    def next_json(self, timeout: float = 10.0) -> tuple[dict, dict]:
        req = self.next(timeout)
        return req["headers"], json.loads(req["body"])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
