"""Running the aws CLI v1 (from PyPI, installed in the venv) against a nimbus under test.

The CLI v1 ignores AWS_ENDPOINT_URL, so every call passes --endpoint-url; credentials and
configuration live in a throw-away home so the machine's own never leak in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def aws_executable() -> str:
    beside = Path(sys.executable).with_name("aws")
    if beside.exists():
        return str(beside)
    found = shutil.which("aws")
    if found is None:
        pytest.skip("aws CLI not installed (pip install -r tests/requirements.txt)")
    return found


def cli_runner(url: str, home: Path, *prefix: str):
    """`run(*args, key="test", env=None, check=True)` runs `aws --endpoint-url URL --output json
    PREFIX... ARGS...` with `home` as its home and working directory."""
    exe = aws_executable()

    def run(*args: str, key: str = "test", env: dict | None = None, check: bool = True):
        full_env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_PAGER": "",
            **(env or {}),
        }
        proc = subprocess.run(
            [exe, "--endpoint-url", url, "--output", "json", *prefix, *args],
            env=full_env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=home,
        )
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc

    return run


def out(proc) -> dict:
    return json.loads(proc.stdout) if proc.stdout.strip() else {}
