"""Asynchronous invocation settings: Put/Get/Update/List/DeleteFunctionEventInvokeConfig and
AWS's answers to bad input.
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html
"""

from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambda_helpers import PYTHON_ECHO, _lambda_session_client, create, lam  # noqa: F401

ACCOUNT = "000000000000"


def queue_arn(sqs, name: str) -> str:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def unvalidated_client(nimbus):
    """A Lambda client that leaves range checks to the server."""
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client("lambda", endpoint_url=nimbus.url,
             config=Config(parameter_validation=False, retries={"total_max_attempts": 1}))


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    return exc.value.response


def test_put_get_update_list_delete(lam, sqs, sns):
    create(lam, "cfg", {"app.py": PYTHON_ECHO})
    failures = queue_arn(sqs, "failures")
    successes = sns.create_topic(Name="successes")["TopicArn"]
    function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:cfg:$LATEST"

    put = lam.put_function_event_invoke_config(
        FunctionName="cfg", MaximumRetryAttempts=1, MaximumEventAgeInSeconds=3600,
        DestinationConfig={"OnFailure": {"Destination": failures},
                           "OnSuccess": {"Destination": successes}})
    assert put["FunctionArn"] == function_arn
    assert put["MaximumRetryAttempts"] == 1
    assert put["MaximumEventAgeInSeconds"] == 3600
    assert put["DestinationConfig"] == {"OnSuccess": {"Destination": successes},
                                        "OnFailure": {"Destination": failures}}
    assert isinstance(put["LastModified"], datetime.datetime)

    got = lam.get_function_event_invoke_config(FunctionName="cfg")
    assert {k: got[k] for k in ("FunctionArn", "MaximumRetryAttempts", "MaximumEventAgeInSeconds",
                                "DestinationConfig")} == \
        {k: put[k] for k in ("FunctionArn", "MaximumRetryAttempts", "MaximumEventAgeInSeconds",
                             "DestinationConfig")}

    # Update merges: only the retry count changes.
    updated = lam.update_function_event_invoke_config(FunctionName="cfg", MaximumRetryAttempts=0)
    assert updated["MaximumRetryAttempts"] == 0
    assert updated["MaximumEventAgeInSeconds"] == 3600
    assert updated["DestinationConfig"]["OnFailure"] == {"Destination": failures}

    # Put replaces: what is not given is gone.
    replaced = lam.put_function_event_invoke_config(FunctionName=function_arn, MaximumEventAgeInSeconds=60)
    assert "MaximumRetryAttempts" not in replaced
    assert replaced["MaximumEventAgeInSeconds"] == 60
    assert replaced["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}

    listed = lam.list_function_event_invoke_configs(FunctionName="cfg")["FunctionEventInvokeConfigs"]
    assert [c["FunctionArn"] for c in listed] == [function_arn]
    assert listed[0]["MaximumEventAgeInSeconds"] == 60

    lam.delete_function_event_invoke_config(FunctionName="cfg")
    error = error_of(lam.get_function_event_invoke_config, FunctionName="cfg")
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error["Error"]["Message"] == f"The function {function_arn} doesn't have an EventInvokeConfig"
    assert lam.list_function_event_invoke_configs(FunctionName="cfg")["FunctionEventInvokeConfigs"] == []
    error = error_of(lam.delete_function_event_invoke_config, FunctionName="cfg")
    assert error["Error"]["Code"] == "ResourceNotFoundException"


def test_update_needs_an_existing_config_and_deleting_the_function_drops_it(lam):
    create(lam, "gone", {"app.py": PYTHON_ECHO})
    error = error_of(lam.update_function_event_invoke_config, FunctionName="gone", MaximumRetryAttempts=1)
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    lam.put_function_event_invoke_config(FunctionName="gone", MaximumRetryAttempts=1)
    lam.delete_function(FunctionName="gone")
    create(lam, "gone", {"app.py": PYTHON_ECHO})
    error = error_of(lam.get_function_event_invoke_config, FunctionName="gone")
    assert error["Error"]["Code"] == "ResourceNotFoundException"


def test_missing_function_and_qualifier(lam):
    for call in (lam.put_function_event_invoke_config, lam.list_function_event_invoke_configs):
        kwargs = {"FunctionName": "nothing"}
        if call == lam.put_function_event_invoke_config:
            kwargs["MaximumRetryAttempts"] = 1
        error = error_of(call, **kwargs)
        assert error["Error"]["Code"] == "ResourceNotFoundException"
        assert error["Error"]["Message"] == "The function doesn't exist."
    create(lam, "q", {"app.py": PYTHON_ECHO})
    error = error_of(lam.put_function_event_invoke_config, FunctionName="q", Qualifier="7",
                     MaximumRetryAttempts=1)
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    # `$LATEST` named explicitly is the same configuration as none at all.
    lam.put_function_event_invoke_config(FunctionName="q", Qualifier="$LATEST", MaximumRetryAttempts=2)
    assert lam.get_function_event_invoke_config(FunctionName="q")["MaximumRetryAttempts"] == 2


def test_bad_values_get_aws_errors(lam, nimbus):
    create(lam, "bad", {"app.py": PYTHON_ECHO})
    raw = unvalidated_client(nimbus)

    error = error_of(lam.put_function_event_invoke_config, FunctionName="bad")
    assert error["Error"]["Code"] == "InvalidParameterValueException"
    assert error["Error"]["Message"] == "You must specify at least one of error handling or destination setting."

    for field, value, bound in (("MaximumRetryAttempts", 3, "less than or equal to 2"),
                                ("MaximumRetryAttempts", -1, "greater than or equal to 0"),
                                ("MaximumEventAgeInSeconds", 59, "greater than or equal to 60"),
                                ("MaximumEventAgeInSeconds", 21601, "less than or equal to 21600")):
        error = error_of(raw.put_function_event_invoke_config, FunctionName="bad", **{field: value})
        assert error["Error"]["Code"] == "ValidationException", (field, value)
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert bound in error["Error"]["Message"]

    bus = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"
    error = error_of(lam.put_function_event_invoke_config, FunctionName="bad",
                     DestinationConfig={"OnFailure": {"Destination": bus}})
    assert error["Error"]["Code"] == "InvalidParameterValueException"
    assert error["Error"]["Message"] == f"The destination ARN {bus} is invalid."

    missing = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:missing"
    error = error_of(lam.put_function_event_invoke_config, FunctionName="bad",
                     DestinationConfig={"OnSuccess": {"Destination": missing}})
    assert error["Error"]["Message"] == f"The destination ARN {missing} is invalid."

    itself = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:bad"
    error = error_of(lam.put_function_event_invoke_config, FunctionName="bad",
                     DestinationConfig={"OnFailure": {"Destination": itself}})
    assert error["Error"]["Message"] == "You can't specify the function as a destination for itself."

    error = error_of(raw.put_function_event_invoke_config, FunctionName="bad",
                     DestinationConfig={"OnFailure": {"Destination": "not-an-arn"}})
    assert error["Error"]["Code"] == "ValidationException"
    assert "destinationConfig.onFailure.destination" in error["Error"]["Message"]

    # Nothing was written by the refused calls.
    error = error_of(lam.get_function_event_invoke_config, FunctionName="bad")
    assert error["Error"]["Code"] == "ResourceNotFoundException"


def test_versions_and_aliases_have_their_own_settings(lam):
    create(lam, "versioned", {"app.py": PYTHON_ECHO})
    version = lam.publish_version(FunctionName="versioned")["Version"]
    lam.create_alias(FunctionName="versioned", Name="live", FunctionVersion=version)
    lam.put_function_event_invoke_config(FunctionName="versioned", MaximumRetryAttempts=2)
    on_alias = lam.put_function_event_invoke_config(FunctionName="versioned", Qualifier="live",
                                                    MaximumRetryAttempts=0)
    assert on_alias["FunctionArn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:versioned:live"
    on_version = lam.put_function_event_invoke_config(FunctionName=f"versioned:{version}",
                                                      MaximumEventAgeInSeconds=120)
    assert on_version["FunctionArn"].endswith(f":versioned:{version}")
    listed = lam.list_function_event_invoke_configs(FunctionName="versioned")["FunctionEventInvokeConfigs"]
    assert sorted(c["FunctionArn"].rsplit(":", 1)[1] for c in listed) == sorted(["$LATEST", "live", version])
    assert lam.get_function_event_invoke_config(FunctionName="versioned", Qualifier="live")[
        "MaximumRetryAttempts"] == 0
    error = error_of(lam.put_function_event_invoke_config, FunctionName="versioned", Qualifier="99",
                     MaximumRetryAttempts=1)
    assert error["Error"]["Code"] == "ResourceNotFoundException"
