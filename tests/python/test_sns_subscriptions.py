"""SNS subscriptions: subscribe per protocol, confirmation state, attributes, listing,
unsubscribe, and AWS's errors.

https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html
"""

from __future__ import annotations

import json

from sns_helpers import expect_error, queue_arn


def test_sqs_subscription_is_confirmed_at_once(sns, sqs):
    topic = sns.create_topic(Name="t")["TopicArn"]
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(sqs, url))["SubscriptionArn"]
    assert sub.startswith(topic + ":")
    attrs = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert attrs["Protocol"] == "sqs"
    assert attrs["PendingConfirmation"] == "false"
    assert attrs["RawMessageDelivery"] == "false"
    # Subscribing the same endpoint again returns the same subscription.
    again = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(sqs, url))["SubscriptionArn"]
    assert again == sub
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsConfirmed"] == "1"


def test_http_and_email_wait_for_confirmation(sns):
    topic = sns.create_topic(Name="t")["TopicArn"]
    pending = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="me@example.com")
    assert pending["SubscriptionArn"] == "pending confirmation"
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert listed[0]["SubscriptionArn"] == "PendingConfirmation"
    arn = sns.subscribe(
        TopicArn=topic, Protocol="http", Endpoint="http://127.0.0.1:9/x", ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    assert arn.startswith(topic + ":")
    assert sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["PendingConfirmation"] == "true"
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsPending"] == "2"


def test_lambda_subscription(sns):
    topic = sns.create_topic(Name="t")["TopicArn"]
    fn = "arn:aws:lambda:us-east-1:000000000000:function:f"
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn)["SubscriptionArn"]
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["Endpoint"] == fn


def test_subscribe_errors(sns, account):
    topic = sns.create_topic(Name="t")["TopicArn"]
    expect_error("InvalidParameter", sns.subscribe, TopicArn=topic, Protocol="carrier-pigeon", Endpoint="x")
    expect_error("InvalidParameter", sns.subscribe, TopicArn=topic, Protocol="sqs", Endpoint="not-an-arn")
    expect_error("InvalidParameter", sns.subscribe, TopicArn=topic, Protocol="http", Endpoint="ftp://x")
    expect_error("InvalidParameter", sns.subscribe, TopicArn=topic, Protocol="lambda", Endpoint="arn:aws:sqs:us-east-1:1:q")
    expect_error("InvalidParameter", sns.subscribe, TopicArn=topic, Protocol="email", Endpoint="nobody")
    missing = f"arn:aws:sns:us-east-1:{account}:missing"
    expect_error("NotFound", sns.subscribe, TopicArn=missing, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:1:q")
    fifo = sns.create_topic(Name="f.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    expect_error("InvalidParameter", sns.subscribe, TopicArn=fifo, Protocol="http", Endpoint="http://127.0.0.1:9/")


def test_subscription_attributes(sns, sqs):
    topic = sns.create_topic(Name="t")["TopicArn"]
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    dlq = queue_arn(sqs, sqs.create_queue(QueueName="dlq")["QueueUrl"])
    sub = sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn(sqs, url),
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"k": ["v"]})},
    )["SubscriptionArn"]
    sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="RedrivePolicy", AttributeValue=json.dumps({"deadLetterTargetArn": dlq})
    )
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicyScope", AttributeValue="MessageBody")
    attrs = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert attrs["RawMessageDelivery"] == "true"
    assert json.loads(attrs["FilterPolicy"]) == {"k": ["v"]}
    assert attrs["FilterPolicyScope"] == "MessageBody"
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": dlq}
    # An empty value removes the policy.
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue="")
    assert "FilterPolicy" not in sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]


def test_subscription_attribute_errors(sns, sqs, account):
    topic = sns.create_topic(Name="t")["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:{account}:q")["SubscriptionArn"]
    for name, value in [
        ("RawMessageDelivery", "maybe"),
        ("FilterPolicy", "{not json"),
        ("FilterPolicy", json.dumps({"k": "not-a-list"})),
        ("FilterPolicy", json.dumps({"k": [{"numeric": [">", "x"]}]})),
        ("FilterPolicy", json.dumps({"a": {"nested": ["x"]}})),
        ("FilterPolicyScope", "Everything"),
        ("RedrivePolicy", json.dumps({"deadLetterTargetArn": "nope"})),
        ("DeliveryPolicy", json.dumps({"healthyRetryPolicy": {"minDelayTarget": 30, "maxDelayTarget": 10}})),
        ("Unknown", "x"),
    ]:
        expect_error("InvalidParameter", sns.set_subscription_attributes, SubscriptionArn=sub, AttributeName=name, AttributeValue=value)
    missing = topic + ":00000000-0000-0000-0000-000000000000"
    expect_error("NotFound", sns.get_subscription_attributes, SubscriptionArn=missing)
    lam = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=f"arn:aws:lambda:us-east-1:{account}:function:f")["SubscriptionArn"]
    expect_error("InvalidParameter", sns.set_subscription_attributes, SubscriptionArn=lam, AttributeName="RawMessageDelivery", AttributeValue="true")


def test_filter_policy_limits(sns, account):
    topic = sns.create_topic(Name="t")["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:{account}:q")["SubscriptionArn"]
    too_many_keys = {f"k{i}": ["v"] for i in range(6)}
    err = expect_error("InvalidParameter", sns.set_subscription_attributes, SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue=json.dumps(too_many_keys))
    assert "FilterPolicy" in err.response["Error"]["Message"]
    values = [f"v{i}" for i in range(13)]
    too_complex = {"a": values, "b": values}
    err = expect_error("InvalidParameter", sns.set_subscription_attributes, SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue=json.dumps(too_complex))
    assert "too complex" in err.response["Error"]["Message"]


def test_list_and_unsubscribe(sns, account):
    t1 = sns.create_topic(Name="t1")["TopicArn"]
    t2 = sns.create_topic(Name="t2")["TopicArn"]
    s1 = sns.subscribe(TopicArn=t1, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:{account}:a")["SubscriptionArn"]
    s2 = sns.subscribe(TopicArn=t2, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:{account}:b")["SubscriptionArn"]
    assert {s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]} == {s1, s2}
    by_topic = sns.list_subscriptions_by_topic(TopicArn=t1)["Subscriptions"]
    assert by_topic == [{"SubscriptionArn": s1, "Owner": account, "Protocol": "sqs", "Endpoint": f"arn:aws:sqs:us-east-1:{account}:a", "TopicArn": t1}]
    sns.unsubscribe(SubscriptionArn=s1)
    assert [s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]] == [s2]
    assert sns.get_topic_attributes(TopicArn=t1)["Attributes"]["SubscriptionsDeleted"] == "1"
    expect_error("NotFound", sns.unsubscribe, SubscriptionArn=s1)
    expect_error("NotFound", sns.list_subscriptions_by_topic, TopicArn=f"arn:aws:sns:us-east-1:{account}:missing")


def test_list_subscriptions_paginates(sns, account):
    topic = sns.create_topic(Name="t")["TopicArn"]
    for i in range(103):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:{account}:q{i}")
    first = sns.list_subscriptions_by_topic(TopicArn=topic)
    assert len(first["Subscriptions"]) == 100
    second = sns.list_subscriptions_by_topic(TopicArn=topic, NextToken=first["NextToken"])
    assert len(second["Subscriptions"]) == 3 and "NextToken" not in second


def test_email_and_sms_notifications_are_kept(nimbus, sns):
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="me@example.com")
    sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint="+15555550100")
    sns.publish(TopicArn=topic, Message="to the phone")
    sns.publish(PhoneNumber="+15555550101", Message="direct sms")
    import time
    deadline = time.time() + 10
    while True:
        status, body = nimbus.admin("GET", "/_nimbus/sns/notifications")
        kept = json.loads(body)["notifications"]
        if len(kept) >= 3 or time.time() > deadline:
            break
        time.sleep(0.1)
    by_endpoint = {n["endpoint"]: n for n in kept}
    confirmation = json.loads(by_endpoint["me@example.com"]["body"])
    assert confirmation["Type"] == "SubscriptionConfirmation"
    assert by_endpoint["+15555550100"]["body"] == "to the phone"
    assert by_endpoint["+15555550101"]["body"] == "direct sms"
    # Following the SubscribeURL confirms the email subscription.
    import urllib.request
    with urllib.request.urlopen(confirmation["SubscribeURL"], timeout=10) as resp:
        assert resp.status == 200
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert all(s["SubscriptionArn"] != "PendingConfirmation" for s in subs)
