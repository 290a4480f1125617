#!/usr/bin/env bash
# Deploys the pub/sub example with the aws CLI only: role, tables, topic, queues, functions,
# function URLs, subscriptions with filter policies and asynchronous invoke settings.
#
#   PUBSUB_ENDPOINT_URL   endpoint to deploy to (falls back to AWS_ENDPOINT_URL; unset = AWS)
#   PUBSUB_PREFIX         resource name prefix (default pubsub)
#   PUBSUB_ENVIRONMENT    the publisher's Environment attribute (default dev)
#   ORDER_SUBSCRIBER_BIN  the built Rust order subscriber (default: cargo build, debug profile)
#   PUBSUB_OUTPUT         file to write the deployment's outputs to (KEY=VALUE lines)
#   PUBSUB_SUBSCRIBER_CONCURRENCY  reserved concurrency of each subscriber (default 4)
#   PUBSUB_SDK_PYTHON     an interpreter whose boto3 (with its dependencies) is published as the
#                         layer $PUBSUB_PREFIX-sdk for the Python functions; unset = the runtime's
#                         own boto3 (AWS's Python runtimes include it)
#
# Prints the outputs (PUBLISHER_URL, TOPIC_ARN, DLQ_URL, …) as KEY=VALUE lines at the end.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
P="${PUBSUB_PREFIX:-pubsub}"
ENDPOINT="${PUBSUB_ENDPOINT_URL:-${AWS_ENDPOINT_URL:-}}"
BUILD="$(mktemp -d)"
trap 'rm -rf "$BUILD"' EXIT

aws() { command aws ${ENDPOINT:+--endpoint-url "$ENDPOINT"} "$@"; }
say() { printf '==> %s\n' "$*" >&2; }

# zip_flat OUT FILE...: a zip with the files at its root, unix modes kept (bootstrap is +x).
zip_flat() {
  python3 - "$@" <<'PY'
import os, sys, zipfile
out, files = sys.argv[1], sys.argv[2:]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
    for path in files:
        info = zipfile.ZipInfo(os.path.basename(path))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = (os.stat(path).st_mode & 0xFFFF) << 16
        with open(path, "rb") as f:
            archive.writestr(info, f.read())
PY
}

# ---- role ------------------------------------------------------------------------------------
say "role $P-function-role"
ROLE_ARN="$(aws iam get-role --role-name "$P-function-role" --query Role.Arn --output text 2>/dev/null || true)"
if [ -z "$ROLE_ARN" ] || [ "$ROLE_ARN" = None ]; then
  ROLE_ARN="$(aws iam create-role --role-name "$P-function-role" --query Role.Arn --output text \
    --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}')"
fi
aws iam put-role-policy --role-name "$P-function-role" --policy-name "$P-access" \
  --policy-document '{"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"},
    {"Effect":"Allow","Action":["sns:Publish"],"Resource":"*"},
    {"Effect":"Allow","Action":["sqs:SendMessage"],"Resource":"*"},
    {"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem","dynamodb:UpdateItem","dynamodb:Query"],"Resource":"*"}]}'

# ---- tables ----------------------------------------------------------------------------------
create_table() { # NAME KEY...
  local name="$1"; shift
  local defs=() schema=() kind=HASH
  for key in "$@"; do
    defs+=("AttributeName=$key,AttributeType=S"); schema+=("AttributeName=$key,KeyType=$kind"); kind=RANGE
  done
  if ! aws dynamodb describe-table --table-name "$name" >/dev/null 2>&1; then
    say "table $name"
    aws dynamodb create-table --table-name "$name" --billing-mode PAY_PER_REQUEST \
      --attribute-definitions "${defs[@]}" --key-schema "${schema[@]}" >/dev/null
  fi
  aws dynamodb wait table-exists --table-name "$name"
}
create_table "$P-idempotency" pk
create_table "$P-audit" pk sk
create_table "$P-breaker" pk sk

# ---- topic and queues ------------------------------------------------------------------------
say "topic $P-events, queues $P-dlq and $P-notifications-success"
TOPIC_ARN="$(aws sns create-topic --name "$P-events" --query TopicArn --output text)"
queue_arn() {
  aws sqs get-queue-attributes --queue-url "$1" --attribute-names QueueArn --query Attributes.QueueArn --output text
}
DLQ_URL="$(aws sqs create-queue --queue-name "$P-dlq" --attributes MessageRetentionPeriod=1209600 --query QueueUrl --output text)"
DLQ_ARN="$(queue_arn "$DLQ_URL")"
SUCCESS_URL="$(aws sqs create-queue --queue-name "$P-notifications-success" --query QueueUrl --output text)"
SUCCESS_ARN="$(queue_arn "$SUCCESS_URL")"

# ---- functions -------------------------------------------------------------------------------
# deploy_function NAME RUNTIME HANDLER ZIP ENVIRONMENT [EXTRA create-function ARGS...]
deploy_function() {
  local name="$1" runtime="$2" handler="$3" zip="$4" environment="$5"; shift 5
  if aws lambda get-function --function-name "$name" >/dev/null 2>&1; then
    say "function $name (update)"
    aws lambda update-function-code --function-name "$name" --zip-file "fileb://$zip" >/dev/null
    aws lambda wait function-updated --function-name "$name"
    aws lambda update-function-configuration --function-name "$name" --environment "$environment" "$@" >/dev/null
  else
    say "function $name"
    # A new role may take a few seconds to be assumable by Lambda on AWS.
    local tries=0
    until aws lambda create-function --function-name "$name" --runtime "$runtime" --handler "$handler" \
        --role "$ROLE_ARN" --zip-file "fileb://$zip" --timeout 10 --memory-size 256 \
        --environment "$environment" "$@" >/dev/null; do
      tries=$((tries + 1)); [ "$tries" -lt 10 ] || return 1; sleep 3
    done
  fi
  aws lambda wait function-active-v2 --function-name "$name"
}

python_zip() { # NAME DIR
  zip_flat "$BUILD/$1.zip" "$HERE/functions/$2"/*.py "$HERE/functions/common/pubsub_common.py"
  printf '%s' "$BUILD/$1.zip"
}

ORDER_BIN="${ORDER_SUBSCRIBER_BIN:-}"
if [ -z "$ORDER_BIN" ]; then
  say "cargo build -p pubsub-rust-subscribers"
  (cd "$HERE/../.." && cargo build -q -p pubsub-rust-subscribers --bin pubsub-order-subscriber)
  ORDER_BIN="${CARGO_TARGET_DIR:-$HERE/../../target}/debug/pubsub-order-subscriber"
fi
# Debug builds carry hundreds of MB of debug info; Lambda takes 250 MB unzipped at most.
if command -v strip >/dev/null 2>&1; then
  strip -o "$BUILD/bootstrap" "$ORDER_BIN"
else
  cp "$ORDER_BIN" "$BUILD/bootstrap"
fi
chmod 755 "$BUILD/bootstrap"
zip_flat "$BUILD/orders.zip" "$BUILD/bootstrap"

# sdk_layer PYTHON: publishes PYTHON's boto3 and its dependencies as a layer, prints its ARN.
# The modules are compiled ahead (hash-checked .pyc, valid whatever the unpacked files' times):
# a runtime that writes no bytecode would otherwise compile botocore at every cold start.
sdk_layer() {
  say "layer $P-sdk (boto3 of $1)"
  "$1" - "$BUILD/sdk" <<'PY'
import compileall, importlib, os, py_compile, shutil, sys, zipfile
target = os.path.join(sys.argv[1], "python")
os.makedirs(target)
for name in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"):
    try:
        module = importlib.import_module(name)
    except ImportError:
        continue  # not a dependency of this boto3 version
    path = module.__file__
    if os.path.basename(path) == "__init__.py":
        shutil.copytree(os.path.dirname(path), os.path.join(target, name),
                        ignore=shutil.ignore_patterns("__pycache__"))
    else:
        shutil.copy(path, target)
compileall.compile_dir(target, quiet=1, workers=0,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
with zipfile.ZipFile(sys.argv[1] + ".zip", "w", zipfile.ZIP_DEFLATED) as archive:
    for folder, _, files in os.walk(target):
        for file in sorted(files):
            full = os.path.join(folder, file)
            archive.write(full, os.path.relpath(full, sys.argv[1]))
PY
  aws lambda publish-layer-version --layer-name "$P-sdk" --zip-file "fileb://$BUILD/sdk.zip" \
    --compatible-runtimes python3.12 --query LayerVersionArn --output text
}
PYTHON_LAYERS=()
if [ -n "${PUBSUB_SDK_PYTHON:-}" ]; then
  PYTHON_LAYERS=(--layers "$(sdk_layer "$PUBSUB_SDK_PYTHON")")
fi

TABLES="IDEMPOTENCY_TABLE=$P-idempotency,AUDIT_TABLE=$P-audit"
DLQ_CONFIG="TargetArn=$DLQ_ARN"

deploy_function "$P-downstream" python3.12 app.handler "$(python_zip downstream downstream)" \
  "Variables={FAILURE_RATE=${PUBSUB_DOWNSTREAM_FAILURE_RATE:-0}}" ${PYTHON_LAYERS[@]+"${PYTHON_LAYERS[@]}"}

# function_url NAME: the function's public URL (AuthType NONE, invokable by anyone).
function_url() {
  local url
  url="$(aws lambda get-function-url-config --function-name "$1" --query FunctionUrl --output text 2>/dev/null || true)"
  if [ -z "$url" ] || [ "$url" = None ]; then
    url="$(aws lambda create-function-url-config --function-name "$1" --auth-type NONE --query FunctionUrl --output text)"
    aws lambda add-permission --function-name "$1" --statement-id public-url \
      --action lambda:InvokeFunctionUrl --principal '*' --function-url-auth-type NONE >/dev/null
  fi
  printf '%s' "$url"
}
DOWNSTREAM_URL="$(function_url "$P-downstream")"

deploy_function "$P-publisher" python3.12 app.handler "$(python_zip publisher publisher)" \
  "Variables={TOPIC_ARN=$TOPIC_ARN,ENVIRONMENT=${PUBSUB_ENVIRONMENT:-dev}}" ${PYTHON_LAYERS[@]+"${PYTHON_LAYERS[@]}"}
PUBLISHER_URL="$(function_url "$P-publisher")"

deploy_function "$P-notifications" python3.12 app.handler "$(python_zip notifications notifications)" \
  "Variables={$TABLES}" --dead-letter-config "$DLQ_CONFIG" ${PYTHON_LAYERS[@]+"${PYTHON_LAYERS[@]}"}
deploy_function "$P-payments" python3.12 app.handler "$(python_zip payments payments)" \
  "Variables={$TABLES,BREAKER_TABLE=$P-breaker,DOWNSTREAM_URL=$DOWNSTREAM_URL,BREAKER_OPEN_SECONDS=${PUBSUB_BREAKER_OPEN_SECONDS:-10}}" \
  --dead-letter-config "$DLQ_CONFIG" ${PYTHON_LAYERS[@]+"${PYTHON_LAYERS[@]}"}
deploy_function "$P-orders" provided.al2023 bootstrap "$BUILD/orders.zip" \
  "Variables={$TABLES}" --dead-letter-config "$DLQ_CONFIG"

# ---- asynchronous invocation: 2 retries, then the DLQ; notifications' successes recorded -----
say "event invoke configs"
for fn in orders payments; do
  aws lambda put-function-event-invoke-config --function-name "$P-$fn" --maximum-retry-attempts 2 >/dev/null
done
aws lambda put-function-event-invoke-config --function-name "$P-notifications" --maximum-retry-attempts 2 \
  --destination-config "{\"OnSuccess\":{\"Destination\":\"$SUCCESS_ARN\"}}" >/dev/null

# ---- reserved concurrency: a burst queues its events instead of starting an instance per event,
# which would swamp the downstream (and, on a small host, the CPU) with cold starts -----------
for fn in orders notifications payments; do
  aws lambda put-function-concurrency --function-name "$P-$fn" \
    --reserved-concurrent-executions "${PUBSUB_SUBSCRIBER_CONCURRENCY:-4}" >/dev/null
done

# ---- subscriptions with filter policies ------------------------------------------------------
# subscribe NAME POLICY: the function subscribed to the topic, allowed to be invoked by it.
subscribe() {
  local name="$1" policy="$2" arn
  arn="$(aws lambda get-function --function-name "$name" --query Configuration.FunctionArn --output text)"
  aws lambda add-permission --function-name "$name" --statement-id "$P-topic" \
    --action lambda:InvokeFunction --principal sns.amazonaws.com --source-arn "$TOPIC_ARN" >/dev/null 2>&1 || true
  local existing
  existing="$(aws sns list-subscriptions-by-topic --topic-arn "$TOPIC_ARN" \
    --query "Subscriptions[?Endpoint=='$arn'].SubscriptionArn | [0]" --output text)"
  if [ -z "$existing" ] || [ "$existing" = None ]; then
    existing="$(aws sns subscribe --topic-arn "$TOPIC_ARN" --protocol lambda --notification-endpoint "$arn" \
      --return-subscription-arn --query SubscriptionArn --output text)"
  fi
  aws sns set-subscription-attributes --subscription-arn "$existing" \
    --attribute-name FilterPolicy --attribute-value "$policy"
}
say "subscriptions"
subscribe "$P-orders" '{"MessageType":["order"]}'
subscribe "$P-notifications" '{"MessageType":["notification","poison"]}'
subscribe "$P-payments" '{"MessageType":["payment"]}'

outputs="PUBLISHER_URL=$PUBLISHER_URL
DOWNSTREAM_URL=$DOWNSTREAM_URL
TOPIC_ARN=$TOPIC_ARN
DLQ_URL=$DLQ_URL
SUCCESS_QUEUE_URL=$SUCCESS_URL
IDEMPOTENCY_TABLE=$P-idempotency
AUDIT_TABLE=$P-audit
BREAKER_TABLE=$P-breaker
FUNCTIONS=$P-publisher $P-orders $P-notifications $P-payments $P-downstream"
[ -z "${PUBSUB_OUTPUT:-}" ] || printf '%s\n' "$outputs" >"$PUBSUB_OUTPUT"
printf '%s\n' "$outputs"
