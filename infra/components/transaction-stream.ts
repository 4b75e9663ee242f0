import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackContext } from "../context.ts";
import { kinesisShardCount } from "../sizing.ts";

export interface TransactionStreamArgs {
  /** The stack's preset, settings and naming; required, so no component invents its own names. */
  context: StackContext;
  /** The stack's customer-managed key (SEC-1); required: nothing here is encrypted with an AWS-owned key. */
  keyArn: pulumi.Input<string>;
}

/** Shard-level metrics the alarms and the dashboard read. */
export const SHARD_LEVEL_METRICS = [
  "IncomingBytes",
  "IncomingRecords",
  "OutgoingBytes",
  "OutgoingRecords",
  "WriteProvisionedThroughputExceeded",
  "ReadProvisionedThroughputExceeded",
  "IteratorAgeMilliseconds",
];

/**
 * `transaction-stream-{suffix}` (STR-1): KMS-encrypted with the stack key, retention from config
 * (168 h by default, so a week can be replayed), shard count from the sized peak load or
 * ON_DEMAND by config.
 */
export class TransactionStream extends pulumi.ComponentResource {
  readonly stream: aws.kinesis.Stream;
  readonly shardCount: number | undefined;

  constructor(name: string, args: TransactionStreamArgs, opts?: pulumi.ComponentResourceOptions) {
    super("txwatch:platform:TransactionStream", name, {}, opts);
    const { context, keyArn } = args;
    const { settings } = context;
    const onDemand = settings.streamMode === "ON_DEMAND";
    this.shardCount = onDemand
      ? undefined
      : kinesisShardCount({
          peakTransactionsPerMinute: settings.peakTransactionsPerMinute,
          averageRecordBytes: settings.averageRecordBytes,
          headroom: settings.headroom,
          consumers: 1,
        });
    this.stream = new aws.kinesis.Stream(
      context.name("transaction-stream"),
      {
        name: context.name("transaction-stream"),
        ...(this.shardCount !== undefined && { shardCount: this.shardCount }),
        streamModeDetails: { streamMode: settings.streamMode },
        retentionPeriod: settings.streamRetentionHours,
        encryptionType: "KMS",
        kmsKeyId: context.dataKey(keyArn) ?? "alias/aws/kinesis",
        shardLevelMetrics: SHARD_LEVEL_METRICS,
        enforceConsumerDeletion: true,
      },
      { parent: this },
    );
    this.registerOutputs({ streamArn: this.stream.arn });
  }
}
