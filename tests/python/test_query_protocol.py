"""The legacy awsQuery protocol: form POSTs to `/` and to the queue URL path, XML answers.

Response shapes: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-responses.html
"""

from __future__ import annotations

import urllib.parse

from nimbus_harness import md5_hex, md5_of_attributes
from raw_http import get, presigned_get, query


def text(root, path):
    el = root.find(path)
    assert el is not None, f"{path} missing"
    return el.text or ""


def create(nimbus, name, **attributes):
    params = {"Action": "CreateQueue", "QueueName": name}
    for i, (k, v) in enumerate(attributes.items(), 1):
        params[f"Attribute.{i}.Name"] = k
        params[f"Attribute.{i}.Value"] = v
    resp = query(nimbus.url, params)
    assert resp.status == 200, resp.body
    return text(resp.xml(), "CreateQueueResult/QueueUrl")


def test_create_queue_xml(nimbus, account):
    resp = query(nimbus.url, {"Action": "CreateQueue", "QueueName": "xmlq", "Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "45"})
    assert resp.status == 200, resp.body
    assert "xml" in (resp.header("content-type") or "")
    root = resp.xml()
    assert root.tag == "CreateQueueResponse"
    assert text(root, "CreateQueueResult/QueueUrl") == f"{nimbus.url}/{account}/xmlq"
    assert text(root, "ResponseMetadata/RequestId")


def test_xml_uses_the_sqs_namespace(nimbus):
    resp = query(nimbus.url, {"Action": "ListQueues"})
    assert resp.status == 200
    assert b'xmlns="http://queue.amazonaws.com/doc/2012-11-05/"' in resp.body


def test_send_to_queue_url_path_and_receive(nimbus, sqs, account):
    url = create(nimbus, "pathq")
    path = urllib.parse.urlsplit(url).path
    assert path == f"/{account}/pathq"
    body = "<hello> & 'quotes' \"double\" ✓"
    resp = query(
        nimbus.url,
        {
            "Action": "SendMessage",
            "MessageBody": body,
            "MessageAttribute.1.Name": "color",
            "MessageAttribute.1.Value.DataType": "String",
            "MessageAttribute.1.Value.StringValue": "blue",
            "MessageAttribute.2.Name": "blob",
            "MessageAttribute.2.Value.DataType": "Binary",
            "MessageAttribute.2.Value.BinaryValue": "AAEC",  # base64 of 00 01 02
        },
        path=path,
    )
    assert resp.status == 200, resp.body
    root = resp.xml()
    assert root.tag == "SendMessageResponse"
    assert text(root, "SendMessageResult/MD5OfMessageBody") == md5_hex(body)
    expected_attrs = {
        "color": {"DataType": "String", "StringValue": "blue"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02"},
    }
    assert text(root, "SendMessageResult/MD5OfMessageAttributes") == md5_of_attributes(expected_attrs)
    message_id = text(root, "SendMessageResult/MessageId")

    # Interoperates with the JSON protocol: boto3 receives what the query request sent.
    got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], VisibilityTimeout=0)["Messages"]
    assert got[0]["MessageId"] == message_id
    assert got[0]["Body"] == body
    assert got[0]["MessageAttributes"] == expected_attrs

    resp = query(
        nimbus.url,
        {"Action": "ReceiveMessage", "QueueUrl": url, "AttributeName.1": "All", "MessageAttributeName.1": "All"},
    )
    assert resp.status == 200, resp.body
    msgs = resp.xml().findall("ReceiveMessageResult/Message")
    assert len(msgs) == 1
    m = msgs[0]
    assert text(m, "MessageId") == message_id
    assert text(m, "Body") == body
    assert text(m, "MD5OfBody") == md5_hex(body)
    assert text(m, "MD5OfMessageAttributes") == md5_of_attributes(expected_attrs)
    system = {text(a, "Name"): text(a, "Value") for a in m.findall("Attribute")}
    assert system["ApproximateReceiveCount"] == "2"
    assert "SentTimestamp" in system
    user = {text(a, "Name"): a for a in m.findall("MessageAttribute")}
    assert text(user["color"], "Value/StringValue") == "blue"
    assert text(user["color"], "Value/DataType") == "String"
    assert text(user["blob"], "Value/BinaryValue") == "AAEC"

    handle = text(m, "ReceiptHandle")
    resp = query(nimbus.url, {"Action": "DeleteMessage", "ReceiptHandle": handle}, path=path)
    assert resp.status == 200, resp.body
    assert resp.xml().tag == "DeleteMessageResponse"
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_empty_receive_has_empty_result(nimbus):
    url = create(nimbus, "emptyq")
    resp = query(nimbus.url, {"Action": "ReceiveMessage", "QueueUrl": url})
    assert resp.status == 200
    root = resp.xml()
    assert root.find("ReceiveMessageResult") is not None
    assert root.findall("ReceiveMessageResult/Message") == []


def test_get_queue_attributes_and_url_and_list(nimbus, account):
    url = create(nimbus, "attrq", VisibilityTimeout="45", DelaySeconds="3")
    resp = query(nimbus.url, {"Action": "GetQueueAttributes", "QueueUrl": url, "AttributeName.1": "All"})
    assert resp.status == 200, resp.body
    got = {text(a, "Name"): text(a, "Value") for a in resp.xml().findall("GetQueueAttributesResult/Attribute")}
    assert got["VisibilityTimeout"] == "45"
    assert got["DelaySeconds"] == "3"
    assert got["QueueArn"] == f"arn:aws:sqs:us-east-1:{account}:attrq"

    resp = query(nimbus.url, {"Action": "GetQueueUrl", "QueueName": "attrq"})
    assert text(resp.xml(), "GetQueueUrlResult/QueueUrl") == url

    create(nimbus, "attrq2")
    resp = query(nimbus.url, {"Action": "ListQueues", "QueueNamePrefix": "attr"})
    urls = [u.text for u in resp.xml().findall("ListQueuesResult/QueueUrl")]
    assert sorted(urls) == sorted([url, f"{nimbus.url}/{account}/attrq2"])


def test_set_queue_attributes_on_path(nimbus, sqs):
    url = create(nimbus, "setq")
    path = urllib.parse.urlsplit(url).path
    resp = query(
        nimbus.url,
        {"Action": "SetQueueAttributes", "Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "77"},
        path=path,
    )
    assert resp.status == 200, resp.body
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "77"
    }


def test_send_message_batch_and_delete_batch(nimbus):
    url = create(nimbus, "batchq")
    params = {"Action": "SendMessageBatch", "QueueUrl": url}
    for i in range(1, 4):
        params[f"SendMessageBatchRequestEntry.{i}.Id"] = f"e{i}"
        params[f"SendMessageBatchRequestEntry.{i}.MessageBody"] = f"body {i}"
    resp = query(nimbus.url, params)
    assert resp.status == 200, resp.body
    entries = resp.xml().findall("SendMessageBatchResult/SendMessageBatchResultEntry")
    assert sorted(text(e, "Id") for e in entries) == ["e1", "e2", "e3"]
    for e in entries:
        assert text(e, "MD5OfMessageBody") == md5_hex(f"body {text(e, 'Id')[1:]}")

    resp = query(nimbus.url, {"Action": "ReceiveMessage", "QueueUrl": url, "MaxNumberOfMessages": "10"})
    handles = [text(m, "ReceiptHandle") for m in resp.xml().findall("ReceiveMessageResult/Message")]
    assert len(handles) == 3
    params = {"Action": "DeleteMessageBatch", "QueueUrl": url}
    for i, h in enumerate(handles + ["bogus"], 1):
        params[f"DeleteMessageBatchRequestEntry.{i}.Id"] = f"d{i}"
        params[f"DeleteMessageBatchRequestEntry.{i}.ReceiptHandle"] = h
    resp = query(nimbus.url, params)
    assert resp.status == 200, resp.body
    root = resp.xml()
    ok = [text(e, "Id") for e in root.findall("DeleteMessageBatchResult/DeleteMessageBatchResultEntry")]
    failed = root.findall("DeleteMessageBatchResult/BatchResultErrorEntry")
    assert sorted(ok) == ["d1", "d2", "d3"]
    assert [(text(f, "Id"), text(f, "Code"), text(f, "SenderFault")) for f in failed] == [
        ("d4", "ReceiptHandleIsInvalid", "true")
    ]


def test_error_response_for_missing_queue(nimbus):
    resp = query(nimbus.url, {"Action": "GetQueueUrl", "QueueName": "missing"})
    assert resp.status == 400
    root = resp.xml()
    assert root.tag == "ErrorResponse"
    assert text(root, "Error/Type") == "Sender"
    assert text(root, "Error/Code") == "AWS.SimpleQueueService.NonExistentQueue"
    assert text(root, "Error/Message")
    assert text(root, "RequestId")


def test_error_on_queue_path_of_missing_queue(nimbus, account):
    resp = query(nimbus.url, {"Action": "SendMessage", "MessageBody": "x"}, path=f"/{account}/missing")
    assert resp.status == 400
    assert text(resp.xml(), "Error/Code") == "AWS.SimpleQueueService.NonExistentQueue"


def test_validation_error_codes_in_xml(nimbus):
    url = create(nimbus, "valq")
    resp = query(nimbus.url, {"Action": "ReceiveMessage", "QueueUrl": url, "WaitTimeSeconds": "21"})
    assert resp.status == 400
    assert text(resp.xml(), "Error/Code") == "InvalidParameterValue"
    resp = query(nimbus.url, {"Action": "PurgeQueue", "QueueUrl": url})
    assert resp.status == 200
    resp = query(nimbus.url, {"Action": "PurgeQueue", "QueueUrl": url})
    assert resp.status == 403
    assert text(resp.xml(), "Error/Code") == "AWS.SimpleQueueService.PurgeQueueInProgress"
    resp = query(nimbus.url, {"Action": "CreateQueue", "QueueName": "valq", "Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "5"})
    assert resp.status == 400
    assert text(resp.xml(), "Error/Code") == "QueueAlreadyExists"


def test_unknown_action(nimbus):
    resp = query(nimbus.url, {"Action": "MakeCoffee"})
    assert resp.status == 400
    assert text(resp.xml(), "Error/Code") == "InvalidAction"


def test_presigned_get_request(nimbus):
    create(nimbus, "getq")
    resp = get(presigned_get(nimbus.url, {"Action": "ListQueues"}))
    assert resp.status == 200, resp.body
    urls = [u.text for u in resp.xml().findall("ListQueuesResult/QueueUrl")]
    assert [u.rsplit("/", 1)[1] for u in urls] == ["getq"]
