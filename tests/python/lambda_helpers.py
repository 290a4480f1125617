"""Helpers for the Lambda suites: zips of function code and a client fixture."""

from __future__ import annotations

import io
import json
import threading
import zipfile

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::000000000000:role/lambda-role"


def zip_of(files: dict[str, str | bytes], modes: dict[str, int] | None = None) -> bytes:
    """A zip holding `files` (name → content); `modes` sets unix permissions."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = ((modes or {}).get(name, 0o644) & 0xFFFF) << 16
            archive.writestr(info, content)
    return buffer.getvalue()


PYTHON_ECHO = """
import json, os
def handler(event, context):
    print("echo", json.dumps(event))
    return {"event": event, "request_id": context.aws_request_id,
            "function_name": context.function_name, "pid": os.getpid(),
            "remaining": context.get_remaining_time_in_millis()}
"""

NODE_ECHO = """
exports.handler = async (event, context) => {
  console.log("echo", JSON.stringify(event));
  return { event, requestId: context.awsRequestId, pid: process.pid };
};
"""


def create(lam, name: str, files: dict[str, str | bytes], runtime: str = "python3.11",
           handler: str | None = "app.handler", modes: dict[str, int] | None = None, **extra):
    """Creates a function from `files`; returns the CreateFunction response."""
    args = dict(FunctionName=name, Runtime=runtime, Role=ROLE,
                Code={"ZipFile": zip_of(files, modes)}, **extra)
    if handler is not None:
        args["Handler"] = handler
    return lam.create_function(**args)


def invoke_json(lam, name: str, event=None, **extra):
    """Invokes synchronously; returns (response, decoded payload)."""
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **extra)
    body = response["Payload"].read()
    return response, (json.loads(body) if body else None)


@pytest.fixture(scope="session")
def _lambda_session_client(nimbus):
    return nimbus.client("lambda")


@pytest.fixture
def lam(nimbus, _lambda_session_client):
    """A boto3 Lambda client for account 000000000000 in us-east-1."""
    return _lambda_session_client


def hold_slot(client, function: str, seconds: float, qualifier: str | None = None,
              results: list | None = None):
    """A thread whose synchronous invoke of `function` (optionally `qualifier`) sleeps
    `seconds` in the handler, occupying one of the function's slots; tried again while a
    probe holds the slot. The handler's answers go to `results`."""
    extra = {"Qualifier": qualifier} if qualifier else {}

    def run():
        while True:
            try:
                answer = invoke_json(client, function, {"s": seconds}, **extra)[1]
            except ClientError as err:
                if err.response["Error"]["Code"] != "TooManyRequestsException":
                    raise
                continue
            if results is not None:
                results.append(answer)
            return
    thread = threading.Thread(target=run)
    thread.start()
    return thread
