import {
  type CheckedResource,
  eachOf,
  type Finding,
  isKnown,
  label,
  type StackView,
  T,
  type TxwatchPolicy,
} from "../model.ts";

/** An AWS-managed key (`alias/aws/...`) is encryption, but not under the customer's control. */
function isCustomerKey(value: unknown): boolean {
  if (!isKnown(value)) return true;
  return typeof value === "string" && value !== "" && !/(^|:)alias\/aws\//.test(value);
}

const must = (what: string, resource: CheckedResource, field: string) =>
  `${what} ${label(resource)} must be encrypted at rest with a customer-managed KMS key (${field}).`;

/**
 * The buckets that receive ALB access logs (ALB delivers only to SSE-S3 buckets), and those
 * that may: named by access logs whose `enabled` is unknown during a preview.
 */
function albLogBuckets(stack: StackView): { targets: Set<string>; undecided: Set<string> } {
  const targets = new Set<string>();
  const undecided = new Set<string>();
  for (const alb of stack.ofType(T.loadBalancer)) {
    const enabled = (alb.props.accessLogs as { enabled?: unknown } | undefined)?.enabled;
    // pulumi-aws: access logs are off unless `enabled` is true, even with a bucket named.
    const into = enabled === true ? targets : isKnown(enabled) ? undefined : undecided;
    for (const bucket of stack.referenced(alb, "accessLogs", T.bucket)) into?.add(bucket.urn);
  }
  return { targets, undecided };
}

function buckets(stack: StackView): Finding[] {
  const { targets: albTargets, undecided } = albLogBuckets(stack);
  return eachOf(stack, [T.bucket], (bucket) => {
    if (undecided.has(bucket.urn)) return [];
    const configs = stack.referencing(bucket, T.bucketEncryption, "bucket");
    if (configs.length === 0) {
      return [
        `S3 bucket ${label(bucket)} must have a server-side encryption configuration with a customer-managed KMS key.`,
      ];
    }
    return configs.flatMap((config) =>
      (Array.isArray(config.props.rules) ? config.props.rules : []).map((rule) => {
        const sse = (rule as { applyServerSideEncryptionByDefault?: Record<string, unknown> })
          .applyServerSideEncryptionByDefault;
        const algorithm = sse?.sseAlgorithm;
        if (!isKnown(algorithm)) return undefined;
        if (albTargets.has(bucket.urn)) {
          // AWS's own constraint: ALB access logs need SSE-S3, the one allowed exception.
          return algorithm === "AES256"
            ? undefined
            : `S3 bucket ${label(bucket)} receives ALB access logs and must use SSE-S3 (AES256), the only encryption ALB log delivery supports.`;
        }
        if (algorithm !== "aws:kms" && algorithm !== "aws:kms:dsse") {
          return `S3 bucket ${label(bucket)} must be encrypted with a customer-managed KMS key (sseAlgorithm "aws:kms", not "${String(algorithm)}").`;
        }
        return isCustomerKey(sse?.kmsMasterKeyId)
          ? undefined
          : must("S3 bucket", bucket, "kmsMasterKeyId");
      }),
    );
  });
}

export const encryptionAtRest: TxwatchPolicy = {
  name: "encryption-at-rest-customer-key",
  description:
    "Checks whether every data store, stream, queue, topic, secret, image repository and log group is encrypted at rest with a customer-managed KMS key.",
  validate: (stack) => [
    ...eachOf(stack, [T.kinesisStream], (r) => [
      r.props.encryptionType === "KMS" || !isKnown(r.props.encryptionType)
        ? isCustomerKey(r.props.kmsKeyId)
          ? undefined
          : must("Kinesis stream", r, "kmsKeyId")
        : must("Kinesis stream", r, 'encryptionType "KMS"'),
    ]),
    ...eachOf(stack, [T.sqsQueue], (r) => [
      isCustomerKey(r.props.kmsMasterKeyId) ? undefined : must("SQS queue", r, "kmsMasterKeyId"),
    ]),
    ...eachOf(stack, [T.snsTopic], (r) => [
      isCustomerKey(r.props.kmsMasterKeyId) ? undefined : must("SNS topic", r, "kmsMasterKeyId"),
    ]),
    ...eachOf(stack, [T.logGroup], (r) => [
      isCustomerKey(r.props.kmsKeyId) ? undefined : must("Log group", r, "kmsKeyId"),
    ]),
    ...eachOf(stack, [T.secret], (r) => [
      isCustomerKey(r.props.kmsKeyId) ? undefined : must("Secret", r, "kmsKeyId"),
    ]),
    ...eachOf(stack, [T.dbInstance, T.dbCluster], (r) => [
      r.props.storageEncrypted === true || !isKnown(r.props.storageEncrypted)
        ? isCustomerKey(r.props.kmsKeyId)
          ? undefined
          : must("Database", r, "kmsKeyId")
        : must("Database", r, "storageEncrypted true"),
      r.props.performanceInsightsEnabled === true &&
      !isCustomerKey(r.props.performanceInsightsKmsKeyId)
        ? must("Database", r, "performanceInsightsKmsKeyId")
        : undefined,
      // The master password RDS manages is a Secrets Manager secret like any other.
      r.props.manageMasterUserPassword === true && !isCustomerKey(r.props.masterUserSecretKmsKeyId)
        ? must("Database", r, "masterUserSecretKmsKeyId")
        : undefined,
    ]),
    ...eachOf(stack, [T.clusterInstance], (r) => [
      r.props.performanceInsightsEnabled === true &&
      !isCustomerKey(r.props.performanceInsightsKmsKeyId)
        ? must("Database", r, "performanceInsightsKmsKeyId")
        : undefined,
    ]),
    ...eachOf(stack, [T.replicationGroup], (r) => [
      r.props.atRestEncryptionEnabled === true || !isKnown(r.props.atRestEncryptionEnabled)
        ? isCustomerKey(r.props.kmsKeyId)
          ? undefined
          : must("Redis replication group", r, "kmsKeyId")
        : must("Redis replication group", r, "atRestEncryptionEnabled true"),
    ]),
    ...eachOf(stack, [T.dynamoTable], (r) => {
      if (!isKnown(r.props.serverSideEncryption)) return [];
      const sse = r.props.serverSideEncryption as Record<string, unknown> | undefined;
      return [
        sse?.enabled === true && isCustomerKey(sse.kmsKeyArn)
          ? undefined
          : must("DynamoDB table", r, "serverSideEncryption.kmsKeyArn"),
      ];
    }),
    ...eachOf(stack, [T.ecrRepository], (r) => {
      if (!isKnown(r.props.encryptionConfigurations)) return [];
      const configs = Array.isArray(r.props.encryptionConfigurations)
        ? (r.props.encryptionConfigurations as Record<string, unknown>[])
        : [];
      const kms = configs.find((c) => c.encryptionType === "KMS");
      return [
        kms !== undefined && isCustomerKey(kms.kmsKey)
          ? undefined
          : must("ECR repository", r, "encryptionConfigurations KMS"),
      ];
    }),
    ...buckets(stack),
  ],
};
