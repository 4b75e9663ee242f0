import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type StackView, T, UNKNOWN } from "../../policy/model.ts";
import { s3BucketLogging as policy } from "../../policy/policies/s3-bucket-logging.ts";
import {
  compliantStack,
  KEY_ARN,
  resource,
  resourceAt,
  URN,
  update,
  withoutResource,
  withProps,
  withReferences,
  withResource,
} from "./fixtures.ts";

const missing = (bucket: string) =>
  `S3 bucket ${bucket} must have server access logging (an aws.s3.BucketLogging with it as bucket and the access-log bucket as targetBucket).`;
const destinationNotSseS3 = (algorithm: string) =>
  `S3 bucket access-logs-pr42 receives S3 server access logs and must use SSE-S3 (AES256) default encryption, the only one S3 log delivery supports (not "${algorithm}").`;
const sse = (applyServerSideEncryptionByDefault: Record<string, unknown>) => ({
  rules: [{ applyServerSideEncryptionByDefault, bucketKeyEnabled: true }],
});

/** The stack without the BucketLogging of processed-transactions. */
const dataNotLogged = () => withoutResource(compliantStack(), URN.dataLogging);

describe("s3-bucket-logging-enabled", () => {
  test("AWS-5 STO-1 POL-1 s3-bucket-logging-enabled: a compliant stack has no findings; both buckets log into access-logs, which does not log itself", () => {
    const stack = compliantStack();
    const targets = stack
      .ofType(T.bucketLogging)
      .map((l) => [l.references.bucket, l.references.targetBucket]);
    assert.deepEqual(targets, [
      [[URN.dataBucket], [URN.accessLogsBucket]],
      [[URN.logsBucket], [URN.accessLogsBucket]],
    ]);
    assert.deepEqual(policy.validate(stack), []);
  });

  test("AWS-5 STO-1 POL-1 s3-bucket-logging-enabled: a bucket without server access logging is reported", () => {
    assert.deepEqual(policy.validate(dataNotLogged()), [
      { urn: URN.dataBucket, message: missing("processed-transactions-pr42") },
    ]);
  });

  test("AWS-5 STO-1 POL-1 s3-bucket-logging-enabled: a BucketLogging for another bucket does not count", () => {
    const stack = withReferences(compliantStack(), URN.dataLogging, { bucket: [URN.logsBucket] });
    assert.deepEqual(policy.validate(stack), [
      { urn: URN.dataBucket, message: missing("processed-transactions-pr42") },
    ]);
  });

  test("AWS-5 STO-1 POL-1 s3-bucket-logging-enabled: the legacy inline logging input counts", () => {
    let stack = withProps(dataNotLogged(), URN.dataBucket, {
      logging: { targetBucket: "access-logs-pr42-id", targetPrefix: "s3/processed-transactions/" },
    });
    stack = withReferences(stack, URN.dataBucket, { logging: [URN.accessLogsBucket] });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("AWS-5 STO-1 POL-1 s3-bucket-logging-enabled: the former BucketLoggingV2 type counts", () => {
    const stack = update(compliantStack(), URN.dataLogging, (r) => ({
      ...r,
      type: "aws:s3/bucketLoggingV2:BucketLoggingV2",
    }));
    assert.deepEqual(policy.validate(stack), []);
  });

  test("AWS-5 STO-1 POL-1 s3-bucket-logging-enabled: the destination is exempt only as a targetBucket: with no logging at all every bucket is reported", () => {
    const stack = withoutResource(dataNotLogged(), URN.logsLogging);
    assert.deepEqual(policy.validate(stack), [
      { urn: URN.dataBucket, message: missing("processed-transactions-pr42") },
      { urn: URN.logsBucket, message: missing("app-logs-pr42") },
      { urn: URN.accessLogsBucket, message: missing("access-logs-pr42") },
    ]);
  });

  test("AWS-5 STO-1 POL-1 s3-bucket-logging-enabled: a destination under the customer KMS key is reported", () => {
    const stack = withProps(
      compliantStack(),
      URN.accessLogsEncryption,
      sse({ sseAlgorithm: "aws:kms", kmsMasterKeyId: KEY_ARN }),
    );
    assert.deepEqual(policy.validate(stack), [
      { urn: URN.accessLogsBucket, message: destinationNotSseS3("aws:kms") },
    ]);
  });

  test("AWS-5 STO-1 POL-1 s3-bucket-logging-enabled: a destination under DSSE-KMS is reported", () => {
    const stack = withProps(
      compliantStack(),
      URN.accessLogsEncryption,
      sse({ sseAlgorithm: "aws:kms:dsse", kmsMasterKeyId: KEY_ARN }),
    );
    assert.deepEqual(policy.validate(stack), [
      { urn: URN.accessLogsBucket, message: destinationNotSseS3("aws:kms:dsse") },
    ]);
  });

  test("AWS-5 STO-1 POL-1 s3-bucket-logging-enabled: a destination named by the inline logging input must be SSE-S3 too", () => {
    let stack = withoutResource(dataNotLogged(), URN.logsLogging);
    for (const source of [URN.dataBucket, URN.logsBucket]) {
      stack = withProps(stack, source, { logging: { targetBucket: "access-logs-pr42-id" } });
      stack = withReferences(stack, source, { logging: [URN.accessLogsBucket] });
    }
    stack = withProps(stack, URN.accessLogsEncryption, sse({ sseAlgorithm: "aws:kms" }));
    assert.deepEqual(policy.validate(stack), [
      { urn: URN.accessLogsBucket, message: destinationNotSseS3("aws:kms") },
    ]);
  });

  test("AWS-5 STO-1 POL-1 s3-bucket-logging-enabled: a bucket that is not a destination may use the customer key (and logs)", () => {
    const stack = compliantStack();
    const rules = resourceAt(stack, URN.dataEncryption).props.rules;
    assert.deepEqual(rules, [sse({ sseAlgorithm: "aws:kms", kmsMasterKeyId: KEY_ARN }).rules[0]]);
    assert.deepEqual(policy.validate(stack), []);
  });

  test("AWS-5 STO-1 POL-1 s3-bucket-logging-enabled: values unknown during a preview are never a finding", () => {
    const unknownSource = (stack: StackView) =>
      withReferences(withProps(stack, URN.dataLogging, { bucket: UNKNOWN }), URN.dataLogging, {
        bucket: undefined,
      });
    const unknownTarget = (stack: StackView) =>
      withReferences(
        withProps(stack, URN.dataLogging, { targetBucket: UNKNOWN }),
        URN.dataLogging,
        { targetBucket: undefined },
      );
    const cases: [string, StackView][] = [
      [
        "destination sseAlgorithm",
        withProps(compliantStack(), URN.accessLogsEncryption, sse({ sseAlgorithm: UNKNOWN })),
      ],
      [
        "destination rules",
        withProps(compliantStack(), URN.accessLogsEncryption, { rules: UNKNOWN }),
      ],
      ["inline logging", withProps(dataNotLogged(), URN.dataBucket, { logging: UNKNOWN })],
      // Which bucket a logging is for cannot be told: it may be the one without logging.
      [
        "BucketLogging bucket",
        unknownSource(
          withResource(
            compliantStack(),
            resource(T.bucket, "extra-pr42", { bucket: "extra-pr42", forceDestroy: true }),
          ),
        ),
      ],
      [
        "BucketLogging targetBucket",
        unknownTarget(withoutResource(compliantStack(), URN.logsLogging)),
      ],
    ];
    const found = Object.fromEntries(cases.map(([what, stack]) => [what, policy.validate(stack)]));
    assert.deepEqual(found, Object.fromEntries(cases.map(([what]) => [what, []])));
  });
});
