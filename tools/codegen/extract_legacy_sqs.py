#!/usr/bin/env python3
"""Extracts SQS's query-era serialization names from the last botocore that shipped SQS as an
awsQuery model (1.31.80; 1.31.81 switched it to awsJson 1.0).

The current model no longer carries `locationName`/`flattened` traits or `resultWrapper`s,
which old SDKs and CLIs still rely on when they talk awsQuery/XML to SQS. Only those
serialization facts are kept (no documentation text); the result is checked in as
`patches/sqs_legacy_query.json` and applied by the `sqs_legacy_query_names` patch step of
`generate.py`, so regeneration needs no network.

Usage: extract_legacy_sqs.py [path/to/botocore-1.31.80-py3-none-any.whl]
Without an argument the wheel is fetched with `pip download` into a temporary directory.
"""

import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile

VERSION = "1.31.80"
WHEEL = f"botocore-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "1c693c0f8b2553fcbe0df223241191e6f9f60b4245d65c1822c08f659274fef2"
MODEL = "botocore/data/sqs/2012-11-05/service-2.json"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "patches", "sqs_legacy_query.json")

# Serialization traits worth carrying over; everything else (notably documentation) is dropped.
REF_KEYS = ("locationName", "flattened", "queryName", "xmlAttribute")


def load_wheel(path):
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"{path}: sha256 {digest} is not the pinned {WHEEL_SHA256}")
    with zipfile.ZipFile(path) as z:
        names = [n for n in z.namelist() if n.startswith(MODEL)]
        if not names:
            sys.exit(f"{path}: no {MODEL}")
        data = z.read(names[0])
    if names[0].endswith(".gz"):
        data = gzip.decompress(data)
    return json.loads(data)


def pick(ref):
    return {k: ref[k] for k in REF_KEYS if k in ref}


def extract(model):
    if model["metadata"].get("protocol") != "query":
        sys.exit("expected the awsQuery SQS model")
    shapes = {}
    for name, shape in sorted(model["shapes"].items()):
        entry = pick(shape)
        for part in ("member", "key", "value"):
            if part in shape and pick(shape[part]):
                entry[part] = pick(shape[part])
        members = {m: pick(ref) for m, ref in shape.get("members", {}).items() if pick(ref)}
        if members:
            entry["members"] = members
        if entry:
            shapes[name] = entry
    wrappers = {
        name: op["output"]["resultWrapper"]
        for name, op in sorted(model["operations"].items())
        if "resultWrapper" in op.get("output", {})
    }
    return {
        "source": f"botocore {VERSION} {MODEL}",
        "xmlNamespace": model["metadata"]["xmlNamespace"],
        "resultWrappers": wrappers,
        "shapes": shapes,
    }


def main():
    if len(sys.argv) > 1:
        model = load_wheel(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", f"botocore=={VERSION}", "--no-deps",
                 "-q", "-d", tmp],
                check=True,
            )
            model = load_wheel(os.path.join(tmp, WHEEL))
    with open(OUT, "w") as f:
        json.dump(extract(model), f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
