"""Reserved concurrency belongs to the function: all its versions and aliases share it, and
PutFunctionConcurrency keeps the account's minimum unreserved concurrency free."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from lambda_helpers import _lambda_session_client, create, hold_slot, invoke_json, lam  # noqa: F401

SLEEPY = "import time\ndef handler(event, context):\n    time.sleep(event.get('s', 0))\n    return context.function_version\n"


def test_versions_share_the_function_reserved_concurrency(lam, nimbus):
    create(lam, "shared", {"app.py": SLEEPY}, Timeout=10)
    lam.publish_version(FunctionName="shared")
    lam.update_function_configuration(FunctionName="shared", Description="second")
    lam.publish_version(FunctionName="shared")
    lam.create_alias(FunctionName="shared", Name="live", FunctionVersion="1")
    lam.put_function_concurrency(FunctionName="shared", ReservedConcurrentExecutions=2)
    for qualifier in ("1", "2"):
        invoke_json(lam, "shared", Qualifier=qualifier)  # warm
    results: list = []
    slow = [hold_slot(nimbus.client("lambda"), "shared", 3, q, results) for q in ("1", "2")]
    # Each version runs one invocation: a third, through any version or alias, is refused.
    refusal = None
    while all(t.is_alive() for t in slow) and refusal is None:
        for qualifier in ("live", "2", "$LATEST"):
            try:
                invoke_json(lam, "shared", Qualifier=qualifier)
            except ClientError as err:
                refusal = err.response
                break
        time.sleep(0.05)
    assert refusal is not None, f"never throttled while both versions ran: {results}"
    assert refusal["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert refusal["Error"]["Code"] == "TooManyRequestsException"
    assert refusal["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    for thread in slow:
        thread.join()
    assert sorted(results) == ["1", "2"]
    # Room again once they are done.
    assert invoke_json(lam, "shared", Qualifier="live")[1] == "1"


def test_reservations_keep_the_minimum_unreserved(lam):
    create(lam, "big", {"app.py": SLEEPY})
    create(lam, "small", {"app.py": SLEEPY})
    with pytest.raises(ClientError) as exc:
        lam.put_function_concurrency(FunctionName="big", ReservedConcurrentExecutions=901)
    error = exc.value.response
    assert error["Error"]["Code"] == "InvalidParameterValueException"
    assert error["Error"]["Message"] == (
        "Specified ReservedConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [100].")
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName="big")
    lam.put_function_concurrency(FunctionName="big", ReservedConcurrentExecutions=900)
    settings = lam.get_account_settings()["AccountLimit"]
    assert settings["UnreservedConcurrentExecutions"] == 100
    with pytest.raises(ClientError) as exc:
        lam.put_function_concurrency(FunctionName="small", ReservedConcurrentExecutions=1)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValueException"
    # Changing the one reservation counts only the others.
    lam.put_function_concurrency(FunctionName="big", ReservedConcurrentExecutions=899)
    lam.put_function_concurrency(FunctionName="small", ReservedConcurrentExecutions=1)
    lam.delete_function_concurrency(FunctionName="big")
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 999
    # Functions without a reservation still run.
    assert invoke_json(lam, "big")[1] == "$LATEST"
