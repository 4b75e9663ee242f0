import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { T, UNKNOWN } from "../../policy/model.ts";
import { bucketEncryption } from "../../policy/policies/bucket-encryption.ts";
import { encryptionAtRest as policy } from "../../policy/policies/encryption-at-rest.ts";
import { s3BucketLogging } from "../../policy/policies/s3-bucket-logging.ts";
import {
  compliantStack,
  KEY_ARN,
  resource,
  resourceAt,
  URN,
  withoutResource,
  withProps,
  withReferences,
  withResource,
} from "./fixtures.ts";

const AWS_KEY = (service: string) => `arn:aws:kms:us-east-1:123456789012:alias/aws/${service}`;
const dataSse = (sse: Record<string, unknown>) => ({
  rules: [{ applyServerSideEncryptionByDefault: sse, bucketKeyEnabled: true }],
});

describe("encryption-at-rest-customer-key", () => {
  test("POL-1 SEC-1 encryption-at-rest: a compliant stack has no findings", () => {
    assert.deepEqual(policy.validate(compliantStack()), []);
  });

  test("POL-1 SEC-1 encryption-at-rest: a Kinesis stream without KMS encryption is reported", () => {
    const stack = withProps(compliantStack(), URN.stream, { encryptionType: "NONE" });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.stream,
        message:
          'Kinesis stream transaction-stream-pr42 must be encrypted at rest with a customer-managed KMS key (encryptionType "KMS").',
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: a Kinesis stream on the AWS-managed key is reported", () => {
    const stack = withProps(compliantStack(), URN.stream, { kmsKeyId: "alias/aws/kinesis" });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.stream,
        message:
          "Kinesis stream transaction-stream-pr42 must be encrypted at rest with a customer-managed KMS key (kmsKeyId).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: a KMS-encrypted Kinesis stream without a key is reported", () => {
    const stack = withProps(compliantStack(), URN.stream, { kmsKeyId: undefined });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.stream,
        message:
          "Kinesis stream transaction-stream-pr42 must be encrypted at rest with a customer-managed KMS key (kmsKeyId).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: an SQS queue on SQS-managed encryption is reported", () => {
    const stack = withProps(compliantStack(), URN.queue, {
      kmsMasterKeyId: undefined,
      sqsManagedSseEnabled: true,
    });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.queue,
        message:
          "SQS queue processor-dlq-pr42 must be encrypted at rest with a customer-managed KMS key (kmsMasterKeyId).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: an SQS queue on alias/aws/sqs is reported", () => {
    const stack = withProps(compliantStack(), URN.queue, { kmsMasterKeyId: "alias/aws/sqs" });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.queue,
        message:
          "SQS queue processor-dlq-pr42 must be encrypted at rest with a customer-managed KMS key (kmsMasterKeyId).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: an SNS topic on the AWS-managed key is reported", () => {
    const stack = withProps(compliantStack(), URN.topic, { kmsMasterKeyId: AWS_KEY("sns") });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.topic,
        message:
          "SNS topic fraud-alerts-pr42 must be encrypted at rest with a customer-managed KMS key (kmsMasterKeyId).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: a log group without a key is reported", () => {
    const stack = withProps(compliantStack(), URN.logGroup, { kmsKeyId: undefined });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.logGroup,
        message:
          "Log group processor-logs-pr42 must be encrypted at rest with a customer-managed KMS key (kmsKeyId).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: a secret on the default aws/secretsmanager key is reported", () => {
    const stack = withProps(compliantStack(), URN.secret, { kmsKeyId: undefined });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.secret,
        message:
          "Secret redis-auth-pr42 must be encrypted at rest with a customer-managed KMS key (kmsKeyId).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: an unencrypted RDS instance is reported", () => {
    const stack = withProps(compliantStack(), URN.db, { storageEncrypted: false });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.db,
        message:
          "Database ledger-db-pr42 must be encrypted at rest with a customer-managed KMS key (storageEncrypted true).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: an RDS instance encrypted under the default aws/rds key is reported", () => {
    const stack = withProps(compliantStack(), URN.db, { kmsKeyId: undefined });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.db,
        message:
          "Database ledger-db-pr42 must be encrypted at rest with a customer-managed KMS key (kmsKeyId).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: RDS Performance Insights on the default key is reported", () => {
    const stack = withProps(compliantStack(), URN.db, { performanceInsightsKmsKeyId: undefined });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.db,
        message:
          "Database ledger-db-pr42 must be encrypted at rest with a customer-managed KMS key (performanceInsightsKmsKeyId).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: Performance Insights off needs no key", () => {
    const stack = withProps(compliantStack(), URN.db, {
      performanceInsightsEnabled: false,
      performanceInsightsKmsKeyId: undefined,
    });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 SEC-1 encryption-at-rest: an unencrypted Aurora cluster is reported", () => {
    const stack = withProps(compliantStack(), URN.cluster, { storageEncrypted: false });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cluster,
        message:
          "Database ledger-cluster-pr42 must be encrypted at rest with a customer-managed KMS key (storageEncrypted true).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: an Aurora cluster on alias/aws/rds is reported", () => {
    const stack = withProps(compliantStack(), URN.cluster, { kmsKeyId: AWS_KEY("rds") });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cluster,
        message:
          "Database ledger-cluster-pr42 must be encrypted at rest with a customer-managed KMS key (kmsKeyId).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: Aurora Performance Insights (set per cluster instance) on the default key is reported", () => {
    // Aurora configures Performance Insights on each ClusterInstance, as the program does.
    const stack = withProps(compliantStack(), URN.writer, {
      performanceInsightsKmsKeyId: undefined,
    });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.writer,
        message:
          "Database ledger-writer-pr42 must be encrypted at rest with a customer-managed KMS key (performanceInsightsKmsKeyId).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: an RDS-managed master password secret on the default key is reported", () => {
    // manageMasterUserPassword creates a Secrets Manager secret; without
    // masterUserSecretKmsKeyId it is encrypted with aws/secretsmanager.
    const stack = withProps(compliantStack(), URN.db, { masterUserSecretKmsKeyId: undefined });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.db,
        message:
          "Database ledger-db-pr42 must be encrypted at rest with a customer-managed KMS key (masterUserSecretKmsKeyId).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: a Redis replication group without at-rest encryption is reported", () => {
    const stack = withProps(compliantStack(), URN.cache, { atRestEncryptionEnabled: false });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cache,
        message:
          "Redis replication group history-cache-pr42 must be encrypted at rest with a customer-managed KMS key (atRestEncryptionEnabled true).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: a Redis replication group on the default key is reported", () => {
    const stack = withProps(compliantStack(), URN.cache, { kmsKeyId: undefined });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cache,
        message:
          "Redis replication group history-cache-pr42 must be encrypted at rest with a customer-managed KMS key (kmsKeyId).",
      },
    ]);
  });

  const table = (serverSideEncryption: unknown) =>
    resource(T.dynamoTable, "dedupe-pr42", {
      name: "dedupe-pr42",
      billingMode: "PAY_PER_REQUEST",
      hashKey: "id",
      ...(serverSideEncryption !== undefined && { serverSideEncryption }),
    });
  const tableUrn = table(undefined).urn;

  test("POL-1 SEC-1 encryption-at-rest: a DynamoDB table under the customer key passes", () => {
    const stack = withResource(compliantStack(), table({ enabled: true, kmsKeyArn: KEY_ARN }));
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 SEC-1 encryption-at-rest: a DynamoDB table on the AWS-owned key is reported", () => {
    const stack = withResource(compliantStack(), table(undefined));
    assert.deepEqual(policy.validate(stack), [
      {
        urn: tableUrn,
        message:
          "DynamoDB table dedupe-pr42 must be encrypted at rest with a customer-managed KMS key (serverSideEncryption.kmsKeyArn).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: a DynamoDB table on the AWS-managed aws/dynamodb key is reported", () => {
    const stack = withResource(compliantStack(), table({ enabled: true }));
    assert.deepEqual(policy.validate(stack), [
      {
        urn: tableUrn,
        message:
          "DynamoDB table dedupe-pr42 must be encrypted at rest with a customer-managed KMS key (serverSideEncryption.kmsKeyArn).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: an ECR repository on AES256 is reported", () => {
    const stack = withProps(compliantStack(), URN.ecr, {
      encryptionConfigurations: [{ encryptionType: "AES256" }],
    });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.ecr,
        message:
          "ECR repository api-pr42 must be encrypted at rest with a customer-managed KMS key (encryptionConfigurations KMS).",
      },
    ]);
  });

  test("POL-1 SEC-1 encryption-at-rest: an ECR repository on KMS without a key (aws/ecr) is reported", () => {
    const stack = withProps(compliantStack(), URN.ecr, {
      encryptionConfigurations: [{ encryptionType: "KMS" }],
    });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.ecr,
        message:
          "ECR repository api-pr42 must be encrypted at rest with a customer-managed KMS key (encryptionConfigurations KMS).",
      },
    ]);
  });

  test("POL-1 SEC-1 STO-1 bucket-encryption: a bucket without an encryption configuration is reported", () => {
    const stack = withoutResource(compliantStack(), URN.dataEncryption);
    assert.deepEqual(bucketEncryption.validate(stack), [
      {
        urn: URN.dataBucket,
        message:
          "S3 bucket processed-transactions-pr42 must have a server-side encryption configuration with a customer-managed KMS key.",
      },
    ]);
  });

  test("POL-1 SEC-1 STO-1 bucket-encryption: a data bucket on SSE-S3 is reported", () => {
    const stack = withProps(
      compliantStack(),
      URN.dataEncryption,
      dataSse({ sseAlgorithm: "AES256" }),
    );
    assert.deepEqual(bucketEncryption.validate(stack), [
      {
        urn: URN.dataBucket,
        message:
          'S3 bucket processed-transactions-pr42 must be encrypted with a customer-managed KMS key (sseAlgorithm "aws:kms", not "AES256").',
      },
    ]);
  });

  test("POL-1 SEC-1 STO-1 bucket-encryption: a data bucket on aws:kms without a key (aws/s3) is reported", () => {
    const stack = withProps(
      compliantStack(),
      URN.dataEncryption,
      dataSse({ sseAlgorithm: "aws:kms" }),
    );
    assert.deepEqual(bucketEncryption.validate(stack), [
      {
        urn: URN.dataBucket,
        message:
          "S3 bucket processed-transactions-pr42 must be encrypted at rest with a customer-managed KMS key (kmsMasterKeyId).",
      },
    ]);
  });

  test("POL-1 SEC-1 STO-1 bucket-encryption: a data bucket on alias/aws/s3 is reported", () => {
    const stack = withProps(
      compliantStack(),
      URN.dataEncryption,
      dataSse({ sseAlgorithm: "aws:kms", kmsMasterKeyId: AWS_KEY("s3") }),
    );
    assert.deepEqual(bucketEncryption.validate(stack), [
      {
        urn: URN.dataBucket,
        message:
          "S3 bucket processed-transactions-pr42 must be encrypted at rest with a customer-managed KMS key (kmsMasterKeyId).",
      },
    ]);
  });

  test("POL-1 SEC-1 STO-1 bucket-encryption: a data bucket on aws:kms:dsse under the customer key passes", () => {
    const stack = withProps(
      compliantStack(),
      URN.dataEncryption,
      dataSse({ sseAlgorithm: "aws:kms:dsse", kmsMasterKeyId: KEY_ARN }),
    );
    assert.deepEqual(bucketEncryption.validate(stack), []);
  });

  test("POL-1 SEC-1 STO-1 bucket-encryption: the ALB access-log bucket may use SSE-S3 (AES256)", () => {
    const stack = compliantStack();
    const sse = stack.resources.find((r) => r.urn === URN.logsEncryption)?.props.rules;
    assert.deepEqual(sse, [
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true },
    ]);
    assert.deepEqual(bucketEncryption.validate(stack), []);
  });

  test("POL-1 SEC-1 STO-1 bucket-encryption: the ALB access-log bucket must not use aws:kms", () => {
    const stack = withProps(
      compliantStack(),
      URN.logsEncryption,
      dataSse({ sseAlgorithm: "aws:kms", kmsMasterKeyId: KEY_ARN }),
    );
    assert.deepEqual(bucketEncryption.validate(stack), [
      {
        urn: URN.logsBucket,
        message:
          "S3 bucket app-logs-pr42 receives ALB access logs and must use SSE-S3 (AES256), the only encryption ALB log delivery supports.",
      },
    ]);
  });

  test("POL-1 SEC-1 STO-1 bucket-encryption: with ALB access logs disabled, the log bucket's AES256 is reported", () => {
    const stack = withProps(compliantStack(), URN.alb, {
      accessLogs: { bucket: "app-logs-pr42", enabled: false, prefix: "alb" },
    });
    assert.deepEqual(bucketEncryption.validate(stack), [
      {
        urn: URN.logsBucket,
        message:
          'S3 bucket app-logs-pr42 must be encrypted with a customer-managed KMS key (sseAlgorithm "aws:kms", not "AES256").',
      },
    ]);
  });

  test("POL-1 SEC-1 STO-1 bucket-encryption: ALB access logs without enabled are off (the provider's default), so the bucket may use the customer key", () => {
    // pulumi-aws: accessLogs.enabled "Defaults to false, even when bucket is specified".
    let stack = withProps(compliantStack(), URN.alb, {
      accessLogs: { bucket: "app-logs-pr42", prefix: "alb" },
    });
    stack = withProps(
      stack,
      URN.logsEncryption,
      dataSse({ sseAlgorithm: "aws:kms", kmsMasterKeyId: KEY_ARN }),
    );
    assert.deepEqual(bucketEncryption.validate(stack), []);
  });

  test("POL-1 SEC-1 STO-1 AWS-5 bucket-encryption: the S3 access-log destination (a BucketLogging's targetBucket) may use SSE-S3 (AES256)", () => {
    const stack = compliantStack();
    const sse = resourceAt(stack, URN.accessLogsEncryption).props.rules;
    assert.deepEqual(sse, [
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true },
    ]);
    assert.deepEqual(
      stack.ofType(T.bucketLogging).flatMap((l) => l.references.targetBucket),
      [URN.accessLogsBucket, URN.accessLogsBucket],
    );
    assert.deepEqual(bucketEncryption.validate(stack), []);
  });

  test("POL-1 SEC-1 STO-1 AWS-5 bucket-encryption: a bucket no BucketLogging targets must use the customer key, whatever its name", () => {
    let stack = withoutResource(compliantStack(), URN.dataLogging);
    stack = withoutResource(stack, URN.logsLogging);
    assert.deepEqual(bucketEncryption.validate(stack), [
      {
        urn: URN.accessLogsBucket,
        message:
          'S3 bucket access-logs-pr42 must be encrypted with a customer-managed KMS key (sseAlgorithm "aws:kms", not "AES256").',
      },
    ]);
  });

  test("POL-1 SEC-1 STO-1 AWS-5 bucket-encryption: SSE-S3 stays refused on a bucket that sends its logs rather than receives them", () => {
    const stack = withProps(
      compliantStack(),
      URN.dataEncryption,
      dataSse({ sseAlgorithm: "AES256" }),
    );
    assert.deepEqual(bucketEncryption.validate(stack), [
      {
        urn: URN.dataBucket,
        message:
          'S3 bucket processed-transactions-pr42 must be encrypted with a customer-managed KMS key (sseAlgorithm "aws:kms", not "AES256").',
      },
    ]);
  });

  test("POL-1 SEC-1 STO-1 AWS-5 bucket-encryption: a KMS access-log destination is s3-bucket-logging-enabled's finding, not also this policy's", () => {
    const stack = withProps(
      compliantStack(),
      URN.accessLogsEncryption,
      dataSse({ sseAlgorithm: "aws:kms", kmsMasterKeyId: KEY_ARN }),
    );
    assert.deepEqual(bucketEncryption.validate(stack), []);
    assert.deepEqual(
      s3BucketLogging.validate(stack).map((f) => f.urn),
      [URN.accessLogsBucket],
    );
  });

  test("POL-1 SEC-1 STO-1 AWS-5 bucket-encryption: an access-log destination without an encryption configuration is told to use SSE-S3", () => {
    const stack = withoutResource(compliantStack(), URN.accessLogsEncryption);
    assert.deepEqual(bucketEncryption.validate(stack), [
      {
        urn: URN.accessLogsBucket,
        message:
          "S3 bucket access-logs-pr42 receives S3 server access logs and must have a server-side encryption configuration with SSE-S3 (AES256), the only encryption S3 log delivery supports.",
      },
    ]);
  });

  test("POL-1 SEC-1 STO-1 AWS-5 bucket-encryption: values unknown during a preview are never a finding", () => {
    const cases: [string, ReturnType<typeof compliantStack>][] = [
      [
        "data sseAlgorithm",
        withProps(compliantStack(), URN.dataEncryption, dataSse({ sseAlgorithm: UNKNOWN })),
      ],
      [
        "data kmsMasterKeyId",
        withProps(
          compliantStack(),
          URN.dataEncryption,
          dataSse({ sseAlgorithm: "aws:kms", kmsMasterKeyId: UNKNOWN }),
        ),
      ],
      [
        "destination sseAlgorithm",
        withProps(compliantStack(), URN.accessLogsEncryption, dataSse({ sseAlgorithm: UNKNOWN })),
      ],
      [
        "ALB access logs enabled",
        withProps(compliantStack(), URN.alb, {
          accessLogs: { bucket: "app-logs-pr42", enabled: UNKNOWN, prefix: "alb" },
        }),
      ],
      // The only BucketLogging names its target by a value not known yet: it may be the
      // SSE-S3 access-logs bucket.
      [
        "BucketLogging targetBucket",
        withReferences(
          withProps(withoutResource(compliantStack(), URN.logsLogging), URN.dataLogging, {
            targetBucket: UNKNOWN,
          }),
          URN.dataLogging,
          { targetBucket: undefined },
        ),
      ],
    ];
    const found = Object.fromEntries(
      cases.map(([what, stack]) => [what, bucketEncryption.validate(stack)]),
    );
    assert.deepEqual(found, Object.fromEntries(cases.map(([what]) => [what, []])));
  });

  test("POL-1 SEC-1 encryption-at-rest: values unknown during a preview are never a finding", () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ["stream encryptionType", URN.stream, { encryptionType: UNKNOWN }],
      ["stream kmsKeyId", URN.stream, { kmsKeyId: UNKNOWN }],
      ["queue kmsMasterKeyId", URN.queue, { kmsMasterKeyId: UNKNOWN }],
      ["topic kmsMasterKeyId", URN.topic, { kmsMasterKeyId: UNKNOWN }],
      ["log group kmsKeyId", URN.logGroup, { kmsKeyId: UNKNOWN }],
      ["secret kmsKeyId", URN.secret, { kmsKeyId: UNKNOWN }],
      ["db storageEncrypted", URN.db, { storageEncrypted: UNKNOWN }],
      ["db kmsKeyId", URN.db, { kmsKeyId: UNKNOWN }],
      ["db performanceInsightsKmsKeyId", URN.db, { performanceInsightsKmsKeyId: UNKNOWN }],
      ["cluster kmsKeyId", URN.cluster, { kmsKeyId: UNKNOWN }],
      ["cache atRestEncryptionEnabled", URN.cache, { atRestEncryptionEnabled: UNKNOWN }],
      ["cache kmsKeyId", URN.cache, { kmsKeyId: UNKNOWN }],
      [
        "ecr kmsKey",
        URN.ecr,
        { encryptionConfigurations: [{ encryptionType: "KMS", kmsKey: UNKNOWN }] },
      ],
      ["bucket sseAlgorithm", URN.dataEncryption, dataSse({ sseAlgorithm: UNKNOWN })],
      [
        "bucket kmsMasterKeyId",
        URN.dataEncryption,
        dataSse({ sseAlgorithm: "aws:kms", kmsMasterKeyId: UNKNOWN }),
      ],
      ["log bucket sseAlgorithm", URN.logsEncryption, dataSse({ sseAlgorithm: UNKNOWN })],
      ["bucket rules", URN.dataEncryption, { rules: UNKNOWN }],
    ];
    const found = Object.fromEntries(
      cases.map(([what, urn, patch]) => [
        what,
        policy.validate(withProps(compliantStack(), urn, patch)),
      ]),
    );
    assert.deepEqual(found, Object.fromEntries(cases.map(([what]) => [what, []])));
  });

  test("POL-1 SEC-1 encryption-at-rest: a DynamoDB or ECR encryption input unknown during a preview is not a finding", () => {
    const found = {
      dynamo: policy.validate(withResource(compliantStack(), table(UNKNOWN))),
      ecr: policy.validate(
        withProps(compliantStack(), URN.ecr, { encryptionConfigurations: UNKNOWN }),
      ),
    };
    assert.deepEqual(found, { dynamo: [], ecr: [] });
  });
});
