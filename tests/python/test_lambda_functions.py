"""Lambda function CRUD through boto3: create, read, list, update, delete, and their errors."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambda_helpers import PYTHON_ECHO, ROLE, _lambda_session_client, create, invoke_json, lam, zip_of  # noqa: F401


def error_code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def test_create_reports_configuration(lam):
    created = create(lam, "f1", {"app.py": PYTHON_ECHO}, Description="d", Timeout=5,
                     MemorySize=256, Environment={"Variables": {"A": "1"}}, Tags={"team": "x"})
    assert created["FunctionName"] == "f1"
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:f1"
    assert created["Runtime"] == "python3.11"
    assert created["Handler"] == "app.handler"
    assert created["Timeout"] == 5 and created["MemorySize"] == 256
    assert created["Environment"]["Variables"] == {"A": "1"}
    assert created["State"] == "Active"
    assert created["LastUpdateStatus"] == "Successful"
    assert created["Version"] == "$LATEST"
    assert created["PackageType"] == "Zip"
    assert created["Architectures"] == ["x86_64"]
    assert created["LoggingConfig"]["LogGroup"] == "/aws/lambda/f1"
    assert len(created["CodeSha256"]) == 44 and created["CodeSize"] > 0


def test_get_function_and_configuration(lam):
    create(lam, "f2", {"app.py": PYTHON_ECHO}, Tags={"k": "v"})
    got = lam.get_function(FunctionName="f2")
    assert got["Configuration"]["FunctionName"] == "f2"
    assert got["Tags"] == {"k": "v"}
    assert got["Code"]["RepositoryType"] == "S3"
    config = lam.get_function_configuration(
        FunctionName="arn:aws:lambda:us-east-1:000000000000:function:f2")
    assert config["Role"] == ROLE
    lam.get_waiter("function_active_v2").wait(FunctionName="f2")
    lam.get_waiter("function_updated_v2").wait(FunctionName="f2")


def test_missing_function_is_not_found(lam):
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName="nope")
    assert error_code(exc) == "ResourceNotFoundException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "function:nope" in exc.value.response["Error"]["Message"]


def test_duplicate_create_conflicts(lam):
    create(lam, "dup", {"app.py": PYTHON_ECHO})
    with pytest.raises(ClientError) as exc:
        create(lam, "dup", {"app.py": PYTHON_ECHO})
    assert error_code(exc) == "ResourceConflictException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


@pytest.mark.parametrize("zip_bytes", [b"not a zip at all", b"PK\x03\x04broken"])
def test_bad_zip_is_refused(lam, zip_bytes):
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName="bad", Runtime="python3.11", Role=ROLE,
                            Handler="app.handler", Code={"ZipFile": zip_bytes})
    assert error_code(exc) == "InvalidParameterValueException"
    assert "Could not unzip" in exc.value.response["Error"]["Message"]


def corrupt_entry_zip() -> bytes:
    """A zip whose directory reads fine but whose one entry's compressed data is damaged."""
    body = ("def handler(e, c):\n    return %r\n" % ("x" * 4000)).encode()
    data = bytearray(zip_of({"app.py": body}))
    start = 30 + len("app.py")  # the local header, then the deflated data
    for i in range(start + 4, start + 24):
        data[i] ^= 0x5A
    return bytes(data)


def test_zip_whose_entries_do_not_inflate_is_refused_at_create_and_update(lam):
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName="damaged", Runtime="python3.11", Role=ROLE,
                            Handler="app.handler", Code={"ZipFile": corrupt_entry_zip()})
    assert error_code(exc) == "InvalidParameterValueException"
    assert "Could not unzip" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        lam.get_function(FunctionName="damaged")
    create(lam, "intact", {"app.py": PYTHON_ECHO})
    with pytest.raises(ClientError) as exc:
        lam.update_function_code(FunctionName="intact", ZipFile=corrupt_entry_zip())
    assert error_code(exc) == "InvalidParameterValueException"
    assert invoke_json(lam, "intact", {"still": "old code"})[1]["event"] == {"still": "old code"}


def test_path_traversal_is_refused(lam):
    with pytest.raises(ClientError) as exc:
        create(lam, "evil", {"../../escape.py": "x = 1"})
    assert error_code(exc) == "InvalidParameterValueException"


@pytest.mark.parametrize("field,value", [("Timeout", 0), ("Timeout", 901), ("MemorySize", 64),
                                         ("MemorySize", 10241)])
def test_limits_are_validated(nimbus, field, value):
    # boto3 checks the modeled bounds itself; without that check the server must refuse.
    unchecked = boto3.client("lambda", endpoint_url=nimbus.url, region_name="us-east-1",
                             aws_access_key_id="test", aws_secret_access_key="test",
                             config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as exc:
        create(unchecked, "lim", {"app.py": PYTHON_ECHO}, **{field: value})
    assert error_code(exc) in ("ValidationException", "InvalidParameterValueException")


def test_unsupported_runtime_and_reserved_variables(lam):
    with pytest.raises(ClientError) as exc:
        create(lam, "java", {"app.py": PYTHON_ECHO}, runtime="java21")
    assert error_code(exc) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as exc:
        create(lam, "env", {"app.py": PYTHON_ECHO},
               Environment={"Variables": {"AWS_REGION": "x"}})
    assert error_code(exc) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as exc:
        create(lam, "nohandler", {"app.py": PYTHON_ECHO}, handler=None)
    assert error_code(exc) == "InvalidParameterValueException"


def test_list_functions_pages(lam):
    for i in range(5):
        create(lam, f"list-{i}", {"app.py": PYTHON_ECHO})
    first = lam.list_functions(MaxItems=2)
    assert [f["FunctionName"] for f in first["Functions"]] == ["list-0", "list-1"]
    names = [f["FunctionName"]
             for page in lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2})
             for f in page["Functions"]]
    assert names == [f"list-{i}" for i in range(5)]


def test_update_configuration_and_code(lam):
    created = create(lam, "upd", {"app.py": PYTHON_ECHO})
    updated = lam.update_function_configuration(FunctionName="upd", Timeout=10, Description="new",
                                                Environment={"Variables": {"X": "y"}})
    assert updated["Timeout"] == 10 and updated["Description"] == "new"
    assert updated["RevisionId"] != created["RevisionId"]
    lam.get_waiter("function_updated_v2").wait(FunctionName="upd")
    code = lam.update_function_code(FunctionName="upd", ZipFile=zip_of({"app.py": "def handler(e, c):\n    return 2\n"}))
    assert code["CodeSha256"] != created["CodeSha256"]
    with pytest.raises(ClientError) as exc:
        lam.update_function_configuration(FunctionName="upd", Timeout=3, RevisionId="stale")
    assert error_code(exc) == "PreconditionFailedException"


def test_delete_function(lam):
    create(lam, "del", {"app.py": PYTHON_ECHO})
    response = lam.delete_function(FunctionName="del")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        lam.delete_function(FunctionName="del")
    assert error_code(exc) == "ResourceNotFoundException"


def test_tags(lam):
    arn = create(lam, "tagged", {"app.py": PYTHON_ECHO}, Tags={"a": "1"})["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={"b": "2"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"a": "1", "b": "2"}
    lam.untag_resource(Resource=arn, TagKeys=["a"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"b": "2"}
    with pytest.raises(ClientError) as exc:
        lam.list_tags(Resource=arn.replace("tagged", "missing"))
    assert error_code(exc) == "ResourceNotFoundException"


def test_concurrency_and_account_settings(lam):
    create(lam, "conc", {"app.py": PYTHON_ECHO})
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName="conc")
    lam.put_function_concurrency(FunctionName="conc", ReservedConcurrentExecutions=5)
    assert lam.get_function_concurrency(FunctionName="conc")["ReservedConcurrentExecutions"] == 5
    assert lam.get_function(FunctionName="conc")["Concurrency"]["ReservedConcurrentExecutions"] == 5
    settings = lam.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 995
    assert settings["AccountUsage"]["FunctionCount"] == 1
    lam.delete_function_concurrency(FunctionName="conc")
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName="conc")
