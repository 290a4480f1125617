"""Lambda aliases through boto3: CRUD, AWS's validation, invocation through an alias, and
weighted routing between two versions.
https://docs.aws.amazon.com/lambda/latest/dg/configuration-aliases.html
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambda_helpers import ROLE, _lambda_session_client, invoke_json, lam, zip_of  # noqa: F401
from test_sns_lambda import wait_for_echo

ARN = "arn:aws:lambda:us-east-1:000000000000:function"

TAGGED = """
def handler(event, context):
    return {"tag": "%s", "version": context.function_version, "arn": context.invoked_function_arn}
"""

ECHO_VERSION = """
import json
def handler(event, context):
    print("echo", json.dumps({"event": event, "version": context.function_version,
                              "arn": context.invoked_function_arn}))
    return "ok"
"""


def code(tag: str) -> bytes:
    return zip_of({"app.py": TAGGED % tag})


def two_versions(lam, name: str) -> None:
    """A function whose version 1 answers "one" and version 2 answers "two"."""
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": code("one")}, Publish=True)
    lam.update_function_code(FunctionName=name, ZipFile=code("two"), Publish=True)


def error_of(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return error["Code"], error["Message"]


def test_alias_crud(lam):
    two_versions(lam, "al")
    created = lam.create_alias(FunctionName="al", Name="live", FunctionVersion="1", Description="prod")
    assert created["AliasArn"] == f"{ARN}:al:live"
    assert (created["Name"], created["FunctionVersion"], created["Description"]) == ("live", "1", "prod")
    assert "RoutingConfig" not in created
    got = lam.get_alias(FunctionName=f"{ARN}:al", Name="live")
    assert got["RevisionId"] == created["RevisionId"]

    updated = lam.update_alias(FunctionName="al", Name="live", FunctionVersion="2",
                               RevisionId=created["RevisionId"])
    assert updated["FunctionVersion"] == "2" and updated["Description"] == "prod"
    assert updated["RevisionId"] != created["RevisionId"]
    with pytest.raises(ClientError) as exc:
        lam.update_alias(FunctionName="al", Name="live", FunctionVersion="1",
                         RevisionId=created["RevisionId"])
    assert error_of(exc)[0] == "PreconditionFailedException"

    lam.create_alias(FunctionName="al", Name="beta", FunctionVersion="$LATEST")
    lam.create_alias(FunctionName="al", Name="canary", FunctionVersion="2")
    names = [a["Name"] for a in lam.list_aliases(FunctionName="al")["Aliases"]]
    assert names == ["beta", "canary", "live"]
    on_two = lam.list_aliases(FunctionName="al", FunctionVersion="2")["Aliases"]
    assert [a["Name"] for a in on_two] == ["canary", "live"]
    page = lam.list_aliases(FunctionName="al", MaxItems=2)
    assert [a["Name"] for a in page["Aliases"]] == ["beta", "canary"]
    rest = lam.list_aliases(FunctionName="al", MaxItems=2, Marker=page["NextMarker"])
    assert [a["Name"] for a in rest["Aliases"]] == ["live"] and "NextMarker" not in rest

    lam.delete_alias(FunctionName="al", Name="beta")
    with pytest.raises(ClientError) as exc:
        lam.get_alias(FunctionName="al", Name="beta")
    assert error_of(exc) == ("ResourceNotFoundException", f"Cannot find alias arn: {ARN}:al:beta")


def test_alias_validation(lam):
    two_versions(lam, "av")
    lam.create_alias(FunctionName="av", Name="live", FunctionVersion="1")
    cases = [
        (dict(Name="live", FunctionVersion="1"), "ResourceConflictException", f"Alias already exists: {ARN}:av:live"),
        (dict(Name="x", FunctionVersion="9"), "ResourceNotFoundException", f"Function not found: {ARN}:av:9"),
        (dict(Name="123", FunctionVersion="1"), "ValidationException", None),
        (dict(Name="x", FunctionVersion="latest"), "ValidationException", None),
        (dict(Name="x", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"2": 0.5, "3": 0.1}}),
         "InvalidParameterValueException", "Number of items in AdditionalVersionWeights cannot be greater than 1"),
        (dict(Name="x", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}}),
         "InvalidParameterValueException",
         "Invalid function version 1. Function version 1 is already included in routing configuration."),
        (dict(Name="x", FunctionVersion="$LATEST", RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}}),
         "InvalidParameterValueException", "$LATEST is not supported for an alias pointing to more than 1 version"),
        (dict(Name="x", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"7": 0.5}}),
         "ResourceNotFoundException", f"Function not found: {ARN}:av:7"),
    ]
    for args, want_code, want_message in cases:
        with pytest.raises(ClientError) as exc:
            lam.create_alias(FunctionName="av", **args)
        got_code, got_message = error_of(exc)
        assert got_code == want_code, args
        if want_message:
            assert got_message == want_message
    with pytest.raises(ClientError) as exc:
        lam.create_alias(FunctionName="missing", Name="x", FunctionVersion="1")
    assert error_of(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        lam.update_alias(FunctionName="av", Name="nope", FunctionVersion="1")
    assert error_of(exc) == ("ResourceNotFoundException", f"Cannot find alias arn: {ARN}:av:nope")
    assert [a["Name"] for a in lam.list_aliases(FunctionName="av")["Aliases"]] == ["live"]


def test_weights_out_of_range_are_refused_by_the_server(nimbus, lam):
    two_versions(lam, "aw")
    unchecked = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                      region_name="us-east-1").client(
        "lambda", endpoint_url=nimbus.url, config=Config(parameter_validation=False,
                                                         retries={"total_max_attempts": 1}))
    for weight in (1.5, -0.1):
        with pytest.raises(ClientError) as exc:
            unchecked.create_alias(FunctionName="aw", Name="x", FunctionVersion="1",
                                   RoutingConfig={"AdditionalVersionWeights": {"2": weight}})
        assert error_of(exc)[0] == "ValidationException"
        assert "routingConfig.additionalVersionWeights" in error_of(exc)[1]
    with pytest.raises(ClientError) as exc:
        unchecked.create_alias(FunctionName="aw", Name="x", FunctionVersion="1",
                               RoutingConfig={"AdditionalVersionWeights": {"$LATEST": 0.5}})
    assert error_of(exc)[0] == "ValidationException"


def test_invoke_through_an_alias(lam):
    two_versions(lam, "inv")
    lam.create_alias(FunctionName="inv", Name="live", FunctionVersion="1")
    for reference, extra in (("inv:live", {}), ("inv", {"Qualifier": "live"}), (f"{ARN}:inv:live", {}),
                             ("000000000000:function:inv:live", {})):
        response, body = invoke_json(lam, reference, **extra)
        assert response["ExecutedVersion"] == "1"
        assert (body["tag"], body["version"]) == ("one", "1")
        assert body["arn"] == f"{ARN}:inv:live"
    lam.update_alias(FunctionName="inv", Name="live", FunctionVersion="2")
    response, body = invoke_json(lam, "inv:live")
    assert (response["ExecutedVersion"], body["tag"]) == ("2", "two")
    # Through a $LATEST alias, code updates show at once.
    lam.create_alias(FunctionName="inv", Name="edge", FunctionVersion="$LATEST")
    lam.update_function_code(FunctionName="inv", ZipFile=code("three"))
    response, body = invoke_json(lam, "inv:edge")
    assert (response["ExecutedVersion"], body["tag"]) == ("$LATEST", "three")
    # GetFunction through an alias reports the alias's version under the alias ARN.
    config = lam.get_function(FunctionName="inv", Qualifier="live")["Configuration"]
    assert (config["Version"], config["FunctionArn"]) == ("2", f"{ARN}:inv:live")
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName="inv:gone")
    assert error_of(exc) == ("ResourceNotFoundException", f"Function not found: {ARN}:inv:gone")


def test_weighted_alias_splits_invocations(lam):
    """Over 4,000 invocations, a 30 % weight sends 30 % ± 3 points to the second version
    (the standard deviation of the observed share is 0.7 points)."""
    two_versions(lam, "split")
    lam.create_alias(FunctionName="split", Name="canary", FunctionVersion="1",
                     RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}})
    alias = lam.get_alias(FunctionName="split", Name="canary")
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.3}}

    def one(_):
        response = lam.invoke(FunctionName="split:canary", Payload=b"{}")
        body = json.loads(response["Payload"].read())
        assert body["version"] == response["ExecutedVersion"]
        return response["ExecutedVersion"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = Counter(pool.map(one, range(4000)))
    assert set(counts) == {"1", "2"}
    share = counts["2"] / 4000
    assert abs(share - 0.3) <= 0.03, counts

    # Removing the routing configuration sends everything to the alias's version again.
    cleared = lam.update_alias(FunctionName="split", Name="canary", RoutingConfig={"AdditionalVersionWeights": {}})
    assert "RoutingConfig" not in cleared
    assert {one(i) for i in range(30)} == {"1"}
    # A weighted alias's versions cannot be deleted.
    lam.update_alias(FunctionName="split", Name="canary", RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    with pytest.raises(ClientError) as exc:
        lam.delete_function(FunctionName="split", Qualifier="2")
    assert error_of(exc)[0] == "ResourceConflictException"


def test_sns_delivers_to_an_alias_subscription(nimbus, lam, sns):
    lam.create_function(FunctionName="subv", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": zip_of({"app.py": ECHO_VERSION})}, Publish=True)
    lam.update_function_configuration(FunctionName="subv", Timeout=5)
    lam.publish_version(FunctionName="subv")
    alias_arn = lam.create_alias(FunctionName="subv", Name="live", FunctionVersion="1")["AliasArn"]
    topic = sns.create_topic(Name="versions")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=alias_arn)
    sns.publish(TopicArn=topic, Message="to-the-alias")
    logged = wait_for_echo(nimbus.client("logs"), "subv", "to-the-alias")
    assert logged["version"] == "1"
    assert logged["arn"] == alias_arn
    assert logged["event"]["Records"][0]["Sns"]["Message"] == "to-the-alias"


def test_async_invoke_of_a_version(nimbus, lam):
    lam.create_function(FunctionName="asyncv", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": zip_of({"app.py": ECHO_VERSION})}, Publish=True)
    lam.update_function_configuration(FunctionName="asyncv", Timeout=6)
    response = lam.invoke(FunctionName="asyncv", Qualifier="1", InvocationType="Event",
                          Payload=json.dumps({"n": "event-one"}).encode())
    assert response["StatusCode"] == 202
    logged = wait_for_echo(nimbus.client("logs"), "asyncv", "event-one")
    assert logged["version"] == "1"
    streams = nimbus.client("logs").describe_log_streams(logGroupName="/aws/lambda/asyncv")["logStreams"]
    assert any("/[1]" in s["logStreamName"] for s in streams)
