import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackContext } from "../context.ts";
import { policyDocument, type Statement } from "../iam.ts";

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

/**
 * `app-logs-{suffix}` and `processed-transactions-{suffix}` (STO-1): public access blocked,
 * TLS-only policies, versioning and lifecycle, force-destroyable (GEN-2), encrypted with the
 * stack key; except that the logs bucket uses SSE-S3 while it receives ALB access logs, because
 * ALB log delivery supports no other encryption.
 */
export class Storage extends pulumi.ComponentResource {
  readonly appLogs: aws.s3.Bucket;
  readonly processedData: aws.s3.Bucket;

  constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("txwatch:platform:Storage", name, {}, opts);
    const { context, keyArn } = args;
    const elbAccount = ELB_LOG_ACCOUNTS[context.region];
    const dataKey = context.dataKey(keyArn);
    const customerKey =
      dataKey === undefined
        ? { sseAlgorithm: "AES256" }
        : { sseAlgorithm: "aws:kms", kmsMasterKeyId: dataKey };
    this.appLogs = context.settings.albAccessLogs
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
    this.processedData = this.bucket(context, "processed-transactions", customerKey, () => []);
    this.registerOutputs({
      appLogs: this.appLogs.bucket,
      processedData: this.processedData.bucket,
    });
  }

  private bucket(
    context: StackContext,
    type: string,
    encryption: { sseAlgorithm: string; kmsMasterKeyId?: pulumi.Input<string> },
    extraStatements: (arn: pulumi.Output<string>) => Statement[],
  ): aws.s3.Bucket {
    const parent = { parent: this };
    const name = context.name(type);
    const bucket = new aws.s3.Bucket(name, { bucket: name, forceDestroy: true }, parent);
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
        rules: [
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
    new aws.s3.BucketPolicy(
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
    return bucket;
  }
}
