"""Event source mappings for SQS: the API as clients see it — create, get, list, update,
delete, the state transitions, and AWS's validation errors.
https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
"""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from esm_helpers import queue_arn, recorder, unvalidated_lambda, wait_state
from lambda_helpers import _lambda_session_client, lam  # noqa: F401


def error_of(call, **kwargs) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Message"]


def test_create_get_list_update_delete_through_the_states(lam, sqs, queue):
    function_arn = recorder(lam)
    source = queue_arn(sqs, queue)
    created = lam.create_event_source_mapping(EventSourceArn=source, FunctionName="worker")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Creating"
    assert created["StateTransitionReason"] == "USER_INITIATED"
    assert created["EventSourceArn"] == source
    assert created["FunctionArn"] == function_arn
    assert created["BatchSize"] == 10
    assert created["MaximumBatchingWindowInSeconds"] == 0
    assert created["FunctionResponseTypes"] == []
    assert created["EventSourceMappingArn"].endswith(f":event-source-mapping:{created['UUID']}")
    assert "LastModified" in created
    uuid = created["UUID"]

    enabled = wait_state(lam, uuid, "Enabled")
    assert enabled["FunctionArn"] == function_arn

    updated = lam.update_event_source_mapping(
        UUID=uuid, BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"],
        ScalingConfig={"MaximumConcurrency": 3},
    )
    assert updated["State"] == "Updating"
    settled = wait_state(lam, uuid, "Enabled")
    assert settled["BatchSize"] == 5
    assert settled["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert settled["ScalingConfig"] == {"MaximumConcurrency": 3}

    assert lam.update_event_source_mapping(UUID=uuid, Enabled=False)["State"] == "Disabling"
    wait_state(lam, uuid, "Disabled")
    assert lam.update_event_source_mapping(UUID=uuid, Enabled=True)["State"] == "Enabling"
    wait_state(lam, uuid, "Enabled")

    deleted = lam.delete_event_source_mapping(UUID=uuid)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert deleted["State"] == "Deleting"
    deadline = time.monotonic() + 10
    while True:
        try:
            assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Deleting"
        except ClientError as err:
            assert err.response["Error"]["Code"] == "ResourceNotFoundException"
            assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 404
            break
        assert time.monotonic() < deadline, "the mapping was never deleted"
        time.sleep(0.02)
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []


def test_created_disabled_settles_disabled(lam, sqs, queue):
    recorder(lam)
    uuid = lam.create_event_source_mapping(
        EventSourceArn=queue_arn(sqs, queue), FunctionName="worker", Enabled=False
    )["UUID"]
    assert wait_state(lam, uuid, "Disabled")["State"] == "Disabled"


def test_list_filters_and_pages(lam, sqs):
    recorder(lam, "one")
    recorder(lam, "two")
    arns = [queue_arn(sqs, sqs.create_queue(QueueName=f"q{i}")["QueueUrl"]) for i in range(3)]
    made = [lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="one")["UUID"] for arn in arns]
    other = lam.create_event_source_mapping(EventSourceArn=arns[0], FunctionName="two")["UUID"]

    by_function = lam.list_event_source_mappings(FunctionName="one")["EventSourceMappings"]
    assert sorted(m["UUID"] for m in by_function) == sorted(made)
    by_arn = lam.list_event_source_mappings(
        FunctionName="arn:aws:lambda:us-east-1:000000000000:function:two"
    )["EventSourceMappings"]
    assert [m["UUID"] for m in by_arn] == [other]
    by_source = lam.list_event_source_mappings(EventSourceArn=arns[0])["EventSourceMappings"]
    assert sorted(m["UUID"] for m in by_source) == sorted([made[0], other])

    first = lam.list_event_source_mappings(MaxItems=3)
    assert len(first["EventSourceMappings"]) == 3 and "NextMarker" in first
    rest = lam.list_event_source_mappings(MaxItems=3, Marker=first["NextMarker"])
    assert len(rest["EventSourceMappings"]) == 1 and "NextMarker" not in rest
    seen = [m["UUID"] for m in first["EventSourceMappings"] + rest["EventSourceMappings"]]
    assert sorted(seen) == sorted(made + [other])

    paginated = [m["UUID"] for page in lam.get_paginator("list_event_source_mappings").paginate(
        PaginationConfig={"PageSize": 2}) for m in page["EventSourceMappings"]]
    assert sorted(paginated) == sorted(made + [other])


def test_missing_function_queue_and_mapping(lam, sqs, queue):
    source = queue_arn(sqs, queue)
    code, status, message = error_of(lam.create_event_source_mapping, EventSourceArn=source,
                                     FunctionName="nobody")
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert "function:nobody" in message

    recorder(lam)
    code, status, message = error_of(lam.create_event_source_mapping,
                                     EventSourceArn="arn:aws:sqs:us-east-1:000000000000:missing",
                                     FunctionName="worker")
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "NonExistentQueue" in message

    for call, args in [
        (lam.get_event_source_mapping, {}),
        (lam.update_event_source_mapping, {"BatchSize": 2}),
        (lam.delete_event_source_mapping, {}),
    ]:
        code, status, _ = error_of(call, UUID="6c2bb9a4-0f0e-4c8b-9d3a-000000000000", **args)
        assert (code, status) == ("ResourceNotFoundException", 404)


def test_duplicate_mapping_conflicts(lam, sqs, queue):
    recorder(lam)
    source = queue_arn(sqs, queue)
    uuid = lam.create_event_source_mapping(EventSourceArn=source, FunctionName="worker")["UUID"]
    code, status, message = error_of(lam.create_event_source_mapping, EventSourceArn=source,
                                     FunctionName="arn:aws:lambda:us-east-1:000000000000:function:worker")
    assert (code, status) == ("ResourceConflictException", 409)
    assert uuid in message and source in message


def test_batch_size_and_window_rules(lam, sqs, queue, fifo):
    recorder(lam)
    source = queue_arn(sqs, queue)
    fifo_source = queue_arn(sqs, fifo)
    cases = [
        dict(EventSourceArn=source, BatchSize=11),
        dict(EventSourceArn=fifo_source, BatchSize=11),
        dict(EventSourceArn=fifo_source, BatchSize=10, MaximumBatchingWindowInSeconds=1),
    ]
    for case in cases:
        code, status, _ = error_of(lam.create_event_source_mapping, FunctionName="worker", **case)
        assert (code, status) == ("InvalidParameterValueException", 400), case
    big = lam.create_event_source_mapping(EventSourceArn=source, FunctionName="worker",
                                          BatchSize=10000, MaximumBatchingWindowInSeconds=1)
    assert big["BatchSize"] == 10000
    code, _, _ = error_of(lam.update_event_source_mapping, UUID=big["UUID"],
                          MaximumBatchingWindowInSeconds=0)
    assert code == "InvalidParameterValueException"
    assert lam.create_event_source_mapping(EventSourceArn=fifo_source, FunctionName="worker",
                                           BatchSize=10)["BatchSize"] == 10


def test_out_of_range_values_are_refused_by_the_server(nimbus, lam, sqs, queue):
    recorder(lam)
    raw = unvalidated_lambda(nimbus)
    source = queue_arn(sqs, queue)
    for case in [
        dict(BatchSize=0),
        dict(BatchSize=10001, MaximumBatchingWindowInSeconds=1),
        dict(MaximumBatchingWindowInSeconds=301),
        dict(ScalingConfig={"MaximumConcurrency": 1}),
        dict(ScalingConfig={"MaximumConcurrency": 1001}),
        dict(FunctionResponseTypes=["Everything"]),
    ]:
        code, status, _ = error_of(raw.create_event_source_mapping, EventSourceArn=source,
                                   FunctionName="worker", **case)
        # The model's ranges and enums are checked before the operation runs, as on AWS.
        assert (code, status) == ("ValidationException", 400), case
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []


def test_stream_parameters_are_refused_for_queues(lam, sqs, queue):
    recorder(lam)
    source = queue_arn(sqs, queue)
    for case in [
        dict(StartingPosition="LATEST"),
        dict(ParallelizationFactor=2),
        dict(BisectBatchOnFunctionError=True),
        dict(MaximumRetryAttempts=1),
        dict(MaximumRecordAgeInSeconds=60),
        dict(TumblingWindowInSeconds=10),
    ]:
        code, status, message = error_of(lam.create_event_source_mapping, EventSourceArn=source,
                                         FunctionName="worker", **case)
        assert (code, status) == ("InvalidParameterValueException", 400), case
        assert next(iter(case)) in message


def test_filter_criteria_are_checked_and_kept(lam, sqs, queue):
    recorder(lam)
    source = queue_arn(sqs, queue)
    code, _, message = error_of(lam.create_event_source_mapping, EventSourceArn=source,
                                FunctionName="worker",
                                FilterCriteria={"Filters": [{"Pattern": "{not json"}]})
    assert code == "InvalidParameterValueException"
    pattern = json.dumps({"body": {"kind": ["keep"]}})
    made = lam.create_event_source_mapping(EventSourceArn=source, FunctionName="worker",
                                           FilterCriteria={"Filters": [{"Pattern": pattern}]})
    assert made["FilterCriteria"] == {"Filters": [{"Pattern": pattern}]}
    wait_state(lam, made["UUID"], "Enabled")
    cleared = lam.update_event_source_mapping(UUID=made["UUID"], FilterCriteria={"Filters": []})
    assert "FilterCriteria" not in cleared


def test_visibility_timeout_must_cover_the_function_timeout(lam, sqs):
    recorder(lam, Timeout=60)
    url = sqs.create_queue(QueueName="short", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    code, status, message = error_of(lam.create_event_source_mapping,
                                     EventSourceArn=queue_arn(sqs, url), FunctionName="worker")
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert message == "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds"
