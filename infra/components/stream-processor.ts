import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { bundleProcessor, PROCESSOR_HANDLER } from "../build/processor-bundle.ts";
import type { RuntimeConnections, StackContext } from "../context.ts";
import { readSecretsStatements } from "../iam.ts";
import { encryptedLogGroup } from "../log-group.ts";
import { serviceRole } from "../service-role.ts";

export interface StreamProcessorArgs {
  /** The stack's preset, settings and naming; required, so no component invents its own names. */
  context: StackContext;
  /** The stack's customer-managed key (SEC-1); required: nothing here is encrypted with an AWS-owned key. */
  keyArn: pulumi.Input<string>;
  /** The transaction stream, the only one the role may touch (SEC-3); required. */
  streamArn: pulumi.Input<string>;
  /** Private subnets, one per AZ; required, so the data tier is never placed in a public subnet. */
  subnetIds: pulumi.Input<string>[];
  /** Its security group, whose rules admit only the callers (SEC-2); required. */
  securityGroupId: pulumi.Input<string>;
  /** Data-store addresses and secret ARNs for the runtime (never secret values, SEC-4); required. */
  connections: RuntimeConnections;
  /** Where fraud alerts are published (ALERT_TOPIC_ARN). */
  alertTopicArn: pulumi.Input<string>;
  /** The bundle directory. @default a fresh esbuild bundle of src/handlers/lambda.ts */
  codeDirectory?: string;
}

/** A stuck record is retried this many times (bisecting) before it goes to the failure queue. */
export const MAX_RETRY_ATTEMPTS = 10;

/**
 * The stream processor (CMP-1): src/handlers/lambda.ts bundled for Node.js 22 on arm64, in the
 * private subnets, fed by a Kinesis event source mapping that bisects a failing batch, reports
 * partial failures by sequence number and sends what still fails to an encrypted queue.
 */
export class StreamProcessor extends pulumi.ComponentResource {
  readonly function: aws.lambda.Function;
  readonly functionName: string;
  readonly deadLetterQueue: aws.sqs.Queue;
  readonly eventSourceMapping: aws.lambda.EventSourceMapping;

  constructor(name: string, args: StreamProcessorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("txwatch:platform:StreamProcessor", name, {}, opts);
    const { context, keyArn, connections } = args;
    const { settings } = context;
    const parent = { parent: this };
    this.functionName = context.name("processor");

    const logGroup = encryptedLogGroup(
      context,
      context.name("processor-logs"),
      `/aws/lambda/${this.functionName}`,
      keyArn,
      this,
    );
    this.deadLetterQueue = new aws.sqs.Queue(
      context.name("processor-dlq"),
      {
        name: context.name("processor-dlq"),
        ...(context.dataKey(keyArn) === undefined
          ? { sqsManagedSseEnabled: true }
          : { kmsMasterKeyId: keyArn, kmsDataKeyReusePeriodSeconds: 300 }),
        messageRetentionSeconds: 14 * 24 * 3600,
      },
      parent,
    );

    const ec2Arn = (type: string) =>
      pulumi.interpolate`arn:aws:ec2:${context.region}:${context.accountId}:${type}/*`;
    // Lambda checks the role can manage ENIs, read the stream and send to the queue when the
    // function and its mapping are created: both wait for the policy, not just the role.
    const { role, policy } = serviceRole(
      context,
      "processor",
      "lambda.amazonaws.com",
      [
        {
          Sid: "ReadTheTransactionStream",
          Effect: "Allow",
          Action: [
            "kinesis:DescribeStream",
            "kinesis:DescribeStreamSummary",
            "kinesis:GetRecords",
            "kinesis:GetShardIterator",
            "kinesis:ListShards",
            "kinesis:SubscribeToShard",
          ],
          Resource: args.streamArn,
        },
        ...readSecretsStatements(keyArn, [
          connections.databaseSecretArn,
          connections.redisAuthSecretArn,
        ]),
        {
          Sid: "PublishAlerts",
          Effect: "Allow",
          Action: ["sns:Publish"],
          Resource: args.alertTopicArn,
        },
        {
          Sid: "SendFailedBatchesToTheQueue",
          Effect: "Allow",
          Action: ["sqs:SendMessage"],
          Resource: this.deadLetterQueue.arn,
        },
        {
          Sid: "WriteOwnLogs",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: pulumi.interpolate`${logGroup.arn}:*`,
        },
        {
          // A function in a VPC attaches ENIs in the stack's subnets and groups.
          Sid: "ManageVpcNetworkInterfaces",
          Effect: "Allow",
          Action: [
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
          ],
          Resource: [ec2Arn("network-interface"), ec2Arn("subnet"), ec2Arn("security-group")],
        },
        {
          // Describe calls have no resource-level permissions in EC2: "*" is the only scope.
          Sid: "DescribeVpcNetworkInterfaces",
          Effect: "Allow",
          Action: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
          Resource: "*",
        },
      ],
      this,
    );

    const code = args.codeDirectory ?? bundleProcessor();
    this.function = new aws.lambda.Function(
      this.functionName,
      {
        name: this.functionName,
        description: "txwatch stream processor: history, rules, ledger, alerts",
        runtime: "nodejs22.x",
        architectures: ["arm64"],
        handler: PROCESSOR_HANDLER,
        code: new pulumi.asset.FileArchive(code),
        role: role.arn,
        memorySize: settings.processorMemoryMb,
        timeout: 60,
        kmsKeyArn: context.dataKey(keyArn),
        vpcConfig: { subnetIds: args.subnetIds, securityGroupIds: [args.securityGroupId] },
        loggingConfig: { logFormat: "JSON", logGroup: logGroup.name },
        environment: {
          variables: {
            ...connections.environment,
            ALERT_TOPIC_ARN: args.alertTopicArn,
            // The Lambda Node.js runtime ships the RDS certificate authorities here.
            DB_CA_BUNDLE: "/var/runtime/ca-cert.pem",
            POWERTOOLS_SERVICE_NAME: "txwatch-processor",
            LOG_LEVEL: "info",
          },
        },
      },
      { parent: this, dependsOn: [logGroup, policy] },
    );

    this.eventSourceMapping = new aws.lambda.EventSourceMapping(
      context.name("processor-stream-mapping"),
      {
        eventSourceArn: args.streamArn,
        functionName: this.function.arn,
        startingPosition: "TRIM_HORIZON",
        batchSize: settings.processorBatchSize,
        maximumBatchingWindowInSeconds: settings.processorBatchingWindowSeconds,
        bisectBatchOnFunctionError: true,
        functionResponseTypes: ["ReportBatchItemFailures"],
        maximumRetryAttempts: MAX_RETRY_ATTEMPTS,
        // One batch at a time per shard keeps every customer's transactions in order (PRC-1).
        parallelizationFactor: 1,
        destinationConfig: { onFailure: { destinationArn: this.deadLetterQueue.arn } },
      },
      { parent: this, dependsOn: [policy] },
    );
    this.registerOutputs({ functionName: this.function.name });
  }
}
