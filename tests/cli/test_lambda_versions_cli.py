"""The aws CLI v1 with Lambda versions and aliases: publish, list, alias with weights, invoke
by qualifier, and the errors it prints."""

from __future__ import annotations

import io
import json
import zipfile

from test_lambda_cli import cli, out  # noqa: F401

CODE = """
def handler(event, context):
    return {"tag": "%s", "version": context.function_version}
"""

ROLE = "arn:aws:iam::000000000000:role/r"


def zip_path(tmp_path, tag: str):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", CODE % tag)
    path = tmp_path / f"{tag}.zip"
    path.write_bytes(buffer.getvalue())
    return path


def test_cli_versions_and_aliases(cli, tmp_path):  # noqa: F811
    cli("lambda", "create-function", "--function-name", "vcli", "--runtime", "python3.12",
        "--handler", "app.handler", "--role", ROLE, "--zip-file", f"fileb://{zip_path(tmp_path, 'one')}")
    first = out(cli("lambda", "publish-version", "--function-name", "vcli", "--description", "first"))
    assert (first["Version"], first["Description"]) == ("1", "first")
    assert first["FunctionArn"].endswith(":function:vcli:1")
    second = out(cli("lambda", "update-function-code", "--function-name", "vcli",
                     "--zip-file", f"fileb://{zip_path(tmp_path, 'two')}", "--publish"))
    assert second["Version"] == "2"
    listed = out(cli("lambda", "list-versions-by-function", "--function-name", "vcli"))
    assert [v["Version"] for v in listed["Versions"]] == ["$LATEST", "1", "2"]

    alias = out(cli("lambda", "create-alias", "--function-name", "vcli", "--name", "live",
                    "--function-version", "1", "--routing-config", "AdditionalVersionWeights={2=0.25}"))
    assert alias["AliasArn"].endswith(":function:vcli:live")
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.25}}
    aliases = out(cli("lambda", "list-aliases", "--function-name", "vcli"))
    assert [a["Name"] for a in aliases["Aliases"]] == ["live"]

    result = tmp_path / "out.json"
    invoked = out(cli("lambda", "invoke", "--function-name", "vcli", "--qualifier", "1", str(result)))
    assert invoked["ExecutedVersion"] == "1"
    assert json.loads(result.read_text()) == {"tag": "one", "version": "1"}
    invoked = out(cli("lambda", "invoke", "--function-name", "vcli:live", str(result)))
    assert invoked["ExecutedVersion"] in {"1", "2"}

    config = out(cli("lambda", "get-function-configuration", "--function-name", "vcli", "--qualifier", "2"))
    assert config["Version"] == "2"
    refused = cli("lambda", "delete-function", "--function-name", "vcli", "--qualifier", "1", check=False)
    assert refused.returncode != 0 and "ResourceConflictException" in refused.stderr
    cli("lambda", "update-alias", "--function-name", "vcli", "--name", "live", "--function-version", "2",
        "--routing-config", "AdditionalVersionWeights={}")
    cli("lambda", "delete-function", "--function-name", "vcli", "--qualifier", "1")
    missing = cli("lambda", "get-alias", "--function-name", "vcli", "--name", "gone", check=False)
    assert missing.returncode != 0 and "Cannot find alias arn" in missing.stderr
    cli("lambda", "delete-alias", "--function-name", "vcli", "--name", "live")
    assert out(cli("lambda", "list-aliases", "--function-name", "vcli"))["Aliases"] == []
