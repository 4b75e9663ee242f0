import {
  eachOf,
  type Finding,
  isKnown,
  label,
  type StackView,
  T,
  type TxwatchPolicy,
} from "../model.ts";
import { isCustomerKey, must } from "./encryption-at-rest.ts";

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

export const bucketEncryption: TxwatchPolicy = {
  name: "bucket-encryption-customer-key",
  description:
    "Checks whether every S3 bucket has default encryption with a customer-managed KMS key, except the bucket that receives ALB access logs, which must use SSE-S3.",
  scope: "stack",
  validate: buckets,
};
