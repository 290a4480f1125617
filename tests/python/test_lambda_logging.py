"""Lambda's advanced logging controls: the JSON log format for the Python and Node runtime
clients and the platform's own records, application and system log levels, the log group,
and AWS's validation of LoggingConfig."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from lambda_helpers import _lambda_session_client, create, invoke_json, lam  # noqa: F401

PYTHON_LOGGING = """
import logging
logger = logging.getLogger("orders")

def handler(event, context):
    print("plain print")
    logger.debug("debug detail")
    logger.info("processing %s", event.get("id"), extra={"orderId": event.get("id")})
    logger.warning("careful")
    try:
        raise ValueError("bad order")
    except ValueError:
        logger.exception("order failed")
    if event.get("fail"):
        raise RuntimeError("boom")
    return "ok"
"""

NODE_LOGGING = """
exports.handler = async (event) => {
  console.debug("debug detail");
  console.log("processing %s", event.id);
  console.info({ orderId: event.id });
  console.warn("careful");
  console.error("order failed", new TypeError("bad order"));
  if (event.fail) throw new Error("boom");
  return "ok";
};
"""


@pytest.fixture(scope="module")
def _logs_session_client(nimbus):
    return nimbus.client("logs")


@pytest.fixture
def logs(nimbus, _logs_session_client):
    return _logs_session_client


def log_messages(logs, group: str, pattern: str = "", until=lambda m: True, wait: float = 5.0) -> list[str]:
    """The group's messages matching `pattern`, polled until `until(messages)` holds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            events = logs.filter_log_events(logGroupName=group, filterPattern=pattern)["events"]
        except ClientError:
            events = []
        messages = [e["message"] for e in events]
        if until(messages) or time.monotonic() > deadline:
            return messages
        time.sleep(0.1)


def records(messages: list[str]) -> list[dict]:
    out = []
    for message in messages:
        try:
            value = json.loads(message)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def start_request_id(messages: list[str]) -> str:
    """The request id of the first platform.start record."""
    return next(r["record"]["requestId"] for r in records(messages) if r.get("type") == "platform.start")


def has_report(messages):
    return any('"platform.report"' in m for m in messages)


def test_python_json_format(lam, logs):
    create(lam, "pyjson", {"app.py": PYTHON_LOGGING}, LoggingConfig={"LogFormat": "JSON"})
    response, body = invoke_json(lam, "pyjson", {"id": "o-1"})
    assert body == "ok"
    messages = log_messages(logs, "/aws/lambda/pyjson", until=has_report)
    assert "plain print" in messages  # print() stays text
    by_message = {r.get("message"): r for r in records(messages) if "level" in r}
    info = by_message.get("processing o-1")
    assert info, messages
    assert info["level"] == "INFO" and info["logger"] == "orders"
    assert info["requestId"] == start_request_id(messages)
    assert info["orderId"] == "o-1"  # extra fields are logged
    assert info["timestamp"].endswith("Z")
    assert by_message["careful"]["level"] == "WARNING"
    failed = by_message["order failed"]
    assert failed["level"] == "ERROR" and failed["errorType"] == "ValueError"
    assert failed["errorMessage"] == "bad order" and failed["stackTrace"]
    assert "debug detail" not in by_message  # the default application level is INFO
    platform = [r for r in records(messages) if r.get("type", "").startswith("platform.")]
    assert [r["type"] for r in platform] == ["platform.start", "platform.report"]
    assert platform[0]["record"] == {"requestId": info["requestId"], "version": "$LATEST"}
    report = platform[1]["record"]
    assert report["status"] == "success"
    assert set(report["metrics"]) >= {"durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB",
                                      "initDurationMs"}
    assert report["metrics"]["memorySizeMB"] == 128
    assert not any(m.startswith(("START", "END", "REPORT")) for m in messages)


def test_json_filter_pattern_finds_error_lines(lam, logs):
    create(lam, "pyerr", {"app.py": PYTHON_LOGGING}, LoggingConfig={"LogFormat": "JSON"})
    response, body = invoke_json(lam, "pyerr", {"id": "o-2", "fail": True})
    assert response["FunctionError"] == "Unhandled"
    log_messages(logs, "/aws/lambda/pyerr", until=has_report)
    errors = records(log_messages(logs, "/aws/lambda/pyerr", '{ $.level = "ERROR" }'))
    assert sorted(e["message"] for e in errors) == ["boom", "order failed"]
    unhandled = next(e for e in errors if e["message"] == "boom")
    assert unhandled["errorType"] == "RuntimeError" and unhandled["stackTrace"]
    reports = records(log_messages(logs, "/aws/lambda/pyerr", '{ $.type = "platform.report" }'))
    assert [r["record"]["status"] for r in reports] == ["error"]
    assert reports[0]["record"]["errorType"] == "RuntimeError"


def test_application_and_system_levels_filter(lam, logs):
    create(lam, "pylevels", {"app.py": PYTHON_LOGGING},
           LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "DEBUG"})
    invoke_json(lam, "pylevels", {"id": "o-3"})
    messages = log_messages(logs, "/aws/lambda/pylevels", until=has_report)
    assert "debug detail" in [r.get("message") for r in records(messages)]
    types = [r["type"] for r in records(messages) if "type" in r]
    assert types == ["platform.start", "platform.runtimeDone", "platform.report"]

    create(lam, "pyquiet", {"app.py": PYTHON_LOGGING},
           LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "ERROR", "SystemLogLevel": "WARN"})
    invoke_json(lam, "pyquiet", {"id": "o-4"})
    messages = log_messages(logs, "/aws/lambda/pyquiet", until=lambda m: "plain print" in m)
    time.sleep(0.3)  # anything else would have arrived with the print
    messages = log_messages(logs, "/aws/lambda/pyquiet")
    levels = {r.get("level") for r in records(messages)}
    assert levels == {"ERROR"}, messages
    assert not any("platform." in m for m in messages)


def test_node_json_format(lam, logs):
    create(lam, "nodejson", {"index.js": NODE_LOGGING}, runtime="nodejs20.x", handler="index.handler",
           LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "INFO"})
    response, body = invoke_json(lam, "nodejson", {"id": "o-5", "fail": True})
    assert response["FunctionError"] == "Unhandled"
    messages = log_messages(logs, "/aws/lambda/nodejson", until=has_report)
    app = [r for r in records(messages) if "level" in r]
    request_id = start_request_id(messages)
    assert all(r["requestId"] == request_id and r["timestamp"].endswith("Z") for r in app)
    assert [r["level"] for r in app] == ["INFO", "INFO", "WARN", "ERROR", "ERROR"]
    assert app[0]["message"] == "processing o-5"  # formatted like util.format
    assert app[1]["message"] == {"orderId": "o-5"}  # one object stays structured
    assert app[3]["message"].startswith("order failed TypeError: bad order")
    assert app[3]["errorType"] == "TypeError" and app[3]["errorMessage"] == "bad order"
    assert app[4]["message"] == "Invoke Error" and app[4]["errorMessage"] == "boom"
    errors = records(log_messages(logs, "/aws/lambda/nodejson", '{ $.level = "ERROR" }'))
    assert len(errors) == 2


def test_text_format_is_unchanged(lam, logs):
    create(lam, "pytext", {"app.py": PYTHON_LOGGING})
    config = lam.get_function_configuration(FunctionName="pytext")["LoggingConfig"]
    assert config == {"LogFormat": "Text", "LogGroup": "/aws/lambda/pytext"}
    invoke_json(lam, "pytext", {"id": "o-6"})
    messages = log_messages(logs, "/aws/lambda/pytext", until=lambda m: any(x.startswith("REPORT") for x in m))
    assert messages[0].startswith("START RequestId: ")
    assert any(m.startswith("END RequestId: ") for m in messages)
    warning = next(m for m in messages if "careful" in m)
    assert warning.startswith("[WARNING]\t") and warning.endswith("\tcareful")
    assert not records(messages)


def test_custom_log_group(lam, logs):
    create(lam, "grouped", {"app.py": PYTHON_LOGGING},
           LoggingConfig={"LogFormat": "JSON", "LogGroup": "/shared/app-logs"})
    config = lam.get_function_configuration(FunctionName="grouped")["LoggingConfig"]
    assert config == {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO",
                      "LogGroup": "/shared/app-logs"}
    invoke_json(lam, "grouped", {"id": "o-7"})
    assert has_report(log_messages(logs, "/shared/app-logs", until=has_report))
    groups = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
    assert "/aws/lambda/grouped" not in groups


def test_logging_config_validation(lam):
    with pytest.raises(ClientError) as err:
        create(lam, "bad1", {"app.py": PYTHON_LOGGING}, LoggingConfig={"ApplicationLogLevel": "DEBUG"})
    assert err.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "LogLevel is not supported when LogFormat is set to \"Text\"" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        create(lam, "bad2", {"app.py": PYTHON_LOGGING},
               LoggingConfig={"LogFormat": "JSON", "SystemLogLevel": "ERROR"})
    assert err.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as err:
        create(lam, "bad3", {"app.py": PYTHON_LOGGING}, LoggingConfig={"LogFormat": "Yaml"})
    assert err.value.response["Error"]["Code"] == "ValidationException"

    create(lam, "switch", {"app.py": PYTHON_LOGGING},
           LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN"})
    with pytest.raises(ClientError) as err:
        lam.update_function_configuration(FunctionName="switch",
                                          LoggingConfig={"LogFormat": "Text", "SystemLogLevel": "INFO"})
    assert err.value.response["Error"]["Code"] == "InvalidParameterValueException"
    updated = lam.update_function_configuration(FunctionName="switch", LoggingConfig={"SystemLogLevel": "WARN"})
    assert updated["LoggingConfig"]["ApplicationLogLevel"] == "WARN"
    assert updated["LoggingConfig"]["SystemLogLevel"] == "WARN"
    back = lam.update_function_configuration(FunctionName="switch", LoggingConfig={"LogFormat": "Text"})
    assert back["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/aws/lambda/switch"}
