"""Python packages with compiled modules built for another interpreter or machine fail the
invoke with a Runtime.ImportModuleError naming the file and both ABIs."""

from __future__ import annotations

import platform

from lambda_helpers import _lambda_session_client, create, invoke_json, lam  # noqa: F401

HOST_ARCH = platform.machine()
OTHER_ARCH = "aarch64" if HOST_ARCH == "x86_64" else "x86_64"
IMPORTS_SPEEDUP = "import fastpkg._speedup\ndef handler(event, context):\n    return 'loaded'\n"


def interpreter_of(lam, name: str) -> tuple[int, int]:
    """The Python version nimbus runs `name` with, as the function itself reports it."""
    create(lam, name, {"app.py": "import sys\ndef handler(e, c):\n    return list(sys.version_info[:2])\n"})
    _, body = invoke_json(lam, name)
    return tuple(body)


def test_extension_for_another_python_version(lam):
    major, minor = interpreter_of(lam, "probe")
    so = f"fastpkg/_speedup.cpython-{major}{minor + 1}-{HOST_ARCH}-linux-gnu.so"
    create(lam, "wrongpy", {"app.py": IMPORTS_SPEEDUP, "fastpkg/__init__.py": "", so: b""})
    response, body = invoke_json(lam, "wrongpy")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    message = body["errorMessage"]
    assert message.startswith("Unable to import module 'app': ")
    assert so in message
    assert f"CPython {major}.{minor + 1} on {HOST_ARCH} (glibc)" in message
    assert f"runs on Python {major}.{minor}." in message


def test_extension_for_another_architecture_and_musl(lam):
    major, minor = interpreter_of(lam, "probe")
    so = f"fastpkg/_speedup.cpython-{major}{minor}-{OTHER_ARCH}-linux-gnu.so"
    create(lam, "wrongarch", {"app.py": IMPORTS_SPEEDUP, "fastpkg/__init__.py": "", so: b""})
    response, body = invoke_json(lam, "wrongarch")
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert f"on {OTHER_ARCH} (glibc)" in body["errorMessage"]

    wheel = "fastpkg-1.0.dist-info/WHEEL"
    tag = f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp{major}{minor}-cp{major}{minor}-musllinux_1_2_{HOST_ARCH}\n"
    create(lam, "musl", {"app.py": "def handler(e, c):\n    return 1\n", wheel: tag})
    response, body = invoke_json(lam, "musl")
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert "fastpkg-1.0.dist-info" in body["errorMessage"] and "(musl)" in body["errorMessage"]


def test_compatible_and_stable_abi_modules_are_accepted(lam):
    major, minor = interpreter_of(lam, "probe")
    wheel = "fastpkg-1.0.dist-info/WHEEL"
    files = {
        "app.py": "def handler(e, c):\n    return 'fine'\n",
        # Stable ABI from an older CPython, a matching build, and a pure wheel.
        wheel: f"Wheel-Version: 1.0\nTag: cp38-abi3-manylinux_2_17_{HOST_ARCH}\nTag: cp38-abi3-manylinux2014_{HOST_ARCH}\n",
        "other-2.0.dist-info/WHEEL": "Wheel-Version: 1.0\nTag: py3-none-any\n",
        f"fastpkg/_ok.cpython-{major}{minor}-{HOST_ARCH}-linux-gnu.so": b"",
        "fastpkg/_stable.abi3.so": b"",
    }
    create(lam, "fine", files)
    response, body = invoke_json(lam, "fine")
    assert "FunctionError" not in response, body
    assert body == "fine"
