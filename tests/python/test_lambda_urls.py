"""Function URLs (served by path and by host, payload 2.0) and resource policies."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from lambda_helpers import PYTHON_ECHO, _lambda_session_client, create, lam  # noqa: F401

HTTP_ECHO = """
import base64, json
def handler(event, context):
    if event["rawPath"] == "/plain":
        return {"just": "json"}
    if event["rawPath"] == "/fail":
        raise RuntimeError("boom")
    body = event.get("body")
    return {"statusCode": 201, "headers": {"X-Echo": "yes", "Content-Type": "application/json"},
            "cookies": ["session=1"], "body": json.dumps({"event": event})}
"""


def request(url, method="GET", body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_url_config_crud(lam):
    create(lam, "web", {"app.py": HTTP_ECHO})
    created = lam.create_function_url_config(FunctionName="web", AuthType="NONE",
                                             Cors={"AllowOrigins": ["*"]})
    assert created["FunctionUrl"].endswith("/")
    assert "/_nimbus/function-url/" in created["FunctionUrl"]
    assert created["AuthType"] == "NONE" and created["Cors"]["AllowOrigins"] == ["*"]
    with pytest.raises(ClientError) as exc:
        lam.create_function_url_config(FunctionName="web", AuthType="NONE")
    assert exc.value.response["Error"]["Code"] == "ResourceConflictException"
    got = lam.get_function_url_config(FunctionName="web")
    assert got["FunctionUrl"] == created["FunctionUrl"]
    updated = lam.update_function_url_config(FunctionName="web", AuthType="AWS_IAM")
    assert updated["AuthType"] == "AWS_IAM"
    listed = lam.list_function_url_configs(FunctionName="web")["FunctionUrlConfigs"]
    assert [c["FunctionUrl"] for c in listed] == [created["FunctionUrl"]]
    lam.delete_function_url_config(FunctionName="web")
    with pytest.raises(ClientError) as exc:
        lam.get_function_url_config(FunctionName="web")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    status, _, _ = request(created["FunctionUrl"])
    assert status == 404


def test_url_serves_payload_2(lam):
    create(lam, "web", {"app.py": HTTP_ECHO})
    url = lam.create_function_url_config(FunctionName="web", AuthType="NONE")["FunctionUrl"]
    status, headers, body = request(url + "items/7?a=1&a=2&b=x%20y", method="POST", body=b'{"k": 1}',
                                    headers={"Content-Type": "application/json", "Cookie": "c1=v1; c2=v2",
                                             "X-Custom": "h"})
    assert status == 201
    assert headers["X-Echo"] == "yes"
    assert headers["Set-Cookie"] == "session=1"
    event = json.loads(body)["event"]
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/items/7"
    assert event["rawQueryString"] == "a=1&a=2&b=x%20y"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["headers"]["x-custom"] == "h"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["body"] == '{"k": 1}' and event["isBase64Encoded"] is False

    status, headers, body = request(url + "plain")
    assert status == 200 and json.loads(body) == {"just": "json"}
    assert headers["Content-Type"] == "application/json"
    status, _, _ = request(url + "fail")
    assert status == 502


def test_url_by_host(lam, nimbus):
    create(lam, "web", {"app.py": HTTP_ECHO})
    url = lam.create_function_url_config(FunctionName="web", AuthType="NONE")["FunctionUrl"]
    url_id = url.rstrip("/").rsplit("/", 1)[1]
    port = nimbus.url.rsplit(":", 1)[1]
    status, _, body = request(f"http://127.0.0.1:{port}/plain",
                              headers={"Host": f"{url_id}.lambda-url.us-east-1.localhost:{port}"})
    assert status == 200 and json.loads(body) == {"just": "json"}


def test_iam_url_needs_a_signature(lam):
    create(lam, "private", {"app.py": HTTP_ECHO})
    url = lam.create_function_url_config(FunctionName="private", AuthType="AWS_IAM")["FunctionUrl"]
    status, _, body = request(url + "plain")
    assert status == 403 and json.loads(body) == {"Message": "Forbidden"}
    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/lambda/aws4_request, "
                               "SignedHeaders=host, Signature=0"}
    status, _, body = request(url + "plain", headers=signed)
    assert status == 200 and json.loads(body) == {"just": "json"}


def test_url_changes_take_effect_at_once(lam):
    create(lam, "web", {"app.py": HTTP_ECHO})
    first = lam.create_function_url_config(FunctionName="web", AuthType="NONE")["FunctionUrl"]
    assert request(first + "plain")[0] == 200
    lam.update_function_url_config(FunctionName="web", AuthType="AWS_IAM")
    assert request(first + "plain")[0] == 403
    lam.delete_function_url_config(FunctionName="web")
    assert request(first + "plain")[0] == 404
    second = lam.create_function_url_config(FunctionName="web", AuthType="NONE")["FunctionUrl"]
    assert second != first
    assert request(second + "plain")[0] == 200
    assert request(first + "plain")[0] == 404
    # A function made again under the same name does not answer its predecessor's URL.
    lam.delete_function(FunctionName="web")
    assert request(second + "plain")[0] == 404
    create(lam, "web", {"app.py": HTTP_ECHO})
    third = lam.create_function_url_config(FunctionName="web", AuthType="NONE")["FunctionUrl"]
    assert request(third + "plain")[0] == 200
    assert request(second + "plain")[0] == 404


def test_permissions(lam):
    arn = create(lam, "perm", {"app.py": PYTHON_ECHO})["FunctionArn"]
    with pytest.raises(ClientError) as exc:
        lam.get_policy(FunctionName="perm")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    added = lam.add_permission(FunctionName="perm", StatementId="sns", Action="lambda:InvokeFunction",
                               Principal="sns.amazonaws.com",
                               SourceArn="arn:aws:sns:us-east-1:000000000000:topic")
    statement = json.loads(added["Statement"])
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Resource"] == arn
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"].endswith(":topic")
    with pytest.raises(ClientError) as exc:
        lam.add_permission(FunctionName="perm", StatementId="sns", Action="lambda:InvokeFunction",
                           Principal="sns.amazonaws.com")
    assert exc.value.response["Error"]["Code"] == "ResourceConflictException"
    lam.add_permission(FunctionName="perm", StatementId="url", Action="lambda:InvokeFunctionUrl",
                       Principal="*", FunctionUrlAuthType="NONE")
    policy = json.loads(lam.get_policy(FunctionName="perm")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["sns", "url"]
    lam.remove_permission(FunctionName="perm", StatementId="sns")
    policy = json.loads(lam.get_policy(FunctionName="perm")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["url"]
    with pytest.raises(ClientError) as exc:
        lam.remove_permission(FunctionName="perm", StatementId="sns")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
