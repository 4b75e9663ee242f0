import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackContext } from "../context.ts";
import { policyDocument, type Statement } from "../iam.ts";
import { globalBucketName } from "../naming.ts";

export interface StorageArgs {
  /** The stack's preset, settings and naming; required, so no component invents its own names. */
  context: StackContext;
  /** The stack's customer-managed key (SEC-1); required: nothing here is encrypted with an AWS-owned key. */
  keyArn: pulumi.Input<string>;
}

/**
 * Elastic Load Balancing's log-delivery account per region (AWS documentation, "Enable access
 * logs for your Application Load Balancer"). Regions opened after August 2022 use the service
 * principal instead.
 */
export const ELB_LOG_ACCOUNTS: Readonly<Record<string, string>> = Object.freeze({
  "us-east-1": "127311923021",
  "us-east-2": "033677994240",
  "us-west-1": "027434742980",
  "us-west-2": "797873946194",
  "ca-central-1": "985666609251",
  "eu-west-1": "156460612806",
  "eu-west-2": "652711504416",
  "eu-central-1": "054676820928",
  "ap-northeast-1": "582318560864",
  "ap-southeast-1": "114774131450",
  "sa-east-1": "507241528517",
});

/** The prefix the ALB writes its access logs under. */
export const ALB_LOG_PREFIX = "alb";
/** How long S3 server access logs are kept. */
export const ACCESS_LOG_RETENTION_DAYS = 365;
/** The prefix S3 server access logs of each bucket go under, in the access-logs bucket. */
export const S3_ACCESS_LOG_PREFIX = "s3";

interface StackBucket {
  bucket: aws.s3.Bucket;
  policy: aws.s3.BucketPolicy;
}

/**
 * `app-logs`, `processed-transactions` and `access-logs` (STO-1, AWS-2, AWS-5): public access
 * blocked, TLS-only policies, versioning and lifecycle, force-destroyable (GEN-2), encrypted
 * with the stack key, named `{type}-{suffix}-{account and region hash}` because bucket names are
 * global. Two exceptions AWS imposes: the logs bucket uses SSE-S3 while it receives ALB access
 * logs, and `access-logs`, where S3 delivers the server access logs of the other two, uses
 * SSE-S3 because S3 log delivery supports no other default encryption. Following AWS's advice,
 * the access-logs bucket does not log itself (its own log would be an endless loop).
 */
export class Storage extends pulumi.ComponentResource {
  readonly appLogs: aws.s3.Bucket;
  readonly processedData: aws.s3.Bucket;
  readonly accessLogs: aws.s3.Bucket;
  /** The app-logs bucket's policy: the ALB may only enable access logs once it exists. */
  readonly appLogsPolicy: aws.s3.BucketPolicy;

  constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("txwatch:platform:Storage", name, {}, opts);
    const { context, keyArn } = args;
    const elbAccount = ELB_LOG_ACCOUNTS[context.region];
    const dataKey = context.dataKey(keyArn);
    const customerKey =
      dataKey === undefined
        ? { sseAlgorithm: "AES256" }
        : { sseAlgorithm: "aws:kms", kmsMasterKeyId: dataKey };
    const sources = ["app-logs", "processed-transactions"].map((type) =>
      globalBucketName(type, context),
    );
    const accessLogs = this.bucket(context, "access-logs", { sseAlgorithm: "AES256" }, (arn) => [
      {
        // AWS documentation, "Enabling Amazon S3 server access logging": the logging service
        // principal, only for this stack's buckets in this account.
        Sid: "S3ServerAccessLogDelivery",
        Effect: "Allow",
        Principal: { Service: "logging.s3.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: pulumi.interpolate`${arn}/${S3_ACCESS_LOG_PREFIX}/*`,
        Condition: {
          ArnLike: {
            "aws:SourceArn": sources.map((bucket) => pulumi.interpolate`arn:aws:s3:::${bucket}`),
          },
          StringEquals: { "aws:SourceAccount": context.accountId },
        },
      } as Statement,
    ]);
    const appLogs = context.settings.albAccessLogs
      ? this.bucket(context, "app-logs", { sseAlgorithm: "AES256" }, (arn) => [
          {
            Sid: "AlbAccessLogDelivery",
            Effect: "Allow",
            ...(elbAccount === undefined
              ? { Principal: { Service: "logdelivery.elasticloadbalancing.amazonaws.com" } }
              : { Principal: { AWS: `arn:aws:iam::${elbAccount}:root` } }),
            Action: "s3:PutObject",
            Resource: pulumi.interpolate`${arn}/${ALB_LOG_PREFIX}/AWSLogs/${context.accountId}/*`,
          } as Statement,
        ])
      : this.bucket(context, "app-logs", customerKey, () => []);
    const processedData = this.bucket(context, "processed-transactions", customerKey, () => []);
    for (const [type, source] of [
      ["app-logs", appLogs],
      ["processed-transactions", processedData],
    ] as const) {
      new aws.s3.BucketLogging(
        `${context.name(type)}-access-logging`,
        {
          bucket: source.bucket.id,
          targetBucket: accessLogs.bucket.id,
          targetPrefix: `${S3_ACCESS_LOG_PREFIX}/${type}/`,
        },
        // S3 delivers nothing (and may refuse) until the destination's policy admits it.
        { parent: this, dependsOn: [accessLogs.policy] },
      );
    }
    this.appLogs = appLogs.bucket;
    this.appLogsPolicy = appLogs.policy;
    this.processedData = processedData.bucket;
    this.accessLogs = accessLogs.bucket;
    this.registerOutputs({
      appLogs: this.appLogs.bucket,
      processedData: this.processedData.bucket,
      accessLogs: this.accessLogs.bucket,
    });
  }

  private bucket(
    context: StackContext,
    type: string,
    encryption: { sseAlgorithm: string; kmsMasterKeyId?: pulumi.Input<string> },
    extraStatements: (arn: pulumi.Output<string>) => Statement[],
  ): StackBucket {
    const parent = { parent: this };
    const name = context.name(type);
    const bucket = new aws.s3.Bucket(
      name,
      { bucket: globalBucketName(type, context), forceDestroy: true },
      parent,
    );
    new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
      parent,
    );
    const block = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      parent,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: bucket.id,
        rules: [
          {
            applyServerSideEncryptionByDefault: encryption,
            bucketKeyEnabled: encryption.sseAlgorithm === "aws:kms",
          },
        ],
      },
      parent,
    );
    new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
      parent,
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucket.id,
        rules:
          type === "access-logs"
            ? [
                {
                  // Many small objects: Standard-IA would bill each as 128 KB. A year of
                  // request records, then gone.
                  id: "expire",
                  status: "Enabled",
                  filter: {},
                  expiration: { days: ACCESS_LOG_RETENTION_DAYS },
                  noncurrentVersionExpiration: { noncurrentDays: 30 },
                  abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                },
                {
                  // In a versioned bucket expiry leaves delete markers, which only this removes
                  // (it cannot share a rule with expiration days).
                  id: "expired-delete-markers",
                  status: "Enabled",
                  filter: {},
                  expiration: { expiredObjectDeleteMarker: true },
                },
              ]
            : [
                {
                  id: "tier-and-expire",
                  status: "Enabled",
                  filter: {},
                  transitions: [{ days: 30, storageClass: "STANDARD_IA" }],
                  noncurrentVersionExpiration: { noncurrentDays: 30 },
                  abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                },
              ],
      },
      parent,
    );
    const policy = new aws.s3.BucketPolicy(
      `${name}-policy`,
      {
        bucket: bucket.id,
        policy: policyDocument([
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
          ...extraStatements(bucket.arn),
        ]),
      },
      // A policy applied before the public access block can be refused as public.
      { parent: this, dependsOn: [block] },
    );
    return { bucket, policy };
  }
}
