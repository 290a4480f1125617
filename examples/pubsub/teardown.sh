#!/usr/bin/env bash
# Removes everything deploy.sh created (same PUBSUB_ENDPOINT_URL / PUBSUB_PREFIX). Resources
# already gone are skipped, so it can be run again after a partial deployment.
set -uo pipefail

P="${PUBSUB_PREFIX:-pubsub}"
ENDPOINT="${PUBSUB_ENDPOINT_URL:-${AWS_ENDPOINT_URL:-}}"
aws() { command aws ${ENDPOINT:+--endpoint-url "$ENDPOINT"} "$@"; }
say() { printf '==> %s\n' "$*" >&2; }

TOPIC_ARN="$(aws sns list-topics --query "Topics[?ends_with(TopicArn, ':$P-events')].TopicArn | [0]" --output text 2>/dev/null)"
if [ -n "$TOPIC_ARN" ] && [ "$TOPIC_ARN" != None ]; then
  say "subscriptions and topic $TOPIC_ARN"
  for sub in $(aws sns list-subscriptions-by-topic --topic-arn "$TOPIC_ARN" --query 'Subscriptions[].SubscriptionArn' --output text); do
    aws sns unsubscribe --subscription-arn "$sub"
  done
  aws sns delete-topic --topic-arn "$TOPIC_ARN"
fi

for fn in publisher orders notifications payments downstream; do
  if aws lambda get-function --function-name "$P-$fn" >/dev/null 2>&1; then
    say "function $P-$fn"
    aws lambda delete-function-url-config --function-name "$P-$fn" >/dev/null 2>&1
    aws lambda delete-function-event-invoke-config --function-name "$P-$fn" >/dev/null 2>&1
    aws lambda delete-function --function-name "$P-$fn"
    aws logs delete-log-group --log-group-name "/aws/lambda/$P-$fn" >/dev/null 2>&1
  fi
done

for version in $(aws lambda list-layer-versions --layer-name "$P-sdk" --query 'LayerVersions[].Version' --output text 2>/dev/null); do
  say "layer $P-sdk version $version"
  aws lambda delete-layer-version --layer-name "$P-sdk" --version-number "$version"
done

for queue in dlq notifications-success; do
  url="$(aws sqs get-queue-url --queue-name "$P-$queue" --query QueueUrl --output text 2>/dev/null)"
  if [ -n "$url" ]; then
    say "queue $P-$queue"
    aws sqs delete-queue --queue-url "$url"
  fi
done

for table in idempotency audit breaker; do
  if aws dynamodb describe-table --table-name "$P-$table" >/dev/null 2>&1; then
    say "table $P-$table"
    aws dynamodb delete-table --table-name "$P-$table" >/dev/null
  fi
done

if aws iam get-role --role-name "$P-function-role" >/dev/null 2>&1; then
  say "role $P-function-role"
  aws iam delete-role-policy --role-name "$P-function-role" --policy-name "$P-access" 2>/dev/null
  aws iam delete-role --role-name "$P-function-role"
fi
say "done"
