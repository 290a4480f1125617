"""CloudWatch Logs through boto3: groups, streams, events, paging, filter patterns,
retention, tags, and Lambda function output landing in /aws/lambda/<name>."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from lambda_helpers import PYTHON_ECHO, _lambda_session_client, create, invoke_json, lam  # noqa: F401
from nimbus_harness import wait_for


@pytest.fixture(scope="session")
def _logs_session_client(nimbus):
    return nimbus.client("logs")


@pytest.fixture
def logs(nimbus, _logs_session_client):
    return _logs_session_client


def code(exc):
    return exc.value.response["Error"]["Code"]


def put(logs, group, stream, messages, start_ms):
    events = [{"timestamp": start_ms + i, "message": m} for i, m in enumerate(messages)]
    return logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def test_groups_create_describe_delete(logs):
    logs.create_log_group(logGroupName="/app/one", tags={"team": "a"})
    logs.create_log_group(logGroupName="/app/two")
    logs.create_log_group(logGroupName="/other")
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName="/app/one")
    assert code(exc) == "ResourceAlreadyExistsException"
    groups = logs.describe_log_groups(logGroupNamePrefix="/app/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/app/one", "/app/two"]
    assert groups[0]["arn"] == "arn:aws:logs:us-east-1:000000000000:log-group:/app/one:*"
    assert groups[0]["logGroupClass"] == "STANDARD"
    page = logs.describe_log_groups(limit=2)
    assert len(page["logGroups"]) == 2 and "nextToken" in page
    rest = logs.describe_log_groups(limit=2, nextToken=page["nextToken"])
    assert [g["logGroupName"] for g in rest["logGroups"]] == ["/other"]
    logs.delete_log_group(logGroupName="/other")
    with pytest.raises(ClientError) as exc:
        logs.delete_log_group(logGroupName="/other")
    assert code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName="bad name!")
    assert code(exc) == "InvalidParameterException"


def test_streams_and_events(logs, clock):
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s1")
    logs.create_log_stream(logGroupName="g", logStreamName="s2")
    with pytest.raises(ClientError) as exc:
        logs.create_log_stream(logGroupName="g", logStreamName="s1")
    assert code(exc) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as exc:
        logs.create_log_stream(logGroupName="missing", logStreamName="s1")
    assert code(exc) == "ResourceNotFoundException"
    now = clock.now_ms()
    put(logs, "g", "s1", ["one", "two", "three"], now)
    streams = logs.describe_log_streams(logGroupName="g")["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["s1", "s2"]
    assert streams[0]["firstEventTimestamp"] == now and streams[0]["lastEventTimestamp"] == now + 2
    latest = logs.describe_log_streams(logGroupName="g", orderBy="LastEventTime", descending=True)
    assert latest["logStreams"][0]["logStreamName"] == "s1"
    got = logs.get_log_events(logGroupName="g", logStreamName="s1", startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["one", "two", "three"]
    again = logs.get_log_events(logGroupName="g", logStreamName="s1", nextToken=got["nextForwardToken"])
    assert again["events"] == [] and again["nextForwardToken"] == got["nextForwardToken"]
    put(logs, "g", "s1", ["four"], now + 10)
    more = logs.get_log_events(logGroupName="g", logStreamName="s1", nextToken=got["nextForwardToken"])
    assert [e["message"] for e in more["events"]] == ["four"]
    tail = logs.get_log_events(logGroupName="g", logStreamName="s1", limit=2)
    assert [e["message"] for e in tail["events"]] == ["three", "four"]
    back = logs.get_log_events(logGroupName="g", logStreamName="s1", limit=2,
                               nextToken=tail["nextBackwardToken"])
    assert [e["message"] for e in back["events"]] == ["one", "two"]


def test_put_log_events_rules(logs, clock):
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    now = clock.now_ms()
    with pytest.raises(ClientError) as exc:
        logs.put_log_events(logGroupName="g", logStreamName="s", logEvents=[
            {"timestamp": now, "message": "b"}, {"timestamp": now - 5, "message": "a"}])
    assert code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        put(logs, "g", "nope", ["x"], now)
    assert code(exc) == "ResourceNotFoundException"
    response = logs.put_log_events(logGroupName="g", logStreamName="s", logEvents=[
        {"timestamp": now - 15 * 86400 * 1000, "message": "old"},
        {"timestamp": now, "message": "ok"},
        {"timestamp": now + 3 * 3600 * 1000, "message": "future"}])
    info = response["rejectedLogEventsInfo"]
    assert info["tooOldLogEventEndIndex"] == 0 and info["tooNewLogEventStartIndex"] == 2
    got = logs.get_log_events(logGroupName="g", logStreamName="s", startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["ok"]


def test_filter_log_events(logs, clock):
    logs.create_log_group(logGroupName="f")
    for stream in ("app-1", "app-2", "web"):
        logs.create_log_stream(logGroupName="f", logStreamName=stream)
    now = clock.now_ms()
    put(logs, "f", "app-1", ["ERROR disk full", "INFO all good", json.dumps({"level": "error", "ms": 300})], now)
    put(logs, "f", "app-2", ["WARN slow", "ERROR timeout reached"], now + 100)
    put(logs, "f", "web", ["ERROR from web"], now + 200)

    def messages(**kwargs):
        return [e["message"] for e in logs.filter_log_events(logGroupName="f", **kwargs)["events"]]

    assert messages(filterPattern="ERROR") == ["ERROR disk full", "ERROR timeout reached", "ERROR from web"]
    assert messages(filterPattern="ERROR -timeout", logStreamNamePrefix="app") == ["ERROR disk full"]
    assert messages(filterPattern="?WARN ?INFO") == ["INFO all good", "WARN slow"]
    assert messages(filterPattern='"disk full"') == ["ERROR disk full"]
    assert messages(filterPattern='{ $.level = "error" && $.ms > 200 }') == ['{"level": "error", "ms": 300}']
    assert messages(logStreamNames=["web"]) == ["ERROR from web"]
    assert messages(startTime=now + 100, endTime=now + 200) == ["WARN slow", "ERROR timeout reached"]
    first = logs.filter_log_events(logGroupName="f", limit=2)
    assert len(first["events"]) == 2 and "nextToken" in first
    rest = logs.filter_log_events(logGroupName="f", nextToken=first["nextToken"])
    assert len(rest["events"]) == 4 and "nextToken" not in rest
    assert first["events"][0]["eventId"] != first["events"][1]["eventId"]
    with pytest.raises(ClientError) as exc:
        logs.filter_log_events(logGroupName="f", filterPattern='{ $.level = }')
    assert code(exc) == "InvalidParameterException"


def test_retention_and_tags(logs):
    logs.create_log_group(logGroupName="r")
    logs.put_retention_policy(logGroupName="r", retentionInDays=7)
    assert logs.describe_log_groups(logGroupNamePrefix="r")["logGroups"][0]["retentionInDays"] == 7
    with pytest.raises(ClientError) as exc:
        logs.put_retention_policy(logGroupName="r", retentionInDays=8)
    assert code(exc) == "InvalidParameterException"
    logs.delete_retention_policy(logGroupName="r")
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix="r")["logGroups"][0]
    arn = "arn:aws:logs:us-east-1:000000000000:log-group:r"
    logs.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2"})
    logs.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2"}
    logs.tag_log_group(logGroupName="r", tags={"c": "3"})
    assert logs.list_tags_log_group(logGroupName="r")["tags"] == {"b": "2", "c": "3"}


def test_function_output_lands_in_its_log_group(lam, logs):
    create(lam, "logged", {"app.py": PYTHON_ECHO})
    invoke_json(lam, "logged", {"marker": "abc123"})

    def events():
        found = logs.filter_log_events(logGroupName="/aws/lambda/logged")["events"] \
            if logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/logged")["logGroups"] else []
        return found if any(e["message"].startswith("REPORT") for e in found) else None

    found = wait_for(events, timeout=5, what="the function's log lines")
    assert found, "no function log lines arrived"
    messages = [e["message"] for e in found]
    assert messages[0].startswith("START RequestId: ")
    assert any("abc123" in m for m in messages)
    assert any(m.startswith("END RequestId: ") for m in messages)
    report = next(m for m in messages if m.startswith("REPORT"))
    for field in ("Duration: ", "Billed Duration: ", "Memory Size: 128 MB", "Max Memory Used: ", "Init Duration: "):
        assert field in report
    stream = found[0]["logStreamName"]
    assert "[$LATEST]" in stream
    streams = logs.describe_log_streams(logGroupName="/aws/lambda/logged")["logStreams"]
    assert [s["logStreamName"] for s in streams] == [stream]


def test_event_invocations_run_from_the_queue(lam, logs):
    create(lam, "async", {"app.py": PYTHON_ECHO})
    for i in range(3):
        response = lam.invoke(FunctionName="async", InvocationType="Event",
                              Payload=json.dumps({"n": f"event-{i}"}).encode())
        assert response["StatusCode"] == 202
        assert response["Payload"].read() == b""

    def seen():
        if not logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/async")["logGroups"]:
            return None
        found = logs.filter_log_events(logGroupName="/aws/lambda/async", filterPattern="echo")["events"]
        return found if len(found) == 3 else None

    found = wait_for(seen, timeout=10, what="the three asynchronous invocations' lines")
    assert found and sorted(m for e in found for m in [e["message"]] if "event-" in m)
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName="async", InvocationType="Event", Payload=b"x" * (1024 * 1024 + 1))
    assert exc.value.response["Error"]["Code"] in ("RequestTooLargeException", "InvalidRequestContentException")


def test_fallback_interpreter_is_noted_in_the_log(lam, logs):
    import shutil as _shutil
    import subprocess as _subprocess
    exact = _shutil.which("python3.13")
    if exact and _subprocess.run([exact, "-c", "pass"], capture_output=True).returncode == 0:
        pytest.skip("python3.13 is installed here, so no fallback happens")
    create(lam, "fallback", {"app.py": PYTHON_ECHO}, runtime="python3.13")
    _, body = invoke_json(lam, "fallback", {"x": 1})
    assert body["event"] == {"x": 1}

    def warning():
        if not logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/fallback")["logGroups"]:
            return None
        found = logs.filter_log_events(logGroupName="/aws/lambda/fallback", filterPattern="WARNING")["events"]
        return found or None

    found = wait_for(warning, timeout=5, what="the runtime fallback warning")
    assert found and "python3.13 is not installed on this host" in found[0]["message"]
