"""Spawning the nimbus binary and talking to its admin API.

Shared by the pytest suites (tests/python, tests/cli). Nothing here knows about SQS semantics;
it starts a server on port 0, waits until it is ready and offers small helpers around it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import struct
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_RE = re.compile(r"listening on (http://\S+)")
START_TIMEOUT_S = 60.0
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"


def debug_binary(name: str) -> Path:
    """Where `cargo build` puts the debug binary `name`: under `$CARGO_TARGET_DIR`, else
    the repository's `target`."""
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target")
    if not target.is_absolute():
        target = REPO_ROOT / target
    return target / "debug" / name


def nimbus_binary() -> Path:
    """Where the binary is: `NIMBUS_BIN`, else `$CARGO_TARGET_DIR/debug/nimbus`."""
    explicit = os.environ.get("NIMBUS_BIN")
    if explicit:
        return Path(explicit)
    return debug_binary("nimbus")


class NimbusServer:
    """One `nimbus serve` child process on an ephemeral port."""

    def __init__(self, *extra_args: str, data_dir: str | Path | None = None, clock: str = "test"):
        self.extra_args = list(extra_args)
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.clock_mode = clock
        self.proc: subprocess.Popen | None = None
        self.url: str = ""
        self.port: int = 0
        self._stdout_lines: list[str] = []
        self._log = tempfile.NamedTemporaryFile(prefix="nimbus-", suffix=".log", delete=False)

    # ---- lifecycle -------------------------------------------------------------------------

    def command(self) -> list[str]:
        cmd = [str(nimbus_binary()), "serve", "--port", "0", "--clock", self.clock_mode]
        if self.data_dir is not None:
            cmd += ["--data-dir", str(self.data_dir)]
        else:
            cmd += ["--in-memory"]
        if not any(arg.startswith("--lambda-sdk-dir") for arg in self.extra_args):
            # Installing the managed SDKs takes a network round of pip and npm; the suites
            # that test them pass their own directory.
            cmd += ["--lambda-sdk-dir", "off"]
        return cmd + self.extra_args

    def start(self) -> "NimbusServer":
        binary = nimbus_binary()
        if not binary.exists():
            raise RuntimeError(
                f"nimbus binary not found at {binary}: run `cargo build -p nimbus` "
                "or set NIMBUS_BIN"
            )
        env = dict(os.environ)
        env.setdefault("RUST_BACKTRACE", "1")
        self.proc = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        ready = threading.Event()

        def pump() -> None:
            # Reads stdout for the ready line and keeps draining it so the child never blocks.
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self._stdout_lines.append(line)
                if not ready.is_set():
                    m = READY_RE.search(line)
                    if m:
                        self.url = m.group(1).rstrip("/")
                        ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(
                    f"nimbus did not print its ready line (exit={self.proc.returncode}).\n"
                    f"stdout: {''.join(self._stdout_lines)}\nstderr tail:\n{self.log_tail()}"
                )
        m = re.search(r":(\d+)$", self.url)
        if not m:
            raise RuntimeError(f"no port in ready URL {self.url!r}")
        self.port = int(m.group(1))
        self._wait_healthy(deadline)
        return self

    def _wait_healthy(self, deadline: float) -> None:
        last = None
        while time.monotonic() < deadline:
            try:
                status, body = self.admin("GET", "/_nimbus/health")
                if status == 200 and "status" in json.loads(body):
                    return
                last = (status, body)
            except (OSError, ValueError) as exc:
                last = exc
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"nimbus never became healthy: {last}\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        """SIGKILL: no chance to flush or close anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = Path(self._log.name).read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    # ---- URLs ------------------------------------------------------------------------------

    @property
    def url_127(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url_localhost(self) -> str:
        return f"http://localhost:{self.port}"

    # ---- admin API -------------------------------------------------------------------------

    def admin(self, method: str, path: str, body: dict | None = None, timeout: float = 30.0):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def health(self) -> dict:
        status, body = self.admin("GET", "/_nimbus/health")
        assert status == 200, body
        return json.loads(body)

    def metrics(self) -> str:
        status, body = self.admin("GET", "/_nimbus/metrics")
        assert status == 200, body
        return body

    def reset(self, service: str | None = None) -> None:
        path = "/_nimbus/reset" + (f"?service={service}" if service else "")
        status, body = self.admin("POST", path)
        assert status in (200, 204), f"reset failed: {status} {body}"

    def clock(self) -> dict:
        status, body = self.admin("GET", "/_nimbus/clock")
        assert status == 200, body
        return json.loads(body)

    def now_ms(self) -> int:
        return int(self.clock()["now_ms"])

    def advance(self, seconds: float) -> int:
        """Moves the test clock forward and returns the new time in ms."""
        status, body = self.admin("POST", "/_nimbus/clock", {"advance_seconds": seconds})
        assert status == 200, f"clock advance failed: {status} {body}"
        return self.now_ms()

    # ---- clients ---------------------------------------------------------------------------

    def client(
        self,
        service: str = "sqs",
        *,
        region: str = DEFAULT_REGION,
        access_key: str = "test",
        secret_key: str = "test",
        endpoint: str | None = None,
        read_timeout: float = 60.0,
    ):
        session = boto3.session.Session(
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
        )
        return session.client(
            service,
            endpoint_url=endpoint or self.url,
            config=Config(
                retries={"total_max_attempts": 1},
                read_timeout=read_timeout,
                connect_timeout=5,
            ),
        )


# ---- message digests, computed as the SQS documentation describes ------------------------
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html
# (calculating the MD5 message digest for message attributes)


def md5_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.md5(data).hexdigest()


def _length_prefixed(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def md5_of_attributes(attrs: dict) -> str:
    """MD5 of a MessageAttributes (or MessageSystemAttributes) map in SQS's encoding.

    Names sorted; each is name, data type, a transport byte (1 = string, 2 = binary) and the
    value, every field prefixed by its 4-byte big-endian length.
    """
    out = b""
    for name in sorted(attrs):
        value = attrs[name]
        data_type = value["DataType"]
        out += _length_prefixed(name.encode())
        out += _length_prefixed(data_type.encode())
        if "BinaryValue" in value and value["BinaryValue"] is not None:
            raw = value["BinaryValue"]
            out += b"\x02" + _length_prefixed(raw if isinstance(raw, bytes) else raw.encode())
        else:
            out += b"\x01" + _length_prefixed(value["StringValue"].encode())
    return hashlib.md5(out).hexdigest()


def wait_for(condition, timeout: float = 15.0, what: str = "condition"):
    """Polls `condition` until it returns something truthy; returns that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
