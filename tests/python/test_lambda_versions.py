"""Lambda function versions through boto3: PublishVersion, ListVersionsByFunction, qualified
GetFunction / Invoke / DeleteFunction, and the immutability of published versions.
https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html
"""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from lambda_helpers import ROLE, _lambda_session_client, invoke_json, lam, zip_of  # noqa: F401
from nimbus_harness import NimbusServer

ARN = "arn:aws:lambda:us-east-1:000000000000:function"

TAGGED = """
import os
def handler(event, context):
    return {"tag": "%s", "env": os.environ.get("COLOUR"), "version": context.function_version,
            "arn": context.invoked_function_arn,
            "stream": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]}
"""


def code(tag: str) -> bytes:
    return zip_of({"app.py": TAGGED % tag})


def make(lam, name: str, tag: str = "one", **extra) -> dict:
    return lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                               Code={"ZipFile": code(tag)}, **extra)


def error_of(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return error["Code"], error["Message"]


def test_publish_reports_the_version(lam):
    created = make(lam, "pv", Description="fn")
    published = lam.publish_version(FunctionName="pv", Description="first release")
    assert published["Version"] == "1"
    assert published["FunctionArn"] == f"{ARN}:pv:1"
    assert published["Description"] == "first release"
    assert published["CodeSha256"] == created["CodeSha256"]
    assert published["State"] == "Active"
    assert published["RevisionId"] != created["RevisionId"]
    # Unqualified reads still report $LATEST.
    assert lam.get_function_configuration(FunctionName="pv")["Version"] == "$LATEST"
    assert lam.get_function_configuration(FunctionName="pv")["Description"] == "fn"


def test_publishing_nothing_new_returns_the_last_version(lam):
    make(lam, "same")
    first = lam.publish_version(FunctionName="same")
    again = lam.publish_version(FunctionName="same")
    assert again["Version"] == first["Version"] == "1"
    lam.update_function_configuration(FunctionName="same", Timeout=9)
    assert lam.publish_version(FunctionName="same")["Version"] == "2"


def test_publish_preconditions(lam):
    created = make(lam, "pre")
    with pytest.raises(ClientError) as exc:
        lam.publish_version(FunctionName="pre", CodeSha256="not-the-digest")
    code_, message = error_of(exc)
    assert code_ == "InvalidParameterValueException"
    assert "CodeSHA256 (not-the-digest) is different from current CodeSHA256 in $LATEST" in message
    with pytest.raises(ClientError) as exc:
        lam.publish_version(FunctionName="pre", RevisionId="00000000-0000-0000-0000-000000000000")
    assert error_of(exc)[0] == "PreconditionFailedException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    ok = lam.publish_version(FunctionName="pre", CodeSha256=created["CodeSha256"],
                             RevisionId=lam.get_function(FunctionName="pre")["Configuration"]["RevisionId"])
    assert ok["Version"] == "1"
    with pytest.raises(ClientError) as exc:
        lam.publish_version(FunctionName="missing")
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_versions_keep_their_code_and_settings(lam):
    make(lam, "keep", "one", Environment={"Variables": {"COLOUR": "red"}}, Timeout=4)
    lam.publish_version(FunctionName="keep")
    lam.update_function_code(FunctionName="keep", ZipFile=code("two"))
    lam.update_function_configuration(FunctionName="keep", Environment={"Variables": {"COLOUR": "blue"}},
                                      Timeout=7)
    v2 = lam.publish_version(FunctionName="keep")
    assert v2["Version"] == "2"
    lam.update_function_code(FunctionName="keep", ZipFile=code("three"))

    _, old = invoke_json(lam, "keep:1")
    assert (old["tag"], old["env"], old["version"]) == ("one", "red", "1")
    assert old["arn"] == f"{ARN}:keep:1"
    _, middle = invoke_json(lam, "keep", Qualifier="2")
    assert (middle["tag"], middle["env"], middle["version"]) == ("two", "blue", "2")
    response, latest = invoke_json(lam, "keep")
    assert (latest["tag"], latest["env"], latest["version"]) == ("three", "blue", "$LATEST")
    assert latest["arn"] == f"{ARN}:keep"
    assert response["ExecutedVersion"] == "$LATEST"
    response, _ = invoke_json(lam, f"{ARN}:keep:1")
    assert response["ExecutedVersion"] == "1"

    v1 = lam.get_function(FunctionName="keep", Qualifier="1")["Configuration"]
    assert (v1["Version"], v1["Timeout"], v1["Environment"]["Variables"]) == ("1", 4, {"COLOUR": "red"})
    assert v1["FunctionArn"] == f"{ARN}:keep:1"
    by_arn = lam.get_function_configuration(FunctionName=f"{ARN}:keep:2")
    assert (by_arn["Version"], by_arn["Timeout"]) == ("2", 7)
    assert lam.get_function_configuration(FunctionName="keep")["Timeout"] == 7


def test_version_log_streams_are_named_after_the_version(lam):
    make(lam, "streams")
    lam.publish_version(FunctionName="streams")
    _, one = invoke_json(lam, "streams:1")
    _, latest = invoke_json(lam, "streams")
    assert "/[1]" in one["stream"] and time.strftime("%Y/%m/%d") in one["stream"]
    assert "/[$LATEST]" in latest["stream"]


def test_list_versions_with_pagination(lam):
    make(lam, "lv")
    for timeout in (5, 6, 7):
        lam.update_function_configuration(FunctionName="lv", Timeout=timeout)
        lam.publish_version(FunctionName="lv")
    listed = lam.list_versions_by_function(FunctionName="lv")["Versions"]
    assert [v["Version"] for v in listed] == ["$LATEST", "1", "2", "3"]
    assert listed[0]["FunctionArn"] == f"{ARN}:lv:$LATEST"
    assert [v["Timeout"] for v in listed[1:]] == [5, 6, 7]

    first = lam.list_versions_by_function(FunctionName="lv", MaxItems=2)
    assert [v["Version"] for v in first["Versions"]] == ["$LATEST", "1"]
    second = lam.list_versions_by_function(FunctionName="lv", MaxItems=2, Marker=first["NextMarker"])
    assert [v["Version"] for v in second["Versions"]] == ["2", "3"]
    assert "NextMarker" not in second
    pages = lam.get_paginator("list_versions_by_function").paginate(FunctionName="lv",
                                                                    PaginationConfig={"PageSize": 1})
    assert [v["Version"] for page in pages for v in page["Versions"]] == ["$LATEST", "1", "2", "3"]


def test_publish_on_create_and_on_code_update(lam):
    created = make(lam, "auto", Publish=True)
    assert (created["Version"], created["FunctionArn"]) == ("1", f"{ARN}:auto:1")
    updated = lam.update_function_code(FunctionName="auto", ZipFile=code("two"), Publish=True)
    assert (updated["Version"], updated["FunctionArn"]) == ("2", f"{ARN}:auto:2")
    assert invoke_json(lam, "auto:1")[1]["tag"] == "one"
    assert invoke_json(lam, "auto:2")[1]["tag"] == "two"


def test_delete_a_version(lam):
    make(lam, "dv")
    lam.publish_version(FunctionName="dv")
    lam.update_function_configuration(FunctionName="dv", Timeout=8)
    lam.publish_version(FunctionName="dv")
    lam.delete_function(FunctionName="dv", Qualifier="1")
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="dv")["Versions"]] == ["$LATEST", "2"]
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName="dv", Qualifier="1")
    assert error_of(exc) == ("ResourceNotFoundException", f"Function not found: {ARN}:dv:1")
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName="dv:1")
    assert error_of(exc)[0] == "ResourceNotFoundException"
    # Numbers are never given out again.
    lam.update_function_configuration(FunctionName="dv", Timeout=9)
    assert lam.publish_version(FunctionName="dv")["Version"] == "3"
    assert invoke_json(lam, "dv:2")[0]["ExecutedVersion"] == "2"


def test_delete_errors(lam):
    make(lam, "de")
    lam.publish_version(FunctionName="de")
    lam.create_alias(FunctionName="de", Name="live", FunctionVersion="1")
    with pytest.raises(ClientError) as exc:
        lam.delete_function(FunctionName="de", Qualifier="$LATEST")
    assert error_of(exc) == ("InvalidParameterValueException",
                             "$LATEST version cannot be deleted without deleting the function.")
    with pytest.raises(ClientError) as exc:
        lam.delete_function(FunctionName="de", Qualifier="1")
    assert error_of(exc) == ("ResourceConflictException",
                             "Unable to delete version because the following aliases reference it: [live]")
    with pytest.raises(ClientError) as exc:
        lam.delete_function(FunctionName="de", Qualifier="live")
    assert error_of(exc)[0] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as exc:
        lam.delete_function(FunctionName="de", Qualifier="7")
    assert error_of(exc) == ("ResourceNotFoundException", f"Function not found: {ARN}:de:7")
    # Deleting the function takes its versions and aliases with it.
    lam.delete_function(FunctionName="de")
    make(lam, "de")
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="de")["Versions"]] == ["$LATEST"]
    assert lam.list_aliases(FunctionName="de")["Aliases"] == []
    assert lam.publish_version(FunctionName="de")["Version"] == "1"


def test_unknown_versions_are_not_found(lam):
    make(lam, "nf")
    for call in (lambda: lam.get_function(FunctionName="nf", Qualifier="3"),
                 lambda: lam.get_function_configuration(FunctionName="nf:3"),
                 lambda: lam.invoke(FunctionName="nf", Qualifier="3"),
                 lambda: lam.invoke(FunctionName=f"{ARN}:nf:nope")):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName="nf:1", Qualifier="2")
    assert error_of(exc)[0] == "InvalidParameterValueException"


@pytest.mark.slow
def test_versions_and_aliases_survive_restart(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    first = NimbusServer(data_dir=data_dir).start()
    try:
        lam = first.client("lambda")
        make(lam, "durable", "one")
        lam.publish_version(FunctionName="durable")
        lam.update_function_code(FunctionName="durable", ZipFile=code("two"))
        lam.publish_version(FunctionName="durable")
        lam.create_alias(FunctionName="durable", Name="live", FunctionVersion="1")
    finally:
        first.kill()
    second = NimbusServer(data_dir=data_dir).start()
    try:
        lam = second.client("lambda")
        versions = lam.list_versions_by_function(FunctionName="durable")["Versions"]
        assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
        assert json.loads(lam.invoke(FunctionName="durable:live")["Payload"].read())["tag"] == "one"
        assert json.loads(lam.invoke(FunctionName="durable:2")["Payload"].read())["tag"] == "two"
        assert lam.get_alias(FunctionName="durable", Name="live")["FunctionVersion"] == "1"
    finally:
        second.stop()


def test_list_functions_with_every_version(lam):
    make(lam, "all-a")
    lam.publish_version(FunctionName="all-a")
    make(lam, "all-b")
    listed = lam.list_functions(FunctionVersion="ALL")["Functions"]
    assert [(f["FunctionName"], f["Version"]) for f in listed] == [
        ("all-a", "$LATEST"), ("all-a", "1"), ("all-b", "$LATEST")]
    assert listed[1]["FunctionArn"] == f"{ARN}:all-a:1"
    first = lam.list_functions(FunctionVersion="ALL", MaxItems=2)
    rest = lam.list_functions(FunctionVersion="ALL", MaxItems=2, Marker=first["NextMarker"])
    assert [f["Version"] for f in first["Functions"] + rest["Functions"]] == ["$LATEST", "1", "$LATEST"]
    assert "NextMarker" not in rest
    # Without FunctionVersion, only $LATEST is listed.
    assert [f["Version"] for f in lam.list_functions()["Functions"]] == ["$LATEST", "$LATEST"]


def test_qualifiers_are_validated(lam):
    make(lam, "qv")
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName="qv", Qualifier="bad.qualifier")
    assert error_of(exc)[0] == "ValidationException"
