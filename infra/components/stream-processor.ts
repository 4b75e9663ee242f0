import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { bundleLambda, LAMBDA_HANDLERS } from "../build/processor-bundle.ts";
import type { RuntimeConnections, StackContext } from "../context.ts";
import { readSecretsStatements } from "../iam.ts";
import { parallelizationFactor } from "../sizing.ts";
import { vpcFunction } from "../vpc-function.ts";

export interface StreamProcessorArgs {
  /** The stack's preset, settings and naming; required, so no component invents its own names. */
  context: StackContext;
  /** The stack's customer-managed key (SEC-1); required: nothing here is encrypted with an AWS-owned key. */
  keyArn: pulumi.Input<string>;
  /** The transaction stream, the only one the role may touch (SEC-3); required. */
  streamArn: pulumi.Input<string>;
  /**
   * The stream's shard count, which the parallelization factor is sized against (SCL-4);
   * undefined for an ON_DEMAND stream, whose shards Kinesis changes (counted as 1). Required,
   * so the factor never assumes more shards than the stream has.
   */
  streamShards: number | undefined;
  /** Private subnets, one per AZ; required, so the data tier is never placed in a public subnet. */
  subnetIds: pulumi.Input<string>[];
  /** Its security group, whose rules admit only the callers (SEC-2); required. */
  securityGroupId: pulumi.Input<string>;
  /** The VPC's default security group, the function's on its way out (AWS-2). */
  defaultSecurityGroupId: pulumi.Input<string>;
  /** Data-store addresses and secret ARNs for the runtime (never secret values, SEC-4); required. */
  connections: RuntimeConnections;
  /** The bundle directory. @default a fresh esbuild bundle of src/handlers/ */
  codeDirectory?: string;
  /** What must have happened first: the ledger's migration (the processor never migrates). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * Never give a record up (-1: retried until it leaves the stream's retention). The processor
 * itself quarantines a record the ledger refuses for good and commits the rest (REL-5), so what
 * the function still fails is an outage: giving up after N quick retries would skip accepted
 * transactions, which then never reach the ledger. During an outage the shard waits, and the
 * iterator-age alarm says so.
 */
export const MAX_RETRY_ATTEMPTS = -1;
/** Nor for age: -1 keeps retrying up to the stream's retention (168 hours in the presets). */
export const MAX_RECORD_AGE_SECONDS = -1;

/**
 * The stream processor (CMP-1): src/handlers/lambda.ts bundled for Node.js 22 on arm64, in the
 * private subnets, fed by a Kinesis event source mapping that bisects a failing batch, reports
 * partial failures by sequence number and never drops a record; the encrypted failure queue
 * receives only what leaves the stream's retention unprocessed.
 */
export class StreamProcessor extends pulumi.ComponentResource {
  readonly function: aws.lambda.Function;
  readonly functionName: string;
  readonly deadLetterQueue: aws.sqs.Queue;
  readonly eventSourceMapping: aws.lambda.EventSourceMapping;
  /** Concurrent batches per shard, from sizing (SCL-4). */
  readonly parallelizationFactor: number;

  constructor(name: string, args: StreamProcessorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("txwatch:platform:StreamProcessor", name, {}, opts);
    const { context, keyArn, connections } = args;
    const { settings } = context;
    const parent = { parent: this };
    this.functionName = context.name("processor");
    this.parallelizationFactor = parallelizationFactor({
      peakTransactionsPerMinute: settings.peakTransactionsPerMinute,
      headroom: settings.headroom,
      shards: args.streamShards ?? 1,
    });

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
    const { function: fn, policy } = vpcFunction(
      {
        context,
        keyArn,
        type: "processor",
        description: "txwatch stream processor: history, rules, ledger",
        code: args.codeDirectory ?? bundleLambda(),
        handler: LAMBDA_HANDLERS.processor,
        subnetIds: args.subnetIds,
        securityGroupId: args.securityGroupId,
        defaultSecurityGroupId: args.defaultSecurityGroupId,
        memorySize: settings.processorMemoryMb,
        timeout: 60,
        // No ALERT_TOPIC_ARN: the API tasks deliver alerts to SNS from the ledger (REL-6).
        environment: connections.environment,
        // New code goes live only once the schema it writes is there, on every deploy.
        ...(args.dependsOn !== undefined && { dependsOn: args.dependsOn }),
        statements: [
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
          ...readSecretsStatements(keyArn, [connections.redisAuthSecretArn]),
          {
            Sid: "ConnectAsTheApplicationRole",
            Effect: "Allow",
            Action: ["rds-db:connect"],
            Resource: connections.databaseConnectArn,
          },
          {
            Sid: "SendFailedBatchesToTheQueue",
            Effect: "Allow",
            Action: ["sqs:SendMessage"],
            Resource: this.deadLetterQueue.arn,
          },
        ],
      },
      this,
    );
    this.function = fn;

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
        maximumRecordAgeInSeconds: MAX_RECORD_AGE_SECONDS,
        // Concurrent batches per shard, sized so shards × factor invocations cover the peak
        // (SCL-4). Each customer's transactions stay in order (PRC-1) at any factor: the
        // partition key is the customer id (src/api/ingest.ts), and "If you increase the number
        // of concurrent batches per shard, Lambda still ensures in-order processing at the
        // partition-key level" (AWS Lambda Developer Guide, "Using Lambda with Kinesis Data
        // Streams", https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html).
        parallelizationFactor: this.parallelizationFactor,
        destinationConfig: { onFailure: { destinationArn: this.deadLetterQueue.arn } },
      },
      // Records flow only once the ledger's schema is the one this code writes.
      { parent: this, dependsOn: [policy, ...(args.dependsOn ?? [])] },
    );
    this.registerOutputs({ functionName: this.function.name });
  }
}
