import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackContext } from "../context.ts";

export interface EncryptionArgs {
  /** The stack's preset, settings and naming; required, so no component invents its own names. */
  context: StackContext;
}

/** Administrative and usage actions for the account itself, listed rather than `kms:*` (SEC-3). */
const ACCOUNT_ACTIONS = [
  "kms:Create*",
  "kms:Describe*",
  "kms:Enable*",
  "kms:List*",
  "kms:Put*",
  "kms:Update*",
  "kms:Revoke*",
  "kms:Disable*",
  "kms:Get*",
  "kms:Delete*",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
  "kms:RotateKeyOnDemand",
  "kms:Encrypt",
  "kms:Decrypt",
  "kms:ReEncrypt*",
  "kms:GenerateDataKey*",
  "kms:CreateGrant",
];

/**
 * The customer-managed key for everything at rest (SEC-1): stream, database, cache, secrets,
 * queues, topics, buckets and log groups. Rotation is on; the 7-day deletion window keeps the
 * stack destroyable (GEN-2). In a key policy `Resource: "*"` means this key and nothing else.
 */
export class Encryption extends pulumi.ComponentResource {
  readonly key: aws.kms.Key;
  readonly keyArn: pulumi.Output<string>;

  constructor(name: string, args: EncryptionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("txwatch:platform:Encryption", name, {}, opts);
    const { context } = args;
    const { region } = context;
    const policy = pulumi.output(context.accountId).apply((account) =>
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "AccountAdministersAndUsesTheKey",
            Effect: "Allow",
            Principal: { AWS: `arn:aws:iam::${account}:root` },
            Action: ACCOUNT_ACTIONS,
            Resource: "*",
          },
          {
            // Log groups encrypted with this key are written by the CloudWatch Logs service.
            Sid: "CloudWatchLogsEncryptsLogGroups",
            Effect: "Allow",
            Principal: { Service: `logs.${region}.amazonaws.com` },
            Action: [
              "kms:Encrypt*",
              "kms:Decrypt*",
              "kms:ReEncrypt*",
              "kms:GenerateDataKey*",
              "kms:Describe*",
            ],
            Resource: "*",
            Condition: {
              ArnLike: {
                "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${region}:${account}:log-group:*`,
              },
            },
          },
          {
            // Fargate encrypts the API tasks' ephemeral storage with this key.
            Sid: "FargateEncryptsTaskStorage",
            Effect: "Allow",
            Principal: { Service: "fargate.amazonaws.com" },
            Action: ["kms:GenerateDataKeyWithoutPlaintext"],
            Resource: "*",
            Condition: {
              StringEquals: {
                "kms:EncryptionContext:aws:ecs:clusterAccount": account,
                "kms:EncryptionContext:aws:ecs:clusterName": context.name("api-cluster"),
              },
            },
          },
          {
            Sid: "FargateGrantsDecryptForTaskStorage",
            Effect: "Allow",
            Principal: { Service: "fargate.amazonaws.com" },
            Action: ["kms:CreateGrant"],
            Resource: "*",
            Condition: {
              StringEquals: {
                "kms:EncryptionContext:aws:ecs:clusterAccount": account,
                "kms:EncryptionContext:aws:ecs:clusterName": context.name("api-cluster"),
              },
              "ForAllValues:StringEquals": { "kms:GrantOperations": ["Decrypt"] },
            },
          },
          {
            // Alarms publish to the encrypted alarm topic.
            Sid: "CloudWatchAlarmsPublishToEncryptedTopic",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Resource: "*",
            Condition: { StringEquals: { "aws:SourceAccount": account } },
          },
        ],
      }),
    );
    this.key = new aws.kms.Key(
      context.name("txwatch-key"),
      {
        description: `txwatch data at rest (${context.environmentSuffix})`,
        enableKeyRotation: true,
        deletionWindowInDays: 7,
        policy,
      },
      { parent: this },
    );
    new aws.kms.Alias(
      context.name("txwatch-key-alias"),
      { name: `alias/${context.name("txwatch")}`, targetKeyId: this.key.keyId },
      { parent: this },
    );
    this.keyArn = this.key.arn;
    this.registerOutputs({ keyArn: this.keyArn });
  }
}
