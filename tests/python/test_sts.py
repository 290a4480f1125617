"""STS with boto3: caller identities, AssumeRole, GetSessionToken, GetAccessKeyInfo, and
temporary credentials used for follow-up calls (in off and strict auth modes).

https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
"""

from __future__ import annotations

import json
import urllib.parse

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from nimbus_harness import DEFAULT_REGION, NimbusServer
from raw_http import FORM_CT, send

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def client_for(server, service, creds=None, access_key="test", secret_key="test"):
    """A boto3 client signed with plain keys or with issued `Credentials`."""
    if creds is not None:
        access_key, secret_key = creds["AccessKeyId"], creds["SecretAccessKey"]
    session = boto3.session.Session(
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=creds["SessionToken"] if creds else None,
        region_name=DEFAULT_REGION,
    )
    return session.client(
        service, endpoint_url=server.url, config=Config(retries={"total_max_attempts": 1})
    )


def error_of(call):
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response


@pytest.fixture
def sts(nimbus):
    return client_for(nimbus, "sts")


@pytest.fixture
def iam(nimbus):
    return client_for(nimbus, "iam")


def test_caller_identity_of_the_default_key(sts, account):
    identity = sts.get_caller_identity()
    assert identity["Account"] == account
    assert identity["Arn"] == f"arn:aws:iam::{account}:root"
    assert identity["UserId"] == account


@pytest.mark.parametrize("key", ["000000000002", "123456789012"])
def test_a_twelve_digit_key_is_its_account(nimbus, key):
    identity = client_for(nimbus, "sts", access_key=key).get_caller_identity()
    assert identity["Account"] == key
    assert identity["Arn"] == f"arn:aws:iam::{key}:root"


def test_assume_role_returns_credentials_of_the_role(sts, iam, clock, account):
    role = iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=TRUST)["Role"]
    now = clock.now_ms()
    resp = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="ci-run", DurationSeconds=900)
    creds = resp["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert len(creds["SecretAccessKey"]) == 40
    assert creds["SessionToken"]
    assert abs(creds["Expiration"].timestamp() * 1000 - (now + 900_000)) < 2000
    user = resp["AssumedRoleUser"]
    assert user["Arn"] == f"arn:aws:sts::{account}:assumed-role/deployer/ci-run"
    assert user["AssumedRoleId"] == f"{role['RoleId']}:ci-run"


def test_assumed_role_credentials_answer_as_the_role(nimbus, sts, iam, account):
    role = iam.create_role(RoleName="worker", Path="/app/", AssumeRolePolicyDocument=TRUST)["Role"]
    creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s-1")["Credentials"]
    identity = client_for(nimbus, "sts", creds).get_caller_identity()
    assert identity == {
        "UserId": f"{role['RoleId']}:s-1",
        "Account": account,
        "Arn": f"arn:aws:sts::{account}:assumed-role/worker/s-1",
        "ResponseMetadata": identity["ResponseMetadata"],
    }


def test_temporary_credentials_land_in_the_role_account(nimbus):
    other = "210987654321"
    creds = client_for(nimbus, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{other}:role/cross-account", RoleSessionName="xa"
    )["Credentials"]
    assert client_for(nimbus, "sts").get_access_key_info(AccessKeyId=creds["AccessKeyId"])["Account"] == other
    sqs = client_for(nimbus, "sqs", creds)
    url = sqs.create_queue(QueueName="from-temp-creds")["QueueUrl"]
    assert f"/{other}/from-temp-creds" in url
    visible = client_for(nimbus, "sqs", access_key=other).list_queues().get("QueueUrls", [])
    assert url in visible
    assert "QueueUrls" not in client_for(nimbus, "sqs").list_queues()
    identity = client_for(nimbus, "sts", creds).get_caller_identity()
    assert identity["Account"] == other


def test_session_token_acts_as_the_caller(nimbus):
    caller = client_for(nimbus, "sts", access_key="123456789012")
    creds = caller.get_session_token(DurationSeconds=900)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    identity = client_for(nimbus, "sts", creds).get_caller_identity()
    assert identity["Account"] == "123456789012"
    assert identity["Arn"] == "arn:aws:iam::123456789012:root"
    again = error_of(lambda: client_for(nimbus, "sts", creds).get_session_token())
    assert again["Error"]["Code"] == "AccessDenied"


def test_access_key_info(sts, account):
    assert sts.get_access_key_info(AccessKeyId="AKIAIOSFODNN7EXAMPLE")["Account"] == account
    # AWS's documented example key id, read with the same bit layout.
    assert sts.get_access_key_info(AccessKeyId="ASIAY34FZKBOKMUTVV7A")["Account"] == "609629065308"


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:user/someone",
        "arn:aws:iam::12345:role/too-short-account",
        "arn:aws:s3:::bucket-not-a-role-arn",
        "this-is-not-an-arn-at-all",
    ],
)
def test_assume_role_rejects_arns_that_are_not_roles(sts, arn):
    resp = error_of(lambda: sts.assume_role(RoleArn=arn, RoleSessionName="s1"))
    assert resp["Error"]["Code"] == "ValidationError"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("name", ["has space", "semi;colon", "slash/"])
def test_assume_role_rejects_bad_session_names(sts, name):
    resp = error_of(
        lambda: sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/r", RoleSessionName=name)
    )
    assert resp["Error"]["Code"] == "ValidationError"
    assert "roleSessionName" in resp["Error"]["Message"]


def test_duration_limits(nimbus, sts, iam):
    """boto3 checks the 900 s minimum itself, so the bounds are sent as raw awsQuery."""
    arn = "arn:aws:iam::000000000000:role/r"
    for seconds in (899, 43201):
        form = {
            "Action": "AssumeRole",
            "Version": "2011-06-15",
            "RoleArn": arn,
            "RoleSessionName": "s1",
            "DurationSeconds": str(seconds),
        }
        resp = send(nimbus.url, "POST", "/", urllib.parse.urlencode(form), {"Content-Type": FORM_CT}, sign=False)
        assert resp.status == 400, resp.body
        assert b"ValidationError" in resp.body
    assert sts.assume_role(RoleArn=arn, RoleSessionName="s1", DurationSeconds=43200)
    role = iam.create_role(RoleName="short", AssumeRolePolicyDocument=TRUST)["Role"]
    resp = error_of(lambda: sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", DurationSeconds=7200))
    assert resp["Error"]["Code"] == "ValidationError"
    assert "MaxSessionDuration" in resp["Error"]["Message"]


def test_role_chaining_is_limited_to_an_hour(nimbus, sts):
    creds = sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/a", RoleSessionName="one")["Credentials"]
    chained = client_for(nimbus, "sts", creds)
    assert chained.assume_role(RoleArn="arn:aws:iam::000000000000:role/b", RoleSessionName="two")
    resp = error_of(
        lambda: chained.assume_role(
            RoleArn="arn:aws:iam::000000000000:role/b", RoleSessionName="two", DurationSeconds=7200
        )
    )
    assert resp["Error"]["Code"] == "ValidationError"


def test_malformed_session_policy(sts):
    resp = error_of(
        lambda: sts.assume_role(
            RoleArn="arn:aws:iam::000000000000:role/r", RoleSessionName="s1", Policy="not json"
        )
    )
    assert resp["Error"]["Code"] == "MalformedPolicyDocument"


def test_reset_forgets_issued_credentials(nimbus, sts):
    creds = sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/r", RoleSessionName="s1")["Credentials"]
    nimbus.reset()
    identity = client_for(nimbus, "sts", creds).get_caller_identity()
    assert identity["Arn"] == "arn:aws:iam::000000000000:root"


# ---- strict SigV4 ------------------------------------------------------------------------------

KEY, SECRET = "AKIDNIMBUSSTS", "sts-strict-secret"


@pytest.fixture(scope="module")
def strict():
    server = NimbusServer("--auth", "strict", "--access-key", f"{KEY}:{SECRET}").start()
    yield server
    assert server.stop() == 0


def test_strict_mode_accepts_issued_keys_until_they_expire(strict):
    sts = client_for(strict, "sts", access_key=KEY, secret_key=SECRET)
    creds = sts.assume_role(
        RoleArn="arn:aws:iam::000000000000:role/strict", RoleSessionName="s1", DurationSeconds=900
    )["Credentials"]
    temp = client_for(strict, "sts", creds)
    assert temp.get_caller_identity()["Arn"].endswith(":assumed-role/strict/s1")
    url = client_for(strict, "sqs", creds).create_queue(QueueName="strict-temp")["QueueUrl"]
    assert url.endswith("/000000000000/strict-temp")

    wrong_token = dict(creds, SessionToken="not-the-token")
    resp = error_of(lambda: client_for(strict, "sts", wrong_token).get_caller_identity())
    assert resp["Error"]["Code"] == "InvalidClientTokenId"
    wrong_secret = dict(creds, SecretAccessKey="x" * 40)
    resp = error_of(lambda: client_for(strict, "sts", wrong_secret).get_caller_identity())
    assert resp["Error"]["Code"] == "SignatureDoesNotMatch"

    strict.advance(901)
    resp = error_of(lambda: temp.get_caller_identity())
    assert resp["Error"]["Code"] == "ExpiredToken"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 403
