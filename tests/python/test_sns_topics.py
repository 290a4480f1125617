"""SNS topics: create (standard and FIFO), attributes, list with pagination, tags, permissions,
delete, and the errors AWS gives.

https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html
"""

from __future__ import annotations

import json

from sns_helpers import expect_error


def test_create_topic_is_idempotent_and_listed(sns, account):
    arn = sns.create_topic(Name="orders")["TopicArn"]
    assert arn == f"arn:aws:sns:us-east-1:{account}:orders"
    assert sns.create_topic(Name="orders")["TopicArn"] == arn
    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [arn]


def test_default_attributes(sns, account):
    arn = sns.create_topic(Name="t", Attributes={"DisplayName": "Orders"})["TopicArn"]
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["TopicArn"] == arn
    assert attrs["Owner"] == account
    assert attrs["DisplayName"] == "Orders"
    assert attrs["SubscriptionsConfirmed"] == "0"
    assert attrs["SubscriptionsPending"] == "0"
    assert attrs["SubscriptionsDeleted"] == "0"
    policy = json.loads(attrs["Policy"])
    assert policy["Statement"][0]["Resource"] == arn
    effective = json.loads(attrs["EffectiveDeliveryPolicy"])
    assert effective["http"]["defaultHealthyRetryPolicy"]["numRetries"] == 3
    assert "FifoTopic" not in attrs


def test_fifo_topic(sns):
    arn = sns.create_topic(
        Name="t.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    )["TopicArn"]
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["FifoTopic"] == "true"
    assert attrs["ContentBasedDeduplication"] == "true"


def test_invalid_names(sns):
    expect_error("InvalidParameter", sns.create_topic, Name="bad name")
    expect_error("InvalidParameter", sns.create_topic, Name="x" * 257)
    expect_error("InvalidParameter", sns.create_topic, Name="t.fifo")
    expect_error("InvalidParameter", sns.create_topic, Name="t", Attributes={"FifoTopic": "true"})
    expect_error(
        "InvalidParameter", sns.create_topic, Name="t", Attributes={"ContentBasedDeduplication": "true"}
    )


def test_create_with_different_attributes_fails(sns):
    sns.create_topic(Name="t", Attributes={"DisplayName": "a"})
    expect_error("InvalidParameter", sns.create_topic, Name="t", Attributes={"DisplayName": "b"})


def test_set_topic_attributes(sns):
    arn = sns.create_topic(Name="t")["TopicArn"]
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Shown")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="2")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="TracingConfig", AttributeValue="Active")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="KmsMasterKeyId", AttributeValue="alias/aws/sns")
    policy = {"http": {"defaultHealthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 5, "numRetries": 4}}}
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(policy))
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["DisplayName"] == "Shown"
    assert attrs["SignatureVersion"] == "2"
    assert attrs["TracingConfig"] == "Active"
    assert attrs["KmsMasterKeyId"] == "alias/aws/sns"
    assert json.loads(attrs["DeliveryPolicy"]) == policy
    assert json.loads(attrs["EffectiveDeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"]["numRetries"] == 4
    expect_error("InvalidParameter", sns.set_topic_attributes, TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="3")
    expect_error("InvalidParameter", sns.set_topic_attributes, TopicArn=arn, AttributeName="Nope", AttributeValue="x")
    expect_error("InvalidParameter", sns.set_topic_attributes, TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue="{")


def test_missing_topic_is_not_found(sns, account):
    missing = f"arn:aws:sns:us-east-1:{account}:missing"
    err = expect_error("NotFound", sns.get_topic_attributes, TopicArn=missing)
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    expect_error("NotFound", sns.publish, TopicArn=missing, Message="x")
    expect_error("InvalidParameter", sns.get_topic_attributes, TopicArn="not-an-arn")


def test_list_topics_paginates(sns):
    arns = sorted(sns.create_topic(Name=f"t{i:03}")["TopicArn"] for i in range(105))
    first = sns.list_topics()
    assert len(first["Topics"]) == 100
    second = sns.list_topics(NextToken=first["NextToken"])
    assert "NextToken" not in second
    assert [t["TopicArn"] for t in first["Topics"] + second["Topics"]] == arns


def test_delete_topic_removes_it_and_its_subscriptions(sns, sqs):
    arn = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:q")
    sns.delete_topic(TopicArn=arn)
    assert sns.list_topics()["Topics"] == []
    assert sns.list_subscriptions()["Subscriptions"] == []
    sns.delete_topic(TopicArn=arn)  # deleting again succeeds, as on AWS


def test_tags(sns, account):
    arn = sns.create_topic(Name="t", Tags=[{"Key": "team", "Value": "a"}])["TopicArn"]
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "b"}])
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"team": "b", "env": "dev"}
    sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    missing = f"arn:aws:sns:us-east-1:{account}:missing"
    expect_error("ResourceNotFound", sns.list_tags_for_resource, ResourceArn=missing)
    expect_error("ResourceNotFound", sns.tag_resource, ResourceArn=missing, Tags=[{"Key": "k", "Value": "v"}])


def test_permissions(sns):
    arn = sns.create_topic(Name="t")["TopicArn"]
    sns.add_permission(TopicArn=arn, Label="pub", AWSAccountId=["111122223333"], ActionName=["Publish"])
    statements = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])["Statement"]
    added = next(s for s in statements if s["Sid"] == "pub")
    assert added["Action"] == ["SNS:Publish"]
    assert added["Principal"]["AWS"] == ["arn:aws:iam::111122223333:root"]
    expect_error("InvalidParameter", sns.add_permission, TopicArn=arn, Label="pub", AWSAccountId=["1"], ActionName=["Publish"])
    sns.remove_permission(TopicArn=arn, Label="pub")
    statements = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])["Statement"]
    assert all(s["Sid"] != "pub" for s in statements)
