"""An idle server writes nothing: the background sweeps (SQS retention and deduplication ids,
DynamoDB stream retention and TTL) look before they write, so a sweep with nothing to delete
makes no commit. Commits are counted from /_nimbus/metrics while the test clock moves."""

from __future__ import annotations

import re
import time

from ddb_helpers import create_table
from nimbus_harness import wait_for


def commits(nimbus) -> float:
    match = re.search(r"^nimbus_store_commit_batch_size_count (\S+)$", nimbus.metrics(), re.M)
    assert match, "commit counter missing from /_nimbus/metrics"
    return float(match.group(1))


def test_sweeps_with_nothing_to_delete_do_not_commit(nimbus, sqs, clock):
    ddb = nimbus.client("dynamodb")
    create_table(
        ddb, "idle", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )
    ddb.update_time_to_live(
        TableName="idle", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
    )
    now = clock.now_ms() // 1000
    ddb.put_item(TableName="idle", Item={"pk": {"S": "a"}, "exp": {"N": str(now + 3600)}})
    url = sqs.create_queue(QueueName="idle", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="kept for a minute")
    fifo = sqs.create_queue(
        QueueName="idle.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    sqs.send_message(QueueUrl=fifo, MessageBody="deduplicated for five minutes", MessageGroupId="g")

    before = commits(nimbus)
    for _ in range(5):
        clock.advance(1)
        time.sleep(0.3)
    assert commits(nimbus) == before, "a sweep with nothing to delete committed"

    # The sweep still deletes what is due: the first queue's message passes its retention.
    clock.advance(60)

    def retained():
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return attributes["ApproximateNumberOfMessages"]

    wait_for(lambda: retained() == "0", what="the retention sweep to delete the message")
    assert commits(nimbus) > before
