"""DynamoDB Streams → Lambda through an event source mapping: mapping settings and their
checks, the record format, order, retries that block the shard, bisection, partial batch
responses, filters and the on-failure destination.
https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from ddb_esm_helpers import keys_seen, stream_batches, stream_mapped, stream_recorder, stream_table
from ddb_helpers import *  # noqa: F401,F403
from esm_helpers import queue_arn, unvalidated_lambda, wait_state
from lambda_helpers import _lambda_session_client, lam  # noqa: F401
from nimbus_harness import wait_for
from sns_helpers import receive_all, subscribed_queue


def error_of(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_mapping_settings_are_kept_and_answered(lam, ddb, sqs, queue):
    stream_recorder(lam)
    arn = stream_table(ddb)
    mapping = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName="worker", StartingPosition="LATEST", BatchSize=500,
        MaximumBatchingWindowInSeconds=2, ParallelizationFactor=3, BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=4, MaximumRecordAgeInSeconds=120,
        DestinationConfig={"OnFailure": {"Destination": queue_arn(sqs, queue)}},
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    assert mapping["State"] == "Creating"
    assert mapping["StartingPosition"] == "LATEST"
    assert mapping["BatchSize"] == 500 and mapping["MaximumBatchingWindowInSeconds"] == 2
    assert mapping["ParallelizationFactor"] == 3 and mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == 4 and mapping["MaximumRecordAgeInSeconds"] == 120
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": queue_arn(sqs, queue)}}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    wait_state(lam, mapping["UUID"], "Enabled")
    updated = lam.update_event_source_mapping(UUID=mapping["UUID"], MaximumRetryAttempts=-1, BatchSize=50)
    assert updated["MaximumRetryAttempts"] == -1 and updated["BatchSize"] == 50
    assert updated["StartingPosition"] == "LATEST"
    assert [m["UUID"] for m in lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]] == [
        mapping["UUID"]
    ]
    code, message = error_of(lam.create_event_source_mapping, EventSourceArn=arn, FunctionName="worker",
                             StartingPosition="LATEST")
    assert code == "ResourceConflictException" and mapping["UUID"] in message
    lam.delete_event_source_mapping(UUID=mapping["UUID"])


def test_stream_defaults(lam, ddb):
    stream_recorder(lam)
    arn = stream_table(ddb)
    uuid = stream_mapped(lam, arn)
    mapping = lam.get_event_source_mapping(UUID=uuid)
    assert mapping["BatchSize"] == 100
    assert mapping["MaximumRetryAttempts"] == -1 and mapping["MaximumRecordAgeInSeconds"] == -1
    assert mapping["ParallelizationFactor"] == 1 and mapping["BisectBatchOnFunctionError"] is False


@pytest.mark.parametrize(
    "extra, fragment",
    [
        ({}, "startingPosition"),
        ({"StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": 1}, "StartingPositionTimestamp"),
        ({"StartingPosition": "AT_TIMESTAMP"}, "AT_TIMESTAMP"),
        ({"StartingPosition": "LATEST", "BatchSize": 10001}, "Batch size"),
        ({"StartingPosition": "LATEST", "ParallelizationFactor": 11}, "ParallelizationFactor"),
        ({"StartingPosition": "LATEST", "MaximumRetryAttempts": -2}, "MaximumRetryAttempts"),
        ({"StartingPosition": "LATEST", "MaximumRecordAgeInSeconds": 59}, "MaximumRecordAgeInSeconds"),
        ({"StartingPosition": "LATEST", "ScalingConfig": {"MaximumConcurrency": 5}}, "ScalingConfig"),
        ({"StartingPosition": "LATEST", "Queues": ["q"]}, "Queues"),
        ({"StartingPosition": "LATEST", "TumblingWindowInSeconds": 60}, "TumblingWindowInSeconds"),
        ({"StartingPosition": "LATEST",
          "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:s3:::bucket"}}}, "destination"),
        ({"StartingPosition": "LATEST",
          "DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:000000000000:q"}}},
         "OnSuccess"),
    ],
)
def test_invalid_stream_settings_are_refused(nimbus, lam, ddb, extra, fragment):
    stream_recorder(lam)
    arn = stream_table(ddb)
    raw = unvalidated_lambda(nimbus)
    code, message = error_of(raw.create_event_source_mapping, EventSourceArn=arn, FunctionName="worker", **extra)
    assert code in ("InvalidParameterValueException", "ValidationException"), (code, message)
    assert fragment.lower().replace(" ", "") in message.lower().replace(" ", ""), message
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []


def test_missing_stream_is_refused(lam, ddb):
    stream_recorder(lam)
    arn = stream_table(ddb)
    ddb.delete_table(TableName="orders")
    code, message = error_of(lam.create_event_source_mapping, EventSourceArn=arn, FunctionName="worker",
                             StartingPosition="TRIM_HORIZON")
    assert code == "InvalidParameterValueException" and "Stream not found" in message


def test_client_refuses_a_wrong_starting_position_type(lam, ddb):
    arn = stream_table(ddb)
    with pytest.raises(ParamValidationError):
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="worker", StartingPosition=3)


def test_insert_modify_remove_reach_the_function(nimbus, lam, ddb):
    stream_recorder(lam)
    logs = nimbus.client("logs")
    arn = stream_table(ddb)
    stream_mapped(lam, arn)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "v": {"N": "2"}})
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "a"}})
    records = wait_for(lambda: [r for b in stream_batches(logs) for r in b] if len(keys_seen(logs)) >= 3 else None,
                       what="three records")
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = records
    for record in records:
        assert set(record) == {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
                               "eventSourceARN"}
        assert record["eventVersion"] == "1.1" and record["eventSource"] == "aws:dynamodb"
        assert record["awsRegion"] == "us-east-1" and record["eventSourceARN"] == arn
        assert record["dynamodb"]["Keys"] == {"pk": {"S": "a"}}
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], (int, float))
        assert isinstance(record["dynamodb"]["SizeBytes"], int) and record["dynamodb"]["SizeBytes"] > 0
    assert insert["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    assert "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    assert modify["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "v": {"N": "2"}}
    assert remove["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "v": {"N": "2"}}
    assert "NewImage" not in remove["dynamodb"]
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence) and len(set(sequence)) == 3
    # The same records GetRecords serves.
    streams = nimbus.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    served = streams.get_records(ShardIterator=it["ShardIterator"])["Records"]
    assert [r["eventID"] for r in served] == [r["eventID"] for r in records]


def test_order_is_kept_per_key(nimbus, lam, ddb):
    stream_recorder(lam)
    logs = nimbus.client("logs")
    arn = stream_table(ddb)
    stream_mapped(lam, arn, BatchSize=3, ParallelizationFactor=4)
    for i in range(12):
        ddb.put_item(TableName="orders", Item={"pk": {"S": f"k{i % 3}"}, "n": {"N": str(i)}})
    wait_for(lambda: len(keys_seen(logs)) >= 12, what="twelve records")
    records = [r for b in stream_batches(logs) for r in b]
    for key in ("k0", "k1", "k2"):
        numbers = [int(r["dynamodb"]["NewImage"]["n"]["N"]) for r in records if r["dynamodb"]["Keys"]["pk"]["S"] == key]
        assert numbers == sorted(numbers) and len(numbers) == 4


def test_latest_skips_earlier_records(nimbus, lam, ddb):
    stream_recorder(lam)
    logs = nimbus.client("logs")
    arn = stream_table(ddb)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "before"}})
    stream_mapped(lam, arn, StartingPosition="LATEST")
    ddb.put_item(TableName="orders", Item={"pk": {"S": "after"}})
    wait_for(lambda: keys_seen(logs), what="a record")
    assert keys_seen(logs) == ["after"]


def test_failed_batches_go_to_the_on_failure_queue(nimbus, lam, ddb, sqs, queue):
    stream_recorder(lam, "failing", mode="raise")
    logs = nimbus.client("logs")
    arn = stream_table(ddb)
    stream_mapped(lam, arn, "failing", MaximumRetryAttempts=1,
                  DestinationConfig={"OnFailure": {"Destination": queue_arn(sqs, queue)}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "b"}})

    def failure_record():
        got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages")
        return json.loads(got[0]["Body"]) if got else None

    record = wait_for(failure_record, timeout=20, what="the failure record")
    # One try and one retry, each with both records.
    wait_for(lambda: [len(b) for b in stream_batches(logs, "failing")] == [2, 2], what="both attempts")
    assert record["version"] == "1.0"
    context = record["requestContext"]
    assert context["condition"] == "RetryAttemptsExhausted" and context["approximateInvokeCount"] == 2
    assert context["functionArn"].endswith(":function:failing")
    assert record["responseContext"]["functionError"] == "Unhandled"
    info = record["DDBStreamBatchInfo"]
    served = [r for b in stream_batches(logs, "failing") for r in b]
    assert info["batchSize"] == 2 and info["streamArn"] == arn
    assert info["shardId"].startswith("shardId-")
    assert info["startSequenceNumber"] == served[0]["dynamodb"]["SequenceNumber"]
    assert info["endSequenceNumber"] == served[1]["dynamodb"]["SequenceNumber"]
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")
    # Then the shard moves on.
    ddb.put_item(TableName="orders", Item={"pk": {"S": "c"}})
    wait_for(lambda: "c" in keys_seen(logs, "failing"), what="the next record")


def test_bisection_isolates_a_poison_record(nimbus, lam, ddb, sqs, queue):
    stream_recorder(lam, mode="poison")
    logs = nimbus.client("logs")
    arn = stream_table(ddb)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "b"}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "c"}, "fail": {"BOOL": True}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "d"}})
    stream_mapped(lam, arn, BisectBatchOnFunctionError=True, MaximumRetryAttempts=0,
                  DestinationConfig={"OnFailure": {"Destination": queue_arn(sqs, queue)}})

    def failure_record():
        got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages")
        return json.loads(got[0]["Body"]) if got else None

    record = wait_for(failure_record, timeout=20, what="the failure record")
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    # The batch is halved until the poison record fails alone; the others succeed.
    expected = [["a", "b", "c", "d"], ["a", "b"], ["c", "d"], ["c"], ["d"]]
    wait_for(lambda: [[r["dynamodb"]["Keys"]["pk"]["S"] for r in b] for b in stream_batches(logs)] == expected,
             what="the halved batches")


def test_partial_batch_response_checkpoints_at_the_failed_record(nimbus, lam, ddb):
    stream_recorder(lam, mode="partial")
    logs = nimbus.client("logs")
    arn = stream_table(ddb)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "b"}, "fail": {"BOOL": True}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "c"}})
    stream_mapped(lam, arn, FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=1)
    # b and everything after it are retried once; a is not. Then the shard moves on.
    expected = [["a", "b", "c"], ["b", "c"]]
    wait_for(lambda: [[r["dynamodb"]["Keys"]["pk"]["S"] for r in b] for b in stream_batches(logs)] == expected,
             what="the retry")
    ddb.put_item(TableName="orders", Item={"pk": {"S": "d"}})
    wait_for(lambda: "d" in keys_seen(logs), what="the next record")
    assert keys_seen(logs) == ["a", "b", "c", "b", "c", "d"]


def test_filters_on_event_name(nimbus, lam, ddb):
    stream_recorder(lam)
    logs = nimbus.client("logs")
    arn = stream_table(ddb)
    stream_mapped(lam, arn, FilterCriteria={"Filters": [{"Pattern": json.dumps({"eventName": ["REMOVE"]})}]})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "a"}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "z"}})
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "z"}})
    wait_for(lambda: len(keys_seen(logs)) >= 2, what="two removes")
    records = [r for b in stream_batches(logs) for r in b]
    assert [r["eventName"] for r in records] == ["REMOVE", "REMOVE"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["a", "z"]


def test_records_past_their_maximum_age_are_given_up(nimbus, lam, ddb, sqs, queue, clock):
    stream_recorder(lam, "aging", mode="raise")
    logs = nimbus.client("logs")
    arn = stream_table(ddb)
    stream_mapped(lam, arn, "aging", MaximumRecordAgeInSeconds=60,
                  DestinationConfig={"OnFailure": {"Destination": queue_arn(sqs, queue)}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "old"}})
    wait_for(lambda: stream_batches(logs, "aging"), what="a first attempt")
    # Retries go on without limit (MaximumRetryAttempts -1) until the record is too old.
    assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages") is None
    clock.advance(61)

    def failure_record():
        got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages")
        return json.loads(got[0]["Body"]) if got else None

    record = wait_for(failure_record, timeout=20, what="the failure record")
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1
    # The shard moves on.
    ddb.put_item(TableName="orders", Item={"pk": {"S": "new"}})
    wait_for(lambda: "new" in keys_seen(logs, "aging"), what="the next record")


def test_failure_records_can_go_to_a_topic(nimbus, lam, ddb, sqs, sns):
    stream_recorder(lam, "topical", mode="raise")
    topic = sns.create_topic(Name="stream-failures")["TopicArn"]
    url, _ = subscribed_queue(sns, sqs, topic, "from-topic", RawMessageDelivery="true")
    arn = stream_table(ddb)
    stream_mapped(lam, arn, "topical", MaximumRetryAttempts=0,
                  DestinationConfig={"OnFailure": {"Destination": topic}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
    (message,) = receive_all(sqs, url, 1, timeout=20)
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["DDBStreamBatchInfo"]["streamArn"] == arn
