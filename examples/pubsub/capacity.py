"""The platform's capacity under the pub/sub shape: a topic with three no-op Rust subscribers
(`lambda_runtime`, provided.al2023) that each receive every message, and a load generator that
publishes straight to the topic (no publisher function) at rising rates. Reports, per rate, the
achieved publish rate and the end-to-end p95 (publish sent → subscriber handler started), and
the highest sustained rate whose p95 stays within the bound.

    python3 capacity.py --endpoint URL --noop-bin PATH [--rates 250,500,1000,1500,2000]
                        [--step-seconds 10] [--bound-ms 100] [--nimbus-pid PID]

Sets up its resources with boto3 (prefix `capacity-`); publishes with unsigned-but-well-formed
query-protocol requests on keep-alive connections, so the generator's own cost stays small.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
import zipfile

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from figures import cpu_seconds, percentile  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/capacity-noop"
SUBSCRIBERS = 3
AUTHORIZATION = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sns/aws4_request, "
                 "SignedHeaders=host, Signature=0")


def bootstrap_zip(binary: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        with open(binary, "rb") as f:
            archive.writestr(info, f.read())
    return buffer.getvalue()


def set_up(endpoint: str, binary: str, latency_file: str) -> str:
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                    region_name="us-east-1")
    sns = session.client("sns", endpoint_url=endpoint)
    lam = session.client("lambda", endpoint_url=endpoint)
    topic = sns.create_topic(Name="capacity-events")["TopicArn"]
    code = bootstrap_zip(binary)
    for n in range(1, SUBSCRIBERS + 1):
        name = f"capacity-noop-{n}"
        arn = lam.create_function(
            FunctionName=name, Runtime="provided.al2023", Handler="bootstrap", Role=ROLE,
            Code={"ZipFile": code}, Timeout=10,
            Environment={"Variables": {"LATENCY_FILE": latency_file}})["FunctionArn"]
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    return topic


class Publisher(threading.Thread):
    """Publishes every `stride`-th message of the schedule on one keep-alive connection.

    Requests are written and answers read on a plain socket: `http.client` cost the generator
    about 0.35 ms of CPU per publish, CPU the machine's two cores would otherwise give nimbus
    and the functions."""

    def __init__(self, endpoint: str, topic: str, rate: float, count: int, first: int,
                 stride: int, start: float):
        super().__init__(daemon=True)
        self.url = urllib.parse.urlsplit(endpoint)
        self.topic, self.rate, self.count = topic, rate, count
        self.first, self.stride, self.start_at = first, stride, start
        self.sent = self.failed = 0

    def request(self, i: int) -> bytes:
        body = urllib.parse.urlencode({
            "Action": "Publish", "Version": "2010-03-31", "TopicArn": self.topic,
            "Message": json.dumps({"sentAtMs": int(time.time() * 1000), "n": i})}).encode()
        head = (f"POST / HTTP/1.1\r\nHost: {self.url.netloc}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Authorization: {AUTHORIZATION}\r\nContent-Length: {len(body)}\r\n\r\n")
        return head.encode() + body

    def run(self) -> None:
        connection = None
        for i in range(self.first, self.count, self.stride):
            delay = self.start_at + i / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                if connection is None:
                    connection = HttpConnection(self.url.hostname, self.url.port)
                ok = connection.exchange(self.request(i)) == 200
            except (OSError, ValueError):
                if connection:
                    connection.close()
                connection = None
                ok = False
            self.sent += ok
            self.failed += not ok


class HttpConnection:
    """A keep-alive HTTP/1.1 connection that reads answers framed by Content-Length."""

    def __init__(self, host: str, port: int):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def exchange(self, request: bytes) -> int:
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self.receive()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next((int(line.split(":", 1)[1]) for line in lines[1:]
                       if line.lower().startswith("content-length:")), None)
        if length is None:
            raise ValueError("answer without Content-Length")
        while len(self.buffer) < length:
            self.receive()
        self.buffer = self.buffer[length:]
        return status

    def receive(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise OSError("connection closed")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


def read_latencies(path: str, since_ms: int, until_ms: int) -> list[int]:
    try:
        with open(path) as f:
            lines = [line.split() for line in f]
    except OSError:
        return []
    return [int(received) - int(sent) for _, sent, received in
            (line for line in lines if len(line) == 3) if since_ms <= int(sent) <= until_ms]


def step(endpoint: str, topic: str, latency_file: str, rate: float, seconds: float,
         publishers: int) -> dict:
    count = int(rate * seconds)
    since = int(time.time() * 1000)
    start = time.monotonic() + 0.2
    threads = [Publisher(endpoint, topic, rate, count, k, publishers, start)
               for k in range(publishers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    until = int(time.time() * 1000)
    sent = sum(t.sent for t in threads)
    deadline = time.monotonic() + 30
    latencies = read_latencies(latency_file, since, until)
    while len(latencies) < sent * SUBSCRIBERS and time.monotonic() < deadline:
        time.sleep(0.5)
        latencies = read_latencies(latency_file, since, until)
    return {"rate_target": rate, "rate_achieved": round(sent / elapsed, 1), "published": sent,
            "publish_errors": sum(t.failed for t in threads),
            "invocations": len(latencies), "expected_invocations": sent * SUBSCRIBERS,
            "end_to_end_p50_ms": percentile(latencies, 50),
            "end_to_end_p95_ms": percentile(latencies, 95)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--noop-bin", required=True, help="the built pubsub-noop-subscriber")
    parser.add_argument("--rates", default="250,500,750,1000,1500,2000")
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--bound-ms", type=float, default=100.0)
    parser.add_argument("--publishers", type=int, default=8, help="connections publishing")
    parser.add_argument("--nimbus-pid", type=int)
    args = parser.parse_args()

    latency_file = os.path.join(tempfile.mkdtemp(prefix="capacity-"), "latency.txt")
    topic = set_up(args.endpoint, args.noop_bin, latency_file)
    steps, best = [], None
    for rate in (float(r) for r in args.rates.split(",")):
        before = cpu_seconds(args.nimbus_pid) if args.nimbus_pid else None
        result = step(args.endpoint, topic, latency_file, rate, args.step_seconds,
                      args.publishers)
        if before:
            after = cpu_seconds(args.nimbus_pid)
            own = after["nimbus"] - before["nimbus"]
            total = own + after["functions"] - before["functions"]
            result["nimbus_cpu_share_percent"] = round(100 * own / total, 1) if total else None
        steps.append(result)
        print(json.dumps(result), file=sys.stderr)
        sustained = (result["rate_achieved"] >= 0.95 * rate
                     and result["invocations"] == result["expected_invocations"]
                     and result["end_to_end_p95_ms"] is not None
                     and result["end_to_end_p95_ms"] <= args.bound_ms)
        if not sustained:
            break
        best = result["rate_achieved"]
    print(json.dumps({"steps": steps, "highest_sustained_rate": best,
                      "bound_ms": args.bound_ms}, indent=2))


if __name__ == "__main__":
    main()
