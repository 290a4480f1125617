"""AWS's own runtime clients against our Runtime API: a Rust function built with the
`lambda_runtime` crate, and a Python function started by `awslambdaric` when it is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lambda_helpers import _lambda_session_client, create, invoke_json, lam  # noqa: F401
from nimbus_harness import debug_binary


def rust_function() -> Path | None:
    path = os.environ.get("NIMBUS_RUST_FUNCTION")
    if path and Path(path).is_file():
        return Path(path)
    built = debug_binary("nimbus-test-rust-function")
    return built if built.is_file() else None


def test_rust_lambda_runtime_function(lam):
    binary = rust_function()
    if binary is None:
        message = "build it first: cargo build -p nimbus-test-rust-function"
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # scripts/test builds it; a skip in CI would hide a regression
        pytest.skip(message)
    create(lam, "rusty", {"bootstrap": binary.read_bytes()}, runtime="provided.al2023", handler=None,
           modes={"bootstrap": 0o755})
    response, body = invoke_json(lam, "rusty", {"hello": "rust"})
    assert "FunctionError" not in response, body
    assert body["event"] == {"hello": "rust"}
    assert body["function_arn"] == "arn:aws:lambda:us-east-1:000000000000:function:rusty"
    assert len(body["request_id"]) == 36
    response, body = invoke_json(lam, "rusty", {"fail": True})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorMessage"] == "asked to fail"


def awslambdaric_python() -> str | None:
    """A python3 on which `awslambdaric` imports, if any."""
    for candidate in (sys.executable, shutil.which("python3")):
        if candidate and subprocess.run([candidate, "-c", "import awslambdaric"],
                                        capture_output=True).returncode == 0:
            return candidate
    return None


def test_awslambdaric_through_a_custom_bootstrap(lam):
    python = awslambdaric_python()
    if python is None:
        pytest.skip("awslambdaric is not installed")
    bootstrap = f"#!/bin/sh\nexec {python} -m awslambdaric \"$_HANDLER\"\n"
    create(lam, "ric", {"bootstrap": bootstrap, "app.py": "def handler(e, c):\n    return {'ric': e, 'fn': c.function_name}\n"},
           runtime="provided.al2023", handler="app.handler", modes={"bootstrap": 0o755})
    response, body = invoke_json(lam, "ric", {"x": 1})
    assert "FunctionError" not in response, body
    assert body == {"ric": {"x": 1}, "fn": "ric"}
