"""Runs the JavaScript SDK v3 smoke test (tests/js) against the shared server."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from nimbus_harness import REPO_ROOT

JS_DIR = REPO_ROOT / "tests" / "js"


def test_javascript_sdk_v3(nimbus):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (JS_DIR / "node_modules" / "@aws-sdk" / "client-sqs").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("tests/js dependencies missing: run `npm ci` in tests/js")
        pytest.skip("tests/js dependencies missing: run `npm ci` in tests/js")
    env = dict(os.environ, NIMBUS_ENDPOINT=nimbus.url)
    proc = subprocess.run(
        [node, "--test", "sqs.test.mjs"],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report
    assert "# pass 2" in report and "# fail 0" in report and "# skipped 0" in report, report
