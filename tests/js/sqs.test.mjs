// JavaScript SDK v3 smoke test against a running nimbus.
// Run through the pytest suite (tests/python/test_js_sdk.py), which starts the server and
// passes its URL in NIMBUS_ENDPOINT. Without it the tests are skipped.
import { createHash } from "node:crypto";
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  SQSClient,
  CreateQueueCommand,
  SendMessageCommand,
  ReceiveMessageCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
} from "@aws-sdk/client-sqs";

const endpoint = process.env.NIMBUS_ENDPOINT;
const skip = endpoint ? false : "NIMBUS_ENDPOINT not set";

function client() {
  return new SQSClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
}

test("create, send with attributes, receive, delete", { skip }, async () => {
  const sqs = client();
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "js-smoke" }));
  assert.equal(QueueUrl, `${endpoint}/000000000000/js-smoke`);

  const sent = await sqs.send(
    new SendMessageCommand({
      QueueUrl,
      MessageBody: "from javascript ✓",
      MessageAttributes: {
        str: { DataType: "String", StringValue: "v" },
        num: { DataType: "Number", StringValue: "7" },
        bin: { DataType: "Binary", BinaryValue: new Uint8Array([1, 2, 3]) },
      },
    }),
  );
  // The SDK verifies MD5OfMessageBody itself; a wrong digest throws before we get here.
  assert.match(sent.MessageId, /^[0-9a-f-]{36}$/);
  const md5 = createHash("md5").update("from javascript ✓", "utf8").digest("hex");
  assert.equal(sent.MD5OfMessageBody, md5);

  const got = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl,
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ["All"],
      MessageSystemAttributeNames: ["ApproximateReceiveCount"],
    }),
  );
  assert.equal(got.Messages.length, 1);
  const m = got.Messages[0];
  assert.equal(m.Body, "from javascript ✓");
  assert.equal(m.MD5OfBody, md5);
  assert.equal(m.MessageId, sent.MessageId);
  assert.equal(m.Attributes.ApproximateReceiveCount, "1");
  assert.equal(m.MessageAttributes.str.StringValue, "v");
  assert.equal(m.MessageAttributes.num.StringValue, "7");
  assert.deepEqual(Array.from(m.MessageAttributes.bin.BinaryValue), [1, 2, 3]);

  await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
  const a = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }));
  assert.equal(a.Attributes.ApproximateNumberOfMessages, "0");
  assert.equal(a.Attributes.ApproximateNumberOfMessagesNotVisible, "0");
});

test("missing queue raises QueueDoesNotExist", { skip }, async () => {
  const sqs = client();
  await assert.rejects(
    () => sqs.send(new GetQueueUrlCommand({ QueueName: "js-missing" })),
    (err) => {
      assert.ok(err instanceof QueueDoesNotExist, `got ${err.name}`);
      assert.equal(err.name, "QueueDoesNotExist");
      assert.equal(err.$metadata.httpStatusCode, 400);
      // The legacy code from the x-amzn-query-error header, as applications compare it.
      assert.equal(err.Code, "AWS.SimpleQueueService.NonExistentQueue");
      return true;
    },
  );
});
