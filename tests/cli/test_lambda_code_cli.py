"""The aws CLI v1 reading a function's Code.Location: the URL serves the function's zip."""

from __future__ import annotations

import base64
import hashlib
import urllib.request

from test_lambda_cli import cli, function_zip, out  # noqa: F401


def test_cli_code_location_downloads_the_zip(cli, function_zip):  # noqa: F811
    cli("lambda", "create-function", "--function-name", "dl", "--runtime", "python3.12",
        "--handler", "app.handler", "--role", "arn:aws:iam::000000000000:role/r",
        "--zip-file", f"fileb://{function_zip}")
    got = out(cli("lambda", "get-function", "--function-name", "dl"))
    assert got["Code"]["RepositoryType"] == "S3"
    with urllib.request.urlopen(got["Code"]["Location"], timeout=10) as response:
        body = response.read()
    assert body == function_zip.read_bytes()
    assert base64.b64encode(hashlib.sha256(body).digest()).decode() == got["Configuration"]["CodeSha256"]
