"""HTTP subscribers: the confirmation handshake through a SubscribeURL that really confirms,
the `x-amz-sns-*` headers, signatures verified with the served certificate, retries per the
delivery policy on the test clock, and the subscription's dead-letter queue.

https://docs.aws.amazon.com/sns/latest/dg/sns-http-https-endpoint-as-subscriber.html
https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
"""

from __future__ import annotations

import json
import queue as queue_module
import time
import urllib.request

import pytest

from sns_helpers import HttpSubscriber, queue_arn, receive_all, verify_signature


@pytest.fixture
def endpoint():
    subscriber = HttpSubscriber()
    yield subscriber
    subscriber.close()


def failed_attempt(endpoint: HttpSubscriber) -> None:
    """Waits for an attempt, then lets the server record its failure before the test moves
    the clock (the retry time is counted from when the failure is recorded)."""
    endpoint.next()
    time.sleep(0.3)


def confirmed_subscription(sns, topic: str, endpoint: HttpSubscriber, **attributes) -> str:
    arn = sns.subscribe(
        TopicArn=topic, Protocol="http", Endpoint=endpoint.url, Attributes=attributes, ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    headers, confirmation = endpoint.next_json()
    assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert confirmation["Type"] == "SubscriptionConfirmation"
    verify_signature(confirmation)
    with urllib.request.urlopen(confirmation["SubscribeURL"], timeout=10) as resp:
        assert resp.status == 200
        assert arn.encode() in resp.read()
    return arn


def test_confirmation_handshake_and_signed_notifications(sns, endpoint):
    topic = sns.create_topic(Name="t")["TopicArn"]
    sub = confirmed_subscription(sns, topic, endpoint)
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["PendingConfirmation"] == "false"
    for i in range(5):
        sns.publish(TopicArn=topic, Message=f"n{i}", Subject="S", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    seen = []
    for _ in range(5):
        headers, body = endpoint.next_json()
        assert headers["x-amz-sns-message-type"] == "Notification"
        assert headers["x-amz-sns-topic-arn"] == topic
        assert headers["x-amz-sns-subscription-arn"] == sub
        assert headers["x-amz-sns-message-id"] == body["MessageId"]
        assert headers["content-type"].startswith("text/plain")
        verify_signature(body)
        seen.append(body["Message"])
    assert sorted(seen) == [f"n{i}" for i in range(5)]


def test_signature_version_2_on_http(sns, endpoint):
    topic = sns.create_topic(Name="t", Attributes={"SignatureVersion": "2"})["TopicArn"]
    confirmed_subscription(sns, topic, endpoint)
    sns.publish(TopicArn=topic, Message="v2")
    _, body = endpoint.next_json()
    assert body["SignatureVersion"] == "2"
    verify_signature(body)


def test_tampered_message_fails_verification(sns, endpoint):
    topic = sns.create_topic(Name="t")["TopicArn"]
    confirmed_subscription(sns, topic, endpoint)
    sns.publish(TopicArn=topic, Message="genuine")
    _, body = endpoint.next_json()
    body["Message"] = "forged"
    with pytest.raises(Exception):
        verify_signature(body)


def test_unconfirmed_endpoint_gets_no_notifications(sns, endpoint):
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)
    _, confirmation = endpoint.next_json()
    assert confirmation["Type"] == "SubscriptionConfirmation"
    sns.publish(TopicArn=topic, Message="ignored")
    with pytest.raises(queue_module.Empty):
        endpoint.next(timeout=1)


def test_raw_http_delivery(sns, endpoint):
    topic = sns.create_topic(Name="t")["TopicArn"]
    confirmed_subscription(sns, topic, endpoint, RawMessageDelivery="true")
    sns.publish(TopicArn=topic, Message="just the body")
    req = endpoint.next()
    assert req["body"] == "just the body"
    assert req["headers"]["x-amz-sns-rawdelivery"] == "true"


def test_confirm_subscription_api(sns, endpoint):
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)
    _, confirmation = endpoint.next_json()
    arn = sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])["SubscriptionArn"]
    assert sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["PendingConfirmation"] == "false"
    from sns_helpers import expect_error
    expect_error("InvalidParameter", sns.confirm_subscription, TopicArn=topic, Token="wrong")


def test_retries_follow_the_delivery_policy_then_dead_letter(sns, sqs, endpoint, clock):
    topic = sns.create_topic(Name="t")["TopicArn"]
    dlq_url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    policy = {"healthyRetryPolicy": {"minDelayTarget": 5, "maxDelayTarget": 5, "numRetries": 2}}
    sub = confirmed_subscription(
        sns, topic, endpoint,
        DeliveryPolicy=json.dumps(policy),
        RedrivePolicy=json.dumps({"deadLetterTargetArn": queue_arn(sqs, dlq_url)}),
    )
    endpoint.status = 500
    sns.publish(TopicArn=topic, Message="doomed")
    failed_attempt(endpoint)  # first attempt
    with pytest.raises(queue_module.Empty):
        endpoint.next(timeout=0.5)  # nothing until the clock reaches the retry
    clock.advance(5)
    failed_attempt(endpoint)  # retry 1
    clock.advance(5)
    failed_attempt(endpoint)  # retry 2, the last
    clock.advance(60)
    with pytest.raises(queue_module.Empty):
        endpoint.next(timeout=0.5)
    [dead] = receive_all(sqs, dlq_url, 1, MessageAttributeNames=["All"])
    body = json.loads(dead["Body"])
    assert body["Message"] == "doomed" and body["Type"] == "Notification"
    assert set(dead["MessageAttributes"]) >= {"RequestID", "ErrorCode", "ErrorMessage"}
    assert sub


def test_client_errors_are_not_retried(sns, sqs, endpoint, clock):
    topic = sns.create_topic(Name="t")["TopicArn"]
    dlq_url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    confirmed_subscription(
        sns, topic, endpoint, RawMessageDelivery="true",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": queue_arn(sqs, dlq_url)}),
    )
    endpoint.status = 403
    sns.publish(TopicArn=topic, Message="refused")
    endpoint.next()
    [dead] = receive_all(sqs, dlq_url, 1)
    assert dead["Body"] == "refused"
    clock.advance(60)
    with pytest.raises(queue_module.Empty):
        endpoint.next(timeout=0.5)


def test_default_http_schedule_is_three_retries_twenty_seconds_apart(sns, endpoint, clock):
    topic = sns.create_topic(Name="t")["TopicArn"]
    confirmed_subscription(sns, topic, endpoint)
    endpoint.status = 503
    sns.publish(TopicArn=topic, Message="x")
    failed_attempt(endpoint)
    for _ in range(3):
        clock.advance(19)
        with pytest.raises(queue_module.Empty):
            endpoint.next(timeout=0.3)
        clock.advance(1)
        failed_attempt(endpoint)
    clock.advance(120)
    with pytest.raises(queue_module.Empty):
        endpoint.next(timeout=0.5)


def test_recovering_endpoint_gets_the_message(sns, endpoint, clock):
    topic = sns.create_topic(Name="t")["TopicArn"]
    confirmed_subscription(sns, topic, endpoint)
    endpoint.status = 500
    sns.publish(TopicArn=topic, Message="eventually")
    failed_attempt(endpoint)
    endpoint.status = 200
    clock.advance(20)
    _, body = endpoint.next_json()
    assert body["Message"] == "eventually"


def test_subscription_to_a_missing_function_goes_to_the_dlq_without_retries(sns, sqs, clock):
    # A deleted or missing function is a client-side error: SNS does not retry it and moves the
    # message to the subscription's dead-letter queue with the error attributes.
    # https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html
    topic = sns.create_topic(Name="t")["TopicArn"]
    dlq_url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    sns.subscribe(
        TopicArn=topic, Protocol="lambda", Endpoint="arn:aws:lambda:us-east-1:000000000000:function:f",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": queue_arn(sqs, dlq_url)})},
    )
    sns.publish(TopicArn=topic, Message="to a function")
    got = sqs.receive_message(
        QueueUrl=dlq_url, WaitTimeSeconds=10, MessageAttributeNames=["All"]
    ).get("Messages", [])
    assert len(got) == 1
    assert json.loads(got[0]["Body"])["Message"] == "to a function"
    assert set(got[0]["MessageAttributes"]) >= {"RequestID", "ErrorCode", "ErrorMessage"}
    assert "ResourceNotFound" in got[0]["MessageAttributes"]["ErrorMessage"]["StringValue"]


def test_links_work_unsigned_when_signatures_are_enforced():
    """With `--auth strict`, the SubscribeURL and UnsubscribeURL still work unsigned, as on AWS;
    other unsigned SNS calls are refused."""
    from nimbus_harness import NimbusServer

    key, secret = "AKIDSTRICTSNS", "strict-secret"
    server = NimbusServer("--auth", "strict", "--access-key", f"{key}:{secret}").start()
    endpoint = HttpSubscriber()
    try:
        sns = server.client("sns", access_key=key, secret_key=secret)
        topic = sns.create_topic(Name="t")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)
        _, confirmation = endpoint.next_json()
        with urllib.request.urlopen(confirmation["SubscribeURL"], timeout=10) as resp:
            assert resp.status == 200
        sns.publish(TopicArn=topic, Message="hi")
        _, notification = endpoint.next_json()
        unsigned_list = f"{server.url}/?Action=ListTopics"
        try:
            urllib.request.urlopen(unsigned_list, timeout=10)
            raise AssertionError("an unsigned ListTopics was accepted")
        except urllib.error.HTTPError as err:
            assert err.code == 403
        with urllib.request.urlopen(notification["UnsubscribeURL"], timeout=10) as resp:
            assert resp.status == 200
        assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    finally:
        endpoint.close()
        server.stop()
