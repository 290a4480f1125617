"""Function URLs and resource policies of aliases and versions: an alias's URL serves the
alias's version, and each version or alias has its own policy."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from lambda_helpers import ROLE, _lambda_session_client, lam, zip_of  # noqa: F401
from test_lambda_urls import request

ARN = "arn:aws:lambda:us-east-1:000000000000:function"

TAGGED = """
def handler(event, context):
    return {"tag": "%s", "version": context.function_version}
"""


def two_versions(lam, name: str) -> None:
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": zip_of({"app.py": TAGGED % "one"})}, Publish=True)
    lam.update_function_code(FunctionName=name, ZipFile=zip_of({"app.py": TAGGED % "two"}))


def error_of(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return error["Code"], error["Message"]


def test_alias_url_serves_the_alias_version(lam):
    two_versions(lam, "webv")
    lam.create_alias(FunctionName="webv", Name="live", FunctionVersion="1")
    alias_url = lam.create_function_url_config(FunctionName="webv", Qualifier="live", AuthType="NONE")
    assert alias_url["FunctionArn"] == f"{ARN}:webv:live"
    latest_url = lam.create_function_url_config(FunctionName="webv", AuthType="NONE")
    assert latest_url["FunctionUrl"] != alias_url["FunctionUrl"]
    assert latest_url["FunctionArn"] == f"{ARN}:webv"

    status, _, body = request(alias_url["FunctionUrl"])
    assert status == 200 and json.loads(body) == {"tag": "one", "version": "1"}
    status, _, body = request(latest_url["FunctionUrl"])
    assert status == 200 and json.loads(body) == {"tag": "two", "version": "$LATEST"}

    got = lam.get_function_url_config(FunctionName="webv", Qualifier="live")
    assert got["FunctionUrl"] == alias_url["FunctionUrl"]
    listed = lam.list_function_url_configs(FunctionName="webv")["FunctionUrlConfigs"]
    assert sorted(c["FunctionArn"] for c in listed) == [f"{ARN}:webv", f"{ARN}:webv:live"]
    updated = lam.update_function_url_config(FunctionName="webv", Qualifier="live", AuthType="AWS_IAM")
    assert updated["AuthType"] == "AWS_IAM"
    assert request(alias_url["FunctionUrl"])[0] == 403

    with pytest.raises(ClientError) as exc:
        lam.create_function_url_config(FunctionName="webv", Qualifier="live", AuthType="NONE")
    assert error_of(exc)[0] == "ResourceConflictException"
    with pytest.raises(ClientError) as exc:
        lam.create_function_url_config(FunctionName="webv", Qualifier="nope", AuthType="NONE")
    assert error_of(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        lam.create_function_url_config(FunctionName="webv", Qualifier="1", AuthType="NONE")
    assert error_of(exc)[0] == "ValidationException"

    lam.delete_function_url_config(FunctionName="webv", Qualifier="live")
    assert request(alias_url["FunctionUrl"])[0] == 404
    assert request(latest_url["FunctionUrl"])[0] == 200
    # Deleting an alias takes its URL with it.
    lam.create_alias(FunctionName="webv", Name="beta", FunctionVersion="1")
    beta = lam.create_function_url_config(FunctionName="webv", Qualifier="beta", AuthType="NONE")
    assert request(beta["FunctionUrl"])[0] == 200
    lam.delete_alias(FunctionName="webv", Name="beta")
    assert request(beta["FunctionUrl"])[0] == 404


def test_versions_and_aliases_have_their_own_policies(lam):
    two_versions(lam, "polv")
    lam.create_alias(FunctionName="polv", Name="live", FunctionVersion="1")
    on_alias = json.loads(lam.add_permission(FunctionName="polv", Qualifier="live", StatementId="sns",
                                             Action="lambda:InvokeFunction",
                                             Principal="sns.amazonaws.com")["Statement"])
    assert on_alias["Resource"] == f"{ARN}:polv:live"
    lam.add_permission(FunctionName="polv:1", StatementId="sns", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com")
    lam.add_permission(FunctionName="polv", StatementId="plain", Action="lambda:InvokeFunction",
                       Principal="s3.amazonaws.com")

    def statements(**qualifier):
        policy = json.loads(lam.get_policy(FunctionName="polv", **qualifier)["Policy"])
        return [(s["Sid"], s["Resource"]) for s in policy["Statement"]]

    assert statements() == [("plain", f"{ARN}:polv")]
    assert statements(Qualifier="live") == [("sns", f"{ARN}:polv:live")]
    assert statements(Qualifier="1") == [("sns", f"{ARN}:polv:1")]
    lam.remove_permission(FunctionName="polv", Qualifier="live", StatementId="sns")
    with pytest.raises(ClientError) as exc:
        lam.get_policy(FunctionName="polv", Qualifier="live")
    assert error_of(exc)[0] == "ResourceNotFoundException"
    assert statements(Qualifier="1") == [("sns", f"{ARN}:polv:1")]
    with pytest.raises(ClientError) as exc:
        lam.add_permission(FunctionName="polv", Qualifier="9", StatementId="x",
                           Action="lambda:InvokeFunction", Principal="sns.amazonaws.com")
    assert error_of(exc)[0] == "ResourceNotFoundException"
