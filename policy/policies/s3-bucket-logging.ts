import {
  type CheckedResource,
  eachOf,
  isKnown,
  label,
  list,
  record,
  type StackView,
  T,
  type TxwatchPolicy,
} from "../model.ts";

/** The logging resource and its former name (pulumi-aws v6), still accepted by v7. */
const LOGGINGS = [T.bucketLogging, "aws:s3/bucketLoggingV2:BucketLoggingV2"];

/** Which buckets log their server access, and which receive those logs. */
export interface AccessLogging {
  /** Buckets whose server access logs are delivered (BucketLogging or inline `logging`). */
  logged: ReadonlySet<string>;
  /** Buckets that receive server access logs: the targetBucket of some logging. */
  destinations: ReadonlySet<string>;
  /** A logging whose source bucket cannot be told during a preview: it may be any bucket. */
  undecidedSource: boolean;
  /** A logging whose target bucket cannot be told during a preview: it may be any bucket. */
  undecidedTarget: boolean;
}

/** Whether a reference or value names a bucket we cannot identify during a preview. */
const undecided = (buckets: readonly CheckedResource[], value: unknown) =>
  buckets.length === 0 && !isKnown(value);

export function accessLogging(stack: StackView): AccessLogging {
  const logged = new Set<string>();
  const destinations = new Set<string>();
  let undecidedSource = false;
  let undecidedTarget = false;
  for (const logging of stack.ofType(...LOGGINGS)) {
    const sources = stack.referenced(logging, "bucket", T.bucket);
    const targets = stack.referenced(logging, "targetBucket", T.bucket);
    undecidedSource ||= undecided(sources, logging.props.bucket);
    undecidedTarget ||= undecided(targets, logging.props.targetBucket);
    for (const bucket of sources) logged.add(bucket.urn);
    for (const bucket of targets) destinations.add(bucket.urn);
  }
  // The deprecated inline form: `logging` (pulumi-aws v7) or `loggings` (v6).
  for (const bucket of stack.ofType(T.bucket)) {
    for (const property of ["logging", "loggings"]) {
      const value = bucket.props[property];
      if (!isKnown(value)) {
        logged.add(bucket.urn);
        undecidedTarget ||= stack.referenced(bucket, property, T.bucket).length === 0;
        continue;
      }
      const configs = list(value).map(record);
      if (configs.length === 0) continue;
      logged.add(bucket.urn);
      const targets = stack.referenced(bucket, property, T.bucket);
      for (const target of targets) destinations.add(target.urn);
      undecidedTarget ||= configs.some((c) => undecided(targets, c.targetBucket));
    }
  }
  return { logged, destinations, undecidedSource, undecidedTarget };
}

/** The default encryption algorithms a bucket's encryption configurations name, known ones only. */
function algorithms(stack: StackView, bucket: CheckedResource): string[] {
  return stack
    .referencing(bucket, T.bucketEncryption, "bucket")
    .flatMap((config) => list(config.props.rules))
    .map((rule) => record(record(rule).applyServerSideEncryptionByDefault).sseAlgorithm)
    .filter((algorithm): algorithm is string => typeof algorithm === "string");
}

export const s3BucketLogging: TxwatchPolicy = {
  name: "s3-bucket-logging-enabled",
  description:
    "Checks whether every S3 bucket has server access logging, except the bucket that receives those logs, which must use SSE-S3 default encryption.",
  scope: "stack",
  validate: (stack) => {
    const { logged, destinations, undecidedSource, undecidedTarget } = accessLogging(stack);
    return eachOf(stack, [T.bucket], (bucket) => {
      if (destinations.has(bucket.urn)) {
        // AWS delivers server access logs only to a bucket under SSE-S3; the destination itself
        // does not log (AWS advises against it: logging into itself never ends).
        const other = algorithms(stack, bucket).find((algorithm) => algorithm !== "AES256");
        return [
          other === undefined
            ? undefined
            : `S3 bucket ${label(bucket)} receives S3 server access logs and must use SSE-S3 (AES256) default encryption, the only one S3 log delivery supports (not "${other}").`,
        ];
      }
      if (logged.has(bucket.urn) || undecidedSource || undecidedTarget) return [];
      return [
        `S3 bucket ${label(bucket)} must have server access logging (an aws.s3.BucketLogging with it as bucket and the access-log bucket as targetBucket).`,
      ];
    });
  },
};
