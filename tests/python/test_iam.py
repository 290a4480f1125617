"""IAM with boto3: roles, inline and managed policies, attachments, tags, pagination and
AWS's errors. Recorded, not enforced.

https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListPolicies.html
"""

from __future__ import annotations

import json
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from raw_http import FORM_CT, send

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
}
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


@pytest.fixture
def iam(nimbus):
    return nimbus.client("iam")


def error_of(call):
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response


def code_and_status(resp):
    return resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"]


def make_role(iam, name="fn-role", **extra):
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST), **extra)["Role"]


def test_lambda_role_is_created_found_and_referenced_by_arn(iam, account):
    role = make_role(iam, "lambda-exec", Path="/service-role/", Description="runs functions")
    assert role["Arn"] == f"arn:aws:iam::{account}:role/service-role/lambda-exec"
    assert role["RoleId"].startswith("AROA") and len(role["RoleId"]) == 21
    assert role["AssumeRolePolicyDocument"] == TRUST  # botocore decodes the URL-encoded JSON
    iam.attach_role_policy(RoleName="lambda-exec", PolicyArn=BASIC_EXECUTION)
    iam.get_waiter("role_exists").wait(RoleName="lambda-exec")
    found = iam.get_role(RoleName="lambda-exec")["Role"]
    assert found["Arn"] == role["Arn"] and found["RoleId"] == role["RoleId"]
    assert found["Description"] == "runs functions"
    assert found["MaxSessionDuration"] == 3600
    assert found["CreateDate"] == role["CreateDate"]
    by_arn = [r for r in iam.list_roles()["Roles"] if r["Arn"] == role["Arn"]]
    assert len(by_arn) == 1
    attached = iam.list_attached_role_policies(RoleName="lambda-exec")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC_EXECUTION}]


def test_policy_documents_are_url_encoded_on_the_wire(nimbus, iam):
    make_role(iam)
    form = {"Action": "GetRole", "Version": "2010-05-08", "RoleName": "fn-role"}
    resp = send(nimbus.url, "POST", "/", urllib.parse.urlencode(form), {"Content-Type": FORM_CT}, sign=False)
    assert resp.status == 200
    body = resp.body.decode()
    assert "<AssumeRolePolicyDocument>%7B%22Version%22%3A" in body, body
    assert "<CreateDate>" in body and "T" in body.split("<CreateDate>")[1][:20]


def test_role_names_are_unique_without_case(iam):
    make_role(iam, "Builder")
    resp = error_of(lambda: make_role(iam, "builder"))
    assert code_and_status(resp) == ("EntityAlreadyExists", 409)
    assert iam.get_role(RoleName="BUILDER")["Role"]["RoleName"] == "Builder"


def test_missing_roles(iam):
    for call in (
        lambda: iam.get_role(RoleName="nope"),
        lambda: iam.delete_role(RoleName="nope"),
        lambda: iam.list_role_policies(RoleName="nope"),
        lambda: iam.attach_role_policy(RoleName="nope", PolicyArn=BASIC_EXECUTION),
        lambda: iam.tag_role(RoleName="nope", Tags=[{"Key": "k", "Value": "v"}]),
    ):
        resp = error_of(call)
        assert code_and_status(resp) == ("NoSuchEntity", 404)
    assert "The role with name nope cannot be found." == error_of(lambda: iam.get_role(RoleName="nope"))["Error"]["Message"]


@pytest.mark.parametrize("name", ["has space", "semi;colon", "slash/x", "ümlaut"])
def test_bad_role_names(iam, name):
    resp = error_of(lambda: make_role(iam, name))
    assert code_and_status(resp) == ("ValidationError", 400)


@pytest.mark.parametrize("path", ["no-slashes", "/starts-only", "ends-only/", "/with space/"])
def test_bad_paths(iam, path):
    resp = error_of(lambda: make_role(iam, Path=path))
    assert code_and_status(resp) == ("ValidationError", 400)


@pytest.mark.parametrize("document", ["not json", "{}", '{"Version": "2012-10-17"}', "[1, 2]"])
def test_malformed_policy_documents(iam, document):
    resp = error_of(lambda: iam.create_role(RoleName="r", AssumeRolePolicyDocument=document))
    assert code_and_status(resp) == ("MalformedPolicyDocument", 400)
    make_role(iam, "ok")
    for call in (
        lambda: iam.put_role_policy(RoleName="ok", PolicyName="p", PolicyDocument=document),
        lambda: iam.create_policy(PolicyName="p", PolicyDocument=document),
        lambda: iam.update_assume_role_policy(RoleName="ok", PolicyDocument=document),
    ):
        assert code_and_status(error_of(call)) == ("MalformedPolicyDocument", 400)


def test_url_encoded_documents_are_accepted(iam):
    encoded = urllib.parse.quote(json.dumps(TRUST))
    role = iam.create_role(RoleName="encoded", AssumeRolePolicyDocument=encoded)["Role"]
    assert role["AssumeRolePolicyDocument"] == TRUST


def test_update_assume_role_policy(iam):
    make_role(iam)
    trust = dict(TRUST, Statement=[dict(TRUST["Statement"][0], Principal={"Service": "states.amazonaws.com"})])
    iam.update_assume_role_policy(RoleName="fn-role", PolicyDocument=json.dumps(trust))
    assert iam.get_role(RoleName="fn-role")["Role"]["AssumeRolePolicyDocument"] == trust


def test_list_roles_by_path_prefix_and_pages(iam):
    for i in range(5):
        make_role(iam, f"app-{i}", Path="/app/")
    make_role(iam, "other", Path="/other/")
    assert [r["RoleName"] for r in iam.list_roles(PathPrefix="/other/")["Roles"]] == ["other"]
    names, marker = [], None
    while True:
        kwargs = {"PathPrefix": "/app/", "MaxItems": 2, **({"Marker": marker} if marker else {})}
        page = iam.list_roles(**kwargs)
        names += [r["RoleName"] for r in page["Roles"]]
        assert len(page["Roles"]) <= 2
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        marker = page["Marker"]
    assert names == [f"app-{i}" for i in range(5)]
    paginated = iam.get_paginator("list_roles").paginate(PaginationConfig={"PageSize": 4})
    assert sum(len(p["Roles"]) for p in paginated) == 6
    assert code_and_status(error_of(lambda: iam.list_roles(PathPrefix="app"))) == ("ValidationError", 400)


def test_inline_policies(iam):
    make_role(iam)
    iam.put_role_policy(RoleName="fn-role", PolicyName="send", PolicyDocument=json.dumps(POLICY))
    iam.put_role_policy(RoleName="fn-role", PolicyName="another", PolicyDocument=json.dumps(POLICY))
    got = iam.get_role_policy(RoleName="fn-role", PolicyName="send")
    assert (got["RoleName"], got["PolicyName"], got["PolicyDocument"]) == ("fn-role", "send", POLICY)
    assert iam.list_role_policies(RoleName="fn-role")["PolicyNames"] == ["another", "send"]
    page = iam.list_role_policies(RoleName="fn-role", MaxItems=1)
    assert page["IsTruncated"] and page["PolicyNames"] == ["another"]

    resp = error_of(lambda: iam.delete_role(RoleName="fn-role"))
    assert code_and_status(resp) == ("DeleteConflict", 409)
    iam.delete_role_policy(RoleName="fn-role", PolicyName="send")
    iam.delete_role_policy(RoleName="fn-role", PolicyName="another")
    for call in (
        lambda: iam.get_role_policy(RoleName="fn-role", PolicyName="send"),
        lambda: iam.delete_role_policy(RoleName="fn-role", PolicyName="send"),
    ):
        assert code_and_status(error_of(call)) == ("NoSuchEntity", 404)
    iam.delete_role(RoleName="fn-role")
    assert code_and_status(error_of(lambda: iam.get_role(RoleName="fn-role"))) == ("NoSuchEntity", 404)


def test_inline_policy_size_quota(iam):
    make_role(iam)
    big = dict(POLICY, Statement=[dict(POLICY["Statement"][0], Sid="x" * 11000)])
    resp = error_of(lambda: iam.put_role_policy(RoleName="fn-role", PolicyName="big", PolicyDocument=json.dumps(big)))
    assert code_and_status(resp) == ("LimitExceeded", 409)


def test_managed_policy_crud(iam, account):
    created = iam.create_policy(
        PolicyName="queue-writer", Path="/app/", PolicyDocument=json.dumps(POLICY), Description="send"
    )["Policy"]
    arn = f"arn:aws:iam::{account}:policy/app/queue-writer"
    assert created["Arn"] == arn
    assert created["PolicyId"].startswith("ANPA")
    assert created["DefaultVersionId"] == "v1" and created["AttachmentCount"] == 0
    assert code_and_status(error_of(lambda: iam.create_policy(PolicyName="queue-writer", PolicyDocument=json.dumps(POLICY)))) == (
        "EntityAlreadyExists",
        409,
    )
    got = iam.get_policy(PolicyArn=arn)["Policy"]
    assert got["PolicyName"] == "queue-writer" and got["Description"] == "send"

    make_role(iam)
    iam.attach_role_policy(RoleName="fn-role", PolicyArn=arn)
    iam.attach_role_policy(RoleName="fn-role", PolicyArn=arn)  # attaching twice changes nothing
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    assert code_and_status(error_of(lambda: iam.delete_policy(PolicyArn=arn))) == ("DeleteConflict", 409)
    assert code_and_status(error_of(lambda: iam.delete_role(RoleName="fn-role"))) == ("DeleteConflict", 409)

    iam.detach_role_policy(RoleName="fn-role", PolicyArn=arn)
    assert code_and_status(error_of(lambda: iam.detach_role_policy(RoleName="fn-role", PolicyArn=arn))) == (
        "NoSuchEntity",
        404,
    )
    iam.delete_policy(PolicyArn=arn)
    for call in (lambda: iam.get_policy(PolicyArn=arn), lambda: iam.delete_policy(PolicyArn=arn)):
        assert code_and_status(error_of(call)) == ("NoSuchEntity", 404)
    iam.delete_role(RoleName="fn-role")


def test_attaching_unknown_policies(iam, account):
    make_role(iam)
    resp = error_of(lambda: iam.attach_role_policy(RoleName="fn-role", PolicyArn=f"arn:aws:iam::{account}:policy/ghost"))
    assert code_and_status(resp) == ("NoSuchEntity", 404)


@pytest.mark.parametrize(
    "arn",
    [
        BASIC_EXECUTION,
        "arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AmazonSQSFullAccess",
        "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
    ],
)
def test_any_aws_managed_policy_is_attachable(iam, arn):
    make_role(iam)
    iam.attach_role_policy(RoleName="fn-role", PolicyArn=arn)
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert policy["Arn"] == arn and policy["AttachmentCount"] == 1
    assert code_and_status(error_of(lambda: iam.delete_policy(PolicyArn=arn)))[1] in (404, 409)


def test_attached_policy_quota(iam, account):
    make_role(iam)
    for i in range(10):
        iam.attach_role_policy(RoleName="fn-role", PolicyArn=f"arn:aws:iam::aws:policy/P{i}")
    resp = error_of(lambda: iam.attach_role_policy(RoleName="fn-role", PolicyArn="arn:aws:iam::aws:policy/P10"))
    assert code_and_status(resp) == ("LimitExceeded", 409)


def test_list_policies_scopes_and_only_attached(iam, account):
    iam.create_policy(PolicyName="local-a", PolicyDocument=json.dumps(POLICY))
    iam.create_policy(PolicyName="local-b", PolicyDocument=json.dumps(POLICY))
    make_role(iam)
    iam.attach_role_policy(RoleName="fn-role", PolicyArn=f"arn:aws:iam::{account}:policy/local-b")
    iam.attach_role_policy(RoleName="fn-role", PolicyArn=BASIC_EXECUTION)

    local = iam.list_policies(Scope="Local")["Policies"]
    assert [p["PolicyName"] for p in local] == ["local-a", "local-b"]
    aws = iam.list_policies(Scope="AWS")["Policies"]
    assert all(p["Arn"].startswith("arn:aws:iam::aws:policy/") for p in aws)
    assert BASIC_EXECUTION in [p["Arn"] for p in aws]
    attached = iam.list_policies(OnlyAttached=True)["Policies"]
    assert sorted(p["PolicyName"] for p in attached) == ["AWSLambdaBasicExecutionRole", "local-b"]
    assert [p["PolicyName"] for p in iam.list_policies(Scope="AWS", PathPrefix="/service-role/", OnlyAttached=True)["Policies"]] == [
        "AWSLambdaBasicExecutionRole"
    ]
    everything = [p["Arn"] for page in iam.get_paginator("list_policies").paginate(PaginationConfig={"PageSize": 3}) for p in page["Policies"]]
    assert len(everything) == len(set(everything)) == len(local) + len(aws)
    resp = error_of(lambda: iam.list_policies(Scope="Nope"))
    assert code_and_status(resp) == ("ValidationError", 400)


def test_role_tags(iam):
    role = make_role(iam, Tags=[{"Key": "team", "Value": "core"}])
    assert role["Tags"] == [{"Key": "team", "Value": "core"}]
    iam.tag_role(RoleName="fn-role", Tags=[{"Key": "Team", "Value": "edge"}, {"Key": "env", "Value": "dev"}])
    tags = iam.list_role_tags(RoleName="fn-role")
    assert tags["Tags"] == [{"Key": "env", "Value": "dev"}, {"Key": "Team", "Value": "edge"}]
    assert tags["IsTruncated"] is False
    assert iam.get_role(RoleName="fn-role")["Role"]["Tags"] == [{"Key": "Team", "Value": "edge"}, {"Key": "env", "Value": "dev"}]
    iam.untag_role(RoleName="fn-role", TagKeys=["team"])
    assert iam.list_role_tags(RoleName="fn-role")["Tags"] == [{"Key": "env", "Value": "dev"}]
    resp = error_of(lambda: iam.tag_role(RoleName="fn-role", Tags=[{"Key": "a", "Value": "1"}, {"Key": "A", "Value": "2"}]))
    assert code_and_status(resp) == ("InvalidInput", 400)
    many = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    resp = error_of(lambda: iam.tag_role(RoleName="fn-role", Tags=many))
    assert code_and_status(resp) == ("LimitExceeded", 409)


def test_iam_is_per_account_and_global(nimbus):
    a = nimbus.client("iam", access_key="111111111111")
    b = nimbus.client("iam", access_key="222222222222")
    a_west = nimbus.client("iam", access_key="111111111111", region="eu-west-1")
    make_role(a, "shared-name")
    make_role(b, "shared-name")
    assert a.get_role(RoleName="shared-name")["Role"]["Arn"] == "arn:aws:iam::111111111111:role/shared-name"
    assert a_west.get_role(RoleName="shared-name")["Role"]["Arn"] == "arn:aws:iam::111111111111:role/shared-name"
    b.delete_role(RoleName="shared-name")
    assert a.get_role(RoleName="shared-name")


def test_reset_wipes_roles(nimbus, iam):
    make_role(iam)
    nimbus.reset()
    assert iam.list_roles()["Roles"] == []
