// nimbus's Node.js runtime client: speaks the Lambda Runtime API (2018-06-01) for one
// instance. Resolves `_HANDLER` (CommonJS or ES module), supports async and callback
// handlers, builds the context object, reports errors in AWS's shape.
"use strict";

const http = require("http");
const fs = require("fs");
const path = require("path");
const util = require("util");
const { pathToFileURL } = require("url");

const [HOST, PORT] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const BASE = "/2018-06-01/runtime";
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let currentRequestId = "";

// A body goes out with its length and in the same write as the headers: one segment per
// request, where a chunked body would take a second one for its terminating chunk.
function request(method, urlPath, body, headers) {
  const data = body === undefined ? undefined : Buffer.from(body);
  const sent = Object.assign({}, headers);
  if (data !== undefined) sent["Content-Length"] = data.length;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: HOST, port: PORT, method, path: BASE + urlPath, agent, headers: sent },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

function errorBody(err) {
  if (err instanceof Error) {
    return {
      errorType: err.name || "Error",
      errorMessage: err.message,
      trace: typeof err.stack === "string" ? err.stack.split("\n") : [],
    };
  }
  return { errorType: "string", errorMessage: String(err), trace: [] };
}

const JSON_FORMAT = (process.env.AWS_LAMBDA_LOG_FORMAT || "").toUpperCase() === "JSON";
const LEVELS = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };
// With the JSON format, records below the application log level are dropped.
const minimumLevel = JSON_FORMAT ? LEVELS[(process.env.AWS_LAMBDA_LOG_LEVEL || "INFO").toUpperCase()] || LEVELS.INFO : 0;

function errorFields(err) {
  return {
    errorType: (err.constructor && err.constructor.name) || err.name || "Error",
    errorMessage: err.message,
    stackTrace: typeof err.stack === "string" ? err.stack.split("\n") : [],
  };
}

// Errors nested in a logged value become their three documented fields.
function jsonReplacer(_key, value) {
  return value instanceof Error ? Object.assign(errorFields(value), value) : value;
}

function jsonLine(level, args) {
  const entry = { timestamp: new Date().toISOString(), level, requestId: currentRequestId };
  if (args.length === 1) {
    entry.message = args[0];
    try {
      return JSON.stringify(entry, jsonReplacer);
    } catch (_) {
      entry.message = util.format(args[0]); // circular or otherwise unserializable
      return JSON.stringify(entry);
    }
  }
  entry.message = util.format(...args);
  const err = args.find((a) => a instanceof Error);
  if (err) Object.assign(entry, errorFields(err));
  return JSON.stringify(entry);
}

function writeLine(level, args) {
  if (JSON_FORMAT) {
    if (LEVELS[level] < minimumLevel) return;
    process.stdout.write(jsonLine(level, args) + "\n");
    return;
  }
  const text = util.format(...args).replace(/\n/g, "\r");
  process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${text}\n`);
}

// An error the runtime reports itself ("Invoke Error", "Uncaught Exception").
function logRuntimeError(label, body) {
  if (JSON_FORMAT) {
    const entry = { timestamp: new Date().toISOString(), level: "ERROR", requestId: currentRequestId, message: label };
    Object.assign(entry, { errorType: body.errorType, errorMessage: body.errorMessage, stackTrace: body.trace });
    process.stdout.write(JSON.stringify(entry) + "\n");
    return;
  }
  writeLine("ERROR", [`${label} \t${JSON.stringify(body)}`]);
}

console.log = (...a) => writeLine("INFO", a);
console.info = (...a) => writeLine("INFO", a);
console.warn = (...a) => writeLine("WARN", a);
console.error = (...a) => writeLine("ERROR", a);
console.debug = (...a) => writeLine("DEBUG", a);
console.trace = (...a) => writeLine("TRACE", a);
console.fatal = (...a) => writeLine("FATAL", a);

function postError(urlPath, body, type) {
  return request("POST", urlPath, JSON.stringify(body), {
    "Content-Type": "application/json",
    "Lambda-Runtime-Function-Error-Type": type,
  });
}

async function initFailure(type, message, err) {
  const body = { errorType: type, errorMessage: message, trace: err && err.stack ? err.stack.split("\n") : [] };
  logRuntimeError("Uncaught Exception", body);
  await postError("/init/error", body, type);
  process.exit(1);
}

function isEsm(file) {
  if (file.endsWith(".mjs")) return true;
  if (file.endsWith(".cjs")) return false;
  let dir = path.dirname(file);
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      try {
        return JSON.parse(fs.readFileSync(pkg, "utf8")).type === "module";
      } catch (_) {
        return false;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}

async function loadHandler() {
  const spec = process.env._HANDLER || "";
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const dot = spec.lastIndexOf(".");
  if (dot <= 0) {
    return initFailure("Runtime.MalformedHandlerName", "Bad handler", null);
  }
  const modulePath = spec.slice(0, dot);
  const names = spec.slice(dot + 1).split(".");
  const base = path.resolve(root, modulePath);
  const file = [".js", ".mjs", ".cjs"].map((ext) => base + ext).find((f) => fs.existsSync(f));
  if (!file) {
    return initFailure("Runtime.ImportModuleError",
      `Error: Cannot find module '${modulePath}'`, null);
  }
  let mod;
  try {
    mod = isEsm(file) ? await import(pathToFileURL(file).href) : require(file);
  } catch (err) {
    if (err instanceof SyntaxError) {
      return initFailure("Runtime.UserCodeSyntaxError", `${err.name}: ${err.message}`, err);
    }
    return initFailure(err && err.name ? err.name : "Runtime.ImportModuleError", String(err && err.message), err);
  }
  let handler = mod;
  for (const name of names) {
    handler = handler == null ? undefined : handler[name];
  }
  if (handler === undefined && mod && mod.default) {
    handler = names.reduce((h, n) => (h == null ? undefined : h[n]), mod.default);
  }
  if (typeof handler !== "function") {
    return initFailure("Runtime.HandlerNotFound", `${modulePath}.${names.join(".")} is undefined or not exported`, null);
  }
  return handler;
}

function runHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err);
      else resolve(result);
    };
    context.succeed = (r) => callback(null, r);
    context.fail = (e) => callback(e instanceof Error ? e : new Error(String(e)));
    context.done = callback;
    let returned;
    try {
      returned = handler(event, context, callback);
    } catch (err) {
      callback(err);
      return;
    }
    if (returned && typeof returned.then === "function") {
      returned.then((r) => callback(null, r), (e) => callback(e === undefined || e === null ? new Error(String(e)) : e));
    } else if (handler.length < 3 && !settled) {
      // A synchronous handler without a callback parameter answers with its return value.
      callback(null, returned);
    }
  });
}

async function main() {
  const handler = await loadHandler();
  for (;;) {
    const next = await request("GET", "/invocation/next");
    const h = next.headers;
    const requestId = h["lambda-runtime-aws-request-id"] || "";
    currentRequestId = requestId;
    if (h["lambda-runtime-trace-id"]) process.env._X_AMZN_TRACE_ID = h["lambda-runtime-trace-id"];
    const deadline = Number(h["lambda-runtime-deadline-ms"] || 0);
    const parseHeader = (name) => {
      try {
        return h[name] ? JSON.parse(h[name]) : undefined;
      } catch (_) {
        return undefined;
      }
    };
    const context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      invokedFunctionArn: h["lambda-runtime-invoked-function-arn"],
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      awsRequestId: requestId,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      identity: parseHeader("lambda-runtime-cognito-identity"),
      clientContext: parseHeader("lambda-runtime-client-context"),
      getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
    };
    let event;
    try {
      event = next.body.length ? JSON.parse(next.body.toString("utf8")) : {};
    } catch (err) {
      await postError(`/invocation/${requestId}/error`, errorBody(err), "Runtime.UnmarshalError");
      continue;
    }
    try {
      const result = await runHandler(handler, event, context);
      const body = result === undefined ? "null" : JSON.stringify(result);
      await request("POST", `/invocation/${requestId}/response`, body, { "Content-Type": "application/json" });
    } catch (err) {
      const body = errorBody(err);
      logRuntimeError("Invoke Error", body);
      await postError(`/invocation/${requestId}/error`, body, "Unhandled");
    }
  }
}

process.on("uncaughtException", (err) => {
  logRuntimeError("Uncaught Exception", errorBody(err));
  process.exit(129);
});

main();
