"""nimbus's Python runtime client: speaks the Lambda Runtime API (2018-06-01) for one
instance. Resolves `_HANDLER`, builds the context object, reports errors in AWS's shape."""

import http.client
import importlib
import json
import logging
import os
import socket
import sys
import time
import traceback

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
BASE = "/2018-06-01/runtime"
_sock = None


def _connect():
    host, port = API.rsplit(":", 1)
    sock = socket.create_connection((host.strip("[]"), int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _request(method, path, body=None, headers=None):
    """One HTTP/1.1 exchange on the kept-alive connection. The request line, headers and
    body leave in one write (http.client sends the body in a second one)."""
    global _sock
    lines = ["%s %s%s HTTP/1.1" % (method, BASE, path), "Host: " + API]
    lines += ["%s: %s" % item for item in (headers or {}).items()]
    if body is not None:
        lines.append("Content-Length: %d" % len(body))
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
    for attempt in (0, 1):
        if _sock is None:
            _sock = _connect()
        try:
            _sock.sendall(data)
            response = http.client.HTTPResponse(_sock, method=method)
            response.begin()
            answer = response.read()
            if response.will_close:
                _sock.close()
                _sock = None
            return response, answer
        except (http.client.HTTPException, OSError):
            _sock.close()
            _sock = None
            if attempt:
                raise


def _error_body(exc, error_type=None):
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_list(frames),
    }


def _post_error(path, body, error_type):
    data = json.dumps(body).encode()
    _request("POST", path, data, {
        "Content-Type": "application/json",
        "Lambda-Runtime-Function-Error-Type": error_type,
    })


def _log_error(body):
    if JSON_FORMAT:
        entry = {"timestamp": _iso_now(), "level": "ERROR", "message": body["errorMessage"]}
        entry.update(body)
        entry["requestId"] = body.get("requestId") or None
        entry = {k: v for k, v in entry.items() if v is not None}
        sys.stdout.write(json.dumps(entry, default=str, ensure_ascii=False) + "\n")
        return
    trace = "".join(body.get("stackTrace") or [])
    message = "[ERROR] %s: %s" % (body["errorType"], body["errorMessage"])
    if trace:
        message += "\nTraceback (most recent call last):\n" + trace
    sys.stdout.write(message.replace("\n", "\r") + "\n")


def _init_failure(error_type, message, exc=None):
    body = {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": []}
    if exc is not None:
        body["stackTrace"] = traceback.format_list(traceback.extract_tb(exc.__traceback__))
    _log_error(body)
    _post_error("/init/error", body, error_type)
    sys.exit(1)


def _load_handler():
    spec = os.environ.get("_HANDLER", "")
    try:
        module_path, function_name = spec.rsplit(".", 1)
    except ValueError:
        _init_failure("Runtime.MalformedHandlerName", "Bad handler '%s': not enough values to unpack (expected 2, got 1)" % spec)
    module_name = module_path.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        _init_failure("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (module_path, exc), exc)
    except SyntaxError as exc:
        _init_failure("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (module_path, exc), exc)
    except Exception as exc:  # an error while the module runs its top level
        _init_failure(type(exc).__name__, str(exc), exc)
    handler = getattr(module, function_name, None)
    if handler is None:
        _init_failure("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (function_name, module_path))
    return handler


class CognitoIdentity:
    def __init__(self, data):
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")


class ClientContext:
    def __init__(self, data):
        self.client = data.get("client")
        self.custom = data.get("custom")
        self.env = data.get("env")


class LambdaContext:
    """The documented context object."""

    def __init__(self, request_id, deadline_ms, function_arn, client_context, identity):
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = ClientContext(client_context) if client_context else None
        self.identity = CognitoIdentity(identity or {})
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(int(self._deadline_ms - time.time() * 1000), 0)


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record):
        record.aws_request_id = _RequestIdFilter.request_id
        return True


JSON_FORMAT = os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"
# Python has no TRACE or FATAL: TRACE lets everything through, FATAL is CRITICAL.
_LEVELS = {"TRACE": 5, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
           "WARNING": logging.WARNING, "ERROR": logging.ERROR, "FATAL": logging.CRITICAL,
           "CRITICAL": logging.CRITICAL}
# Attributes every LogRecord has; anything else was passed with `extra=` and is logged too.
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "aws_request_id"}


def _iso_now(seconds=None):
    seconds = time.time() if seconds is None else seconds
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".%03dZ" % (int(seconds * 1000) % 1000)


class _JsonFormatter(logging.Formatter):
    """One JSON object per record, with the fields AWS's Python runtime writes."""

    def format(self, record):
        # Levels between the standard ones are reported as the standard one below them.
        levelno = min(50, max(0, record.levelno)) // 10 * 10
        entry = {
            "timestamp": _iso_now(record.created),
            "level": logging.getLevelName(levelno) if levelno else "TRACE",
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": getattr(record, "aws_request_id", None) or None,
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["errorType"] = record.exc_info[0].__name__
            entry["errorMessage"] = str(record.exc_info[1])
            entry["stackTrace"] = traceback.format_tb(record.exc_info[2])
            entry["location"] = "%s:%s:%s" % (record.pathname, record.funcName, record.lineno)
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in entry:
                entry[key] = value
        entry = {k: v for k, v in entry.items() if v is not None}
        return json.dumps(entry, default=str, ensure_ascii=False)


def _setup_logging():
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    if JSON_FORMAT:
        handler.setFormatter(_JsonFormatter())
        level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO").upper()
        root.setLevel(_LEVELS.get(level, logging.INFO))
    else:
        formatter = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
        root.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "WARNING").upper())
    root.handlers = [handler]


def _json_header(headers, name):
    value = headers.get(name)
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def main():
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    sys.path.insert(0, task_root)
    _setup_logging()
    handler = _load_handler()
    while True:
        response, body = _request("GET", "/invocation/next")
        headers = response.headers
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        trace_id = headers.get("Lambda-Runtime-Trace-Id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        _RequestIdFilter.request_id = request_id
        context = LambdaContext(
            request_id,
            int(headers.get("Lambda-Runtime-Deadline-Ms") or 0),
            headers.get("Lambda-Runtime-Invoked-Function-Arn"),
            _json_header(headers, "Lambda-Runtime-Client-Context"),
            _json_header(headers, "Lambda-Runtime-Cognito-Identity"),
        )
        try:
            event = json.loads(body) if body else {}
        except ValueError as exc:
            error = {"errorMessage": "Unable to parse input as json: %s" % exc,
                     "errorType": "Runtime.UnmarshalError", "requestId": request_id, "stackTrace": []}
            _log_error(error)
            _post_error("/invocation/%s/error" % request_id, error, "Runtime.UnmarshalError")
            continue
        try:
            result = handler(event, context)
        except Exception as exc:
            error = _error_body(exc)
            error["requestId"] = request_id
            _log_error(error)
            _post_error("/invocation/%s/error" % request_id, error, "Unhandled")
            continue
        try:
            data = json.dumps(result).encode()
        except (TypeError, ValueError) as exc:
            error = {"errorMessage": "Unable to marshal response: %s" % exc,
                     "errorType": "Runtime.MarshalError", "requestId": request_id, "stackTrace": []}
            _log_error(error)
            _post_error("/invocation/%s/error" % request_id, error, "Runtime.MarshalError")
            continue
        _request("POST", "/invocation/%s/response" % request_id, data,
                 {"Content-Type": "application/json"})


if __name__ == "__main__":
    main()
