"""Lambda layers: publish, read, list, delete, and code from layers on the search path."""

from __future__ import annotations

import shutil

import pytest
from botocore.exceptions import ClientError

from lambda_helpers import _lambda_session_client, create, invoke_json, lam, zip_of  # noqa: F401


def publish(lam, name, files, **extra):
    return lam.publish_layer_version(LayerName=name, Content={"ZipFile": zip_of(files)}, **extra)


def test_layer_versions_crud(lam):
    first = publish(lam, "tools", {"python/t.py": "X = 1\n"}, CompatibleRuntimes=["python3.12"],
                    Description="one", LicenseInfo="MIT")
    assert first["Version"] == 1
    assert first["LayerArn"] == "arn:aws:lambda:us-east-1:000000000000:layer:tools"
    assert first["LayerVersionArn"] == first["LayerArn"] + ":1"
    assert len(first["Content"]["CodeSha256"]) == 44
    second = publish(lam, "tools", {"python/t.py": "X = 2\n"}, CompatibleRuntimes=["nodejs20.x"])
    assert second["Version"] == 2
    got = lam.get_layer_version(LayerName="tools", VersionNumber=1)
    assert got["Description"] == "one" and got["LicenseInfo"] == "MIT"
    by_arn = lam.get_layer_version_by_arn(Arn=second["LayerVersionArn"])
    assert by_arn["Version"] == 2
    versions = lam.list_layer_versions(LayerName="tools")["LayerVersions"]
    assert [v["Version"] for v in versions] == [2, 1]
    layers = lam.list_layers()["Layers"]
    assert [(l["LayerName"], l["LatestMatchingVersion"]["Version"]) for l in layers] == [("tools", 2)]
    python_only = lam.list_layers(CompatibleRuntime="python3.12")["Layers"]
    assert python_only[0]["LatestMatchingVersion"]["Version"] == 1
    lam.delete_layer_version(LayerName="tools", VersionNumber=1)
    with pytest.raises(ClientError) as exc:
        lam.get_layer_version(LayerName="tools", VersionNumber=1)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        publish(lam, "bad", {"../x": "y"})
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_python_function_imports_from_layer(lam):
    layer = publish(lam, "pylib", {"python/helper.py": "def greet(n):\n    return 'hello ' + n\n"})
    create(lam, "uses", {"app.py": "import helper\ndef handler(e, c):\n    return helper.greet(e['n'])\n"},
           Layers=[layer["LayerVersionArn"]])
    config = lam.get_function_configuration(FunctionName="uses")
    assert config["Layers"][0]["Arn"] == layer["LayerVersionArn"]
    assert invoke_json(lam, "uses", {"n": "layer"})[1] == "hello layer"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_function_requires_from_layer(lam):
    layer = publish(lam, "nodelib", {"nodejs/node_modules/greet/index.js": "module.exports = (n) => `hi ${n}`;\n"})
    create(lam, "nuses", {"index.js": "const greet = require('greet');\nexports.handler = async (e) => greet(e.n);\n"},
           runtime="nodejs20.x", handler="index.handler", Layers=[layer["LayerVersionArn"]])
    assert invoke_json(lam, "nuses", {"n": "there"})[1] == "hi there"


def test_missing_layer_is_refused(lam):
    with pytest.raises(ClientError) as exc:
        create(lam, "nolayer", {"app.py": "x = 1\n"},
               Layers=["arn:aws:lambda:us-east-1:000000000000:layer:ghost:1"])
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_layer_version_republished_after_reset_serves_its_new_content(nimbus, lam):
    # Version numbers start again at 1 after a reset; the content must not be the old one's.
    reader = {"app.py": "import which\ndef handler(e, c):\n    return which.WHICH\n"}
    layer = publish(lam, "again", {"python/which.py": "WHICH = 'first'\n"})
    create(lam, "reads", reader, Layers=[layer["LayerVersionArn"]])
    assert invoke_json(lam, "reads", {})[1] == "first"
    nimbus.reset("lambda")
    layer = publish(lam, "again", {"python/which.py": "WHICH = 'second'\n"})
    assert layer["Version"] == 1
    create(lam, "reads", reader, Layers=[layer["LayerVersionArn"]])
    assert invoke_json(lam, "reads", {})[1] == "second"
