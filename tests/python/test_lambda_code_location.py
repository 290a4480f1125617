"""GetFunction's Code.Location and GetLayerVersion's Content.Location serve the stored zips
from the nimbus endpoint, as AWS's presigned URLs serve them from S3."""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.request

import pytest

from lambda_helpers import _lambda_session_client, create, lam, zip_of  # noqa: F401


def download(url: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read(), response.headers["Content-Type"]


def sha256_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_code_location_serves_each_versions_zip(lam, nimbus):
    first = zip_of({"app.py": "def handler(e, c):\n    return 1\n"})
    second = zip_of({"app.py": "def handler(e, c):\n    return 2\n"})
    create(lam, "located", {"app.py": "def handler(e, c):\n    return 1\n"}, Publish=True)
    lam.update_function_code(FunctionName="located", ZipFile=second, Publish=True)
    lam.create_alias(FunctionName="located", Name="old", FunctionVersion="1")

    latest = lam.get_function(FunctionName="located")
    assert latest["Code"]["RepositoryType"] == "S3"
    assert latest["Code"]["Location"].startswith(nimbus.url + "/_nimbus/")
    body, content_type = download(latest["Code"]["Location"])
    assert content_type == "application/zip"
    assert body == second
    assert sha256_base64(body) == latest["Configuration"]["CodeSha256"]

    for qualifier in ("1", "old"):
        got = lam.get_function(FunctionName="located", Qualifier=qualifier)
        body, _ = download(got["Code"]["Location"])
        assert sha256_base64(body) == got["Configuration"]["CodeSha256"] == sha256_base64(first)
    assert download(lam.get_function(FunctionName="located", Qualifier="2")["Code"]["Location"])[0] == second

    missing = latest["Code"]["Location"].replace("/located/", "/absent/")
    with pytest.raises(urllib.error.HTTPError) as exc:
        download(missing)
    assert exc.value.code == 404
    lam.delete_function(FunctionName="located")
    with pytest.raises(urllib.error.HTTPError) as exc:
        download(latest["Code"]["Location"])
    assert exc.value.code == 404


def test_layer_content_location_serves_the_layer_zip(lam):
    content = zip_of({"python/helper.py": "X = 1\n"})
    published = lam.publish_layer_version(LayerName="shared", Content={"ZipFile": content})
    body, content_type = download(published["Content"]["Location"])
    assert (body, content_type) == (content, "application/zip")
    got = lam.get_layer_version(LayerName="shared", VersionNumber=published["Version"])
    body, _ = download(got["Content"]["Location"])
    assert sha256_base64(body) == got["Content"]["CodeSha256"]
    with pytest.raises(urllib.error.HTTPError) as exc:
        download(got["Content"]["Location"][:-1] + "9")
    assert exc.value.code == 404
