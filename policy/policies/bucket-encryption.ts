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
import { accessLogging } from "./s3-bucket-logging.ts";

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

/**
 * A customer-managed KMS key on every bucket, with two exceptions AWS imposes, both SSE-S3: the
 * bucket that receives ALB access logs and the one S3 server access logs go to (the
 * `targetBucket` of a BucketLogging).
 */
function buckets(stack: StackView): Finding[] {
  const { targets: albTargets, undecided } = albLogBuckets(stack);
  const { destinations, undecidedTarget } = accessLogging(stack);
  return eachOf(stack, [T.bucket], (bucket) => {
    if (undecided.has(bucket.urn)) return [];
    const configs = stack.referencing(bucket, T.bucketEncryption, "bucket");
    const logDestination = destinations.has(bucket.urn);
    if (configs.length === 0) {
      return [
        logDestination
          ? `S3 bucket ${label(bucket)} receives S3 server access logs and must have a server-side encryption configuration with SSE-S3 (AES256), the only encryption S3 log delivery supports.`
          : `S3 bucket ${label(bucket)} must have a server-side encryption configuration with a customer-managed KMS key.`,
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
        // The second exception AWS imposes: S3 server access logs are delivered only to a
        // bucket under SSE-S3. Another algorithm there is s3-bucket-logging-enabled's finding,
        // so this policy does not also ask for a KMS key S3 could not deliver under.
        if (logDestination) return undefined;
        // A logging whose target is unknown during a preview may name this SSE-S3 bucket.
        if (algorithm === "AES256" && undecidedTarget) return undefined;
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
    "Checks whether every S3 bucket has default encryption with a customer-managed KMS key, except the buckets that receive ALB or S3 server access logs, which use SSE-S3.",
  scope: "stack",
  validate: buckets,
};
