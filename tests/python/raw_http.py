"""Raw HTTP requests to nimbus, signed with SigV4 but without boto3's serializers or validation."""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

QUERY_VERSION = "2012-11-05"
JSON_CT = "application/x-amz-json-1.0"
FORM_CT = "application/x-www-form-urlencoded; charset=utf-8"


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)

    def xml(self) -> ET.Element:
        return strip_namespaces(ET.fromstring(self.body))


def strip_namespaces(root: ET.Element) -> ET.Element:
    for el in root.iter():
        el.tag = re.sub(r"^\{.*\}", "", el.tag)
    return root


def send(
    base_url: str,
    method: str,
    path: str,
    body: bytes | str = b"",
    headers: dict | None = None,
    *,
    sign: bool = True,
    access_key: str = "test",
    secret_key: str = "test",
    region: str = "us-east-1",
    timeout: float = 30.0,
) -> Response:
    if isinstance(body, str):
        body = body.encode()
    headers = dict(headers or {})
    parsed = urllib.parse.urlsplit(base_url)
    if sign:
        req = AWSRequest(method=method, url=base_url + path, data=body, headers=headers)
        SigV4Auth(Credentials(access_key, secret_key), "sqs", region).add_auth(req)
        headers = dict(req.headers.items())
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def query(base_url: str, params: dict, path: str = "/", **kwargs) -> Response:
    """An awsQuery request: form-encoded POST with Action and Version."""
    form = {"Version": QUERY_VERSION, **params}
    return send(base_url, "POST", path, urllib.parse.urlencode(form), {"Content-Type": FORM_CT}, **kwargs)


def presigned_get(base_url: str, params: dict, *, access_key="test", secret_key="test", region="us-east-1") -> str:
    """A query-string-signed GET URL (X-Amz-Signature in the query), as older SDKs build them."""
    form = {"Version": QUERY_VERSION, **params}
    req = AWSRequest(method="GET", url=base_url + "/?" + urllib.parse.urlencode(form))
    SigV4QueryAuth(Credentials(access_key, secret_key), "sqs", region, expires=300).add_auth(req)
    return req.url


def get(url: str, timeout: float = 30.0) -> Response:
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    try:
        target = parsed.path + ("?" + parsed.query if parsed.query else "")
        conn.request("GET", target)
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def json_call(base_url: str, operation: str, payload, **kwargs) -> Response:
    """An awsJson 1.0 request as current SDKs send it."""
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    headers = {"Content-Type": JSON_CT, "X-Amz-Target": f"AmazonSQS.{operation}", "x-amzn-query-mode": "true"}
    return send(base_url, "POST", "/", body, headers, **kwargs)
