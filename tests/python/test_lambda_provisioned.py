"""Provisioned concurrency: instances of a version or alias started and initialized before
the first invocation, with AWS's configuration operations, checks and statuses."""

from __future__ import annotations

import base64
import json
import time

import pytest
from botocore.exceptions import ClientError

from lambda_helpers import ROLE, _lambda_session_client, create, invoke_json, lam, zip_of  # noqa: F401
from nimbus_harness import NimbusServer

INIT_AWARE = """
import os
INIT = os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"]
print("initializing as", INIT)
def handler(event, context):
    return {"init": INIT, "version": context.function_version, "pid": os.getpid()}
"""

BROKEN = "raise RuntimeError('cannot start')\n"


def wait_for(lam, name: str, qualifier: str, status: str, timeout: float = 30) -> dict:
    """Polls GetProvisionedConcurrencyConfig (the CLI has no waiter for it)."""
    deadline = time.monotonic() + timeout
    while True:
        config = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        if config["Status"] == status or time.monotonic() > deadline:
            assert config["Status"] == status, config
            return config
        time.sleep(0.1)


def error_of(call) -> dict:
    with pytest.raises(ClientError) as exc:
        call()
    return exc.value.response


def streams(logs, name: str) -> list[str]:
    group = f"/aws/lambda/{name}"
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        return []
    return [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]]


def version_streams(logs, name: str, version: str, wanted: int, timeout: float = 5) -> list[str]:
    """The log streams of a function version, once `wanted` of them exist or the time is up:
    function output reaches CloudWatch Logs a moment after it is written, as on AWS."""
    deadline = time.monotonic() + timeout
    while True:
        found = [s for s in streams(logs, name) if f"[{version}]" in s]
        if len(found) >= wanted or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_provisioned_instances_are_ready_before_the_first_invoke(lam, nimbus):
    create(lam, "warm", {"app.py": INIT_AWARE}, Publish=True)
    put = lam.put_provisioned_concurrency_config(FunctionName="warm", Qualifier="1",
                                                 ProvisionedConcurrentExecutions=2)
    assert put["RequestedProvisionedConcurrentExecutions"] == 2
    assert put["Status"] in {"IN_PROGRESS", "READY"}
    assert put["LastModified"]
    ready = wait_for(lam, "warm", "1", "READY")
    assert ready["AllocatedProvisionedConcurrentExecutions"] == 2
    assert ready["AvailableProvisionedConcurrentExecutions"] == 2
    assert "StatusReason" not in ready
    # Both instances initialized before any invocation: their streams hold the init output.
    logs = nimbus.client("logs")
    started = version_streams(logs, "warm", "1", 2)
    assert len(started) == 2
    response, body = invoke_json(lam, "warm", Qualifier="1", LogType="Tail")
    assert body["init"] == "provisioned-concurrency"
    tail = base64.b64decode(response["LogResult"]).decode()
    assert "REPORT RequestId" in tail and "Init Duration" not in tail
    # Other versions start on demand.
    assert invoke_json(lam, "warm")[1]["init"] == "on-demand"

    listed = lam.list_provisioned_concurrency_configs(FunctionName="warm")["ProvisionedConcurrencyConfigs"]
    assert [c["FunctionArn"] for c in listed] == [
        "arn:aws:lambda:us-east-1:000000000000:function:warm:1"]
    assert listed[0]["Status"] == "READY"
    lam.delete_provisioned_concurrency_config(FunctionName="warm", Qualifier="1")
    error = error_of(lambda: lam.get_provisioned_concurrency_config(FunctionName="warm", Qualifier="1"))
    assert error["Error"]["Code"] == "ProvisionedConcurrencyConfigNotFoundException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert lam.list_provisioned_concurrency_configs(FunctionName="warm")["ProvisionedConcurrencyConfigs"] == []


def test_alias_configuration_follows_the_alias(lam):
    create(lam, "moving", {"app.py": INIT_AWARE}, Publish=True)
    lam.update_function_configuration(FunctionName="moving", Description="two")
    lam.publish_version(FunctionName="moving")
    lam.create_alias(FunctionName="moving", Name="live", FunctionVersion="1")
    lam.put_provisioned_concurrency_config(FunctionName="moving", Qualifier="live",
                                           ProvisionedConcurrentExecutions=1)
    wait_for(lam, "moving", "live", "READY")
    _, body = invoke_json(lam, "moving", Qualifier="live")
    assert (body["init"], body["version"]) == ("provisioned-concurrency", "1")
    lam.update_alias(FunctionName="moving", Name="live", FunctionVersion="2")
    wait_for(lam, "moving", "live", "READY")
    _, body = invoke_json(lam, "moving", Qualifier="live")
    assert (body["init"], body["version"]) == ("provisioned-concurrency", "2")
    # Version 1 is no longer provisioned.
    assert invoke_json(lam, "moving", Qualifier="1")[1]["init"] == "on-demand"
    # An alias and the version it points to cannot both be configured.
    error = error_of(lambda: lam.put_provisioned_concurrency_config(
        FunctionName="moving", Qualifier="2", ProvisionedConcurrentExecutions=1))
    assert error["Error"]["Code"] == "ResourceConflictException"
    assert error["Error"]["Message"] == "Version is pointed by a Provisioned Concurrency alias"
    lam.delete_alias(FunctionName="moving", Name="live")
    assert lam.list_provisioned_concurrency_configs(FunctionName="moving")["ProvisionedConcurrencyConfigs"] == []
    lam.put_provisioned_concurrency_config(FunctionName="moving", Qualifier="2",
                                           ProvisionedConcurrentExecutions=1)
    lam.create_alias(FunctionName="moving", Name="again", FunctionVersion="2")
    error = error_of(lambda: lam.put_provisioned_concurrency_config(
        FunctionName="moving", Qualifier="again", ProvisionedConcurrentExecutions=1))
    assert error["Error"]["Code"] == "ResourceConflictException"
    assert error["Error"]["Message"] == (
        "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version")
    # Deleting the version deletes its configuration.
    lam.delete_alias(FunctionName="moving", Name="again")
    lam.delete_function(FunctionName="moving", Qualifier="2")
    assert lam.list_provisioned_concurrency_configs(FunctionName="moving")["ProvisionedConcurrencyConfigs"] == []


def test_provisioned_concurrency_errors(lam):
    create(lam, "checked", {"app.py": INIT_AWARE}, Publish=True)
    lam.create_alias(FunctionName="checked", Name="head", FunctionVersion="$LATEST")
    for qualifier in ("$LATEST", "head"):
        error = error_of(lambda: lam.put_provisioned_concurrency_config(
            FunctionName="checked", Qualifier=qualifier, ProvisionedConcurrentExecutions=1))
        assert error["Error"]["Code"] == "InvalidParameterValueException"
        assert error["Error"]["Message"] == (
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
    error = error_of(lambda: lam.get_provisioned_concurrency_config(FunctionName="checked", Qualifier="$LATEST"))
    assert error["Error"]["Message"] == "The function resource provided must be an alias or a published version."
    error = error_of(lambda: lam.put_provisioned_concurrency_config(
        FunctionName="checked", Qualifier="7", ProvisionedConcurrentExecutions=1))
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    assert error["Error"]["Message"] == "Function not found: arn:aws:lambda:us-east-1:000000000000:function:checked:7"
    error = error_of(lambda: lam.get_provisioned_concurrency_config(FunctionName="checked", Qualifier="nope"))
    assert error["Error"]["Message"] == "Cannot find alias arn: arn:aws:lambda:us-east-1:000000000000:function:checked:nope"
    error = error_of(lambda: lam.list_provisioned_concurrency_configs(FunctionName="missing"))
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    error = error_of(lambda: lam.get_provisioned_concurrency_config(FunctionName="checked", Qualifier="1"))
    assert error["Error"]["Code"] == "ProvisionedConcurrencyConfigNotFoundException"
    assert error["Error"]["Message"] == "No Provisioned Concurrency Config found for this function"
    # Deleting what is not there succeeds.
    lam.delete_provisioned_concurrency_config(FunctionName="checked", Qualifier="1")

    error = error_of(lambda: lam.put_provisioned_concurrency_config(
        FunctionName="checked", Qualifier="1", ProvisionedConcurrentExecutions=901))
    assert error["Error"]["Code"] == "InvalidParameterValueException"
    assert error["Error"]["Message"] == (
        "Specified ConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [100].")
    lam.put_function_concurrency(FunctionName="checked", ReservedConcurrentExecutions=1)
    error = error_of(lambda: lam.put_provisioned_concurrency_config(
        FunctionName="checked", Qualifier="1", ProvisionedConcurrentExecutions=2))
    assert error["Error"]["Message"] == (
        "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function")
    assert lam.list_provisioned_concurrency_configs(FunctionName="checked")["ProvisionedConcurrencyConfigs"] == []


def test_init_failure_is_reported(lam):
    create(lam, "broken", {"app.py": BROKEN}, Publish=True)
    lam.put_provisioned_concurrency_config(FunctionName="broken", Qualifier="1",
                                           ProvisionedConcurrentExecutions=1)
    failed = wait_for(lam, "broken", "1", "FAILED")
    assert failed["StatusReason"] == "FUNCTION_ERROR_INIT_FAILURE"
    assert failed["AvailableProvisionedConcurrentExecutions"] == 0


@pytest.mark.slow
def test_provisioned_instances_start_again_after_a_restart(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    first = NimbusServer(data_dir=data_dir).start()
    try:
        lam = first.client("lambda")
        lam.create_function(FunctionName="kept", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": zip_of({"app.py": INIT_AWARE})}, Publish=True)
        lam.put_provisioned_concurrency_config(FunctionName="kept", Qualifier="1",
                                               ProvisionedConcurrentExecutions=1)
        wait_for(lam, "kept", "1", "READY")
    finally:
        first.kill()
    second = NimbusServer(data_dir=data_dir).start()
    try:
        lam = second.client("lambda")
        wait_for(lam, "kept", "1", "READY")
        response, body = invoke_json(lam, "kept", Qualifier="1", LogType="Tail")
        assert body["init"] == "provisioned-concurrency"
        assert "Init Duration" not in base64.b64decode(response["LogResult"]).decode()
    finally:
        second.stop()
