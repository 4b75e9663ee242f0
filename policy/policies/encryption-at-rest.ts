import { type CheckedResource, eachOf, isKnown, label, T, type TxwatchPolicy } from "../model.ts";

/** An AWS-managed key (`alias/aws/...`) is encryption, but not under the customer's control. */
export function isCustomerKey(value: unknown): boolean {
  if (!isKnown(value)) return true;
  return typeof value === "string" && value !== "" && !/(^|:)alias\/aws\//.test(value);
}

export const must = (what: string, resource: CheckedResource, field: string) =>
  `${what} ${label(resource)} must be encrypted at rest with a customer-managed KMS key (${field}).`;

export const encryptionAtRest: TxwatchPolicy = {
  name: "encryption-at-rest-customer-key",
  description:
    "Checks whether every data store, stream, queue, topic, secret, image repository and log group is encrypted at rest with a customer-managed KMS key.",
  scope: "resource",
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
  ],
};
