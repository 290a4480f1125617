"""The aws CLI v1 against nimbus' STS and IAM: who am I, temporary credentials, and the
Lambda execution role a deployment script creates and looks up."""

from __future__ import annotations

import json

import pytest

from cli_helpers import cli_runner, out  # noqa: F401


TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@pytest.fixture
def cli(nimbus, tmp_path):
    return cli_runner(nimbus.url, tmp_path)


@pytest.mark.parametrize("key,account", [("test", "000000000000"), ("123456789012", "123456789012")])
def test_cli_caller_identity(cli, key, account):
    identity = out(cli("sts", "get-caller-identity", key=key))
    assert identity["Account"] == account
    assert identity["Arn"] == f"arn:aws:iam::{account}:root"


def test_cli_assume_role_credentials_work_for_the_next_call(cli):
    role = out(cli("iam", "create-role", "--role-name", "deployer", "--assume-role-policy-document", TRUST))["Role"]
    creds = out(
        cli("sts", "assume-role", "--role-arn", role["Arn"], "--role-session-name", "cli-session")
    )["Credentials"]
    env = {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
    }
    identity = out(cli("sts", "get-caller-identity", key=creds["AccessKeyId"], env=env))
    assert identity["Arn"] == "arn:aws:sts::000000000000:assumed-role/deployer/cli-session"
    url = out(cli("sqs", "create-queue", "--queue-name", "made-by-role", key=creds["AccessKeyId"], env=env))["QueueUrl"]
    assert url.endswith("/000000000000/made-by-role")


def test_cli_lambda_role_setup(cli):
    """What deployment scripts do: create the role, attach the basic policy, wait, read the ARN."""
    arn = out(
        cli(
            "iam",
            "create-role",
            "--role-name",
            "fn-exec",
            "--path",
            "/service-role/",
            "--assume-role-policy-document",
            TRUST,
        )
    )["Role"]["Arn"]
    cli(
        "iam",
        "attach-role-policy",
        "--role-name",
        "fn-exec",
        "--policy-arn",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    )
    cli("iam", "wait", "role-exists", "--role-name", "fn-exec")
    found = out(cli("iam", "get-role", "--role-name", "fn-exec", "--query", "Role.Arn"))
    assert found == arn == "arn:aws:iam::000000000000:role/service-role/fn-exec"
    attached = out(cli("iam", "list-attached-role-policies", "--role-name", "fn-exec"))["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AWSLambdaBasicExecutionRole"]
    listed = out(cli("iam", "list-roles", "--path-prefix", "/service-role/"))["Roles"]
    assert [r["Arn"] for r in listed] == [arn]


def test_cli_policy_crud_and_errors(cli):
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]})
    arn = out(cli("iam", "create-policy", "--policy-name", "queues", "--policy-document", doc))["Policy"]["Arn"]
    assert out(cli("iam", "get-policy", "--policy-arn", arn))["Policy"]["PolicyName"] == "queues"
    cli("iam", "create-role", "--role-name", "r1", "--assume-role-policy-document", TRUST)
    cli("iam", "put-role-policy", "--role-name", "r1", "--policy-name", "inline", "--policy-document", doc)
    got = out(cli("iam", "get-role-policy", "--role-name", "r1", "--policy-name", "inline"))
    assert got["PolicyDocument"] == json.loads(doc)

    proc = cli("iam", "delete-role", "--role-name", "r1", check=False)
    assert proc.returncode == 255 and "DeleteConflict" in proc.stderr
    proc = cli("iam", "get-role", "--role-name", "missing", check=False)
    assert proc.returncode == 255 and "NoSuchEntity" in proc.stderr
    proc = cli("iam", "create-role", "--role-name", "r1", "--assume-role-policy-document", TRUST, check=False)
    assert proc.returncode == 255 and "EntityAlreadyExists" in proc.stderr
    proc = cli("iam", "create-policy", "--policy-name", "bad", "--policy-document", "not-json", check=False)
    assert proc.returncode == 255 and "MalformedPolicyDocument" in proc.stderr

    cli("iam", "delete-role-policy", "--role-name", "r1", "--policy-name", "inline")
    cli("iam", "delete-role", "--role-name", "r1")
    cli("iam", "delete-policy", "--policy-arn", arn)
