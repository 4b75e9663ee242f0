import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
} from "@aws-sdk/client-kinesis";
import type { KinesisStreamEvent } from "aws-lambda";

/** A record as a shard holds it. */
export interface StreamRecord {
  sequenceNumber: string;
  partitionKey: string;
  data: Buffer;
  /** @default "shardId-000000000000" */
  shardId?: string;
}

/** Every record on the stream, read from the start of each shard. */
export async function recordsOn(
  client: KinesisClient,
  streamName: string,
): Promise<Required<StreamRecord>[]> {
  const { Shards } = await client.send(new ListShardsCommand({ StreamName: streamName }));
  const out: Required<StreamRecord>[] = [];
  for (const shard of Shards ?? []) {
    const { ShardIterator } = await client.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shard.ShardId!,
        ShardIteratorType: "TRIM_HORIZON",
      }),
    );
    const { Records } = await client.send(new GetRecordsCommand({ ShardIterator }));
    for (const r of Records ?? []) {
      out.push({
        sequenceNumber: r.SequenceNumber!,
        partitionKey: r.PartitionKey!,
        shardId: shard.ShardId!,
        data: Buffer.from(r.Data!),
      });
    }
  }
  return out;
}

/** The event the Kinesis event source mapping gives the processor Lambda. */
export function kinesisEvent(
  records: StreamRecord[],
  streamName = "transaction-stream-test",
): KinesisStreamEvent {
  return {
    Records: records.map((r) => ({
      kinesis: {
        kinesisSchemaVersion: "1.0",
        partitionKey: r.partitionKey,
        sequenceNumber: r.sequenceNumber,
        data: r.data.toString("base64"),
        approximateArrivalTimestamp: Date.now() / 1000,
      },
      eventSource: "aws:kinesis",
      eventVersion: "1.0",
      eventID: `${r.shardId ?? "shardId-000000000000"}:${r.sequenceNumber}`,
      eventName: "aws:kinesis:record",
      invokeIdentityArn: "arn:aws:iam::123456789012:role/processor",
      awsRegion: "us-east-1",
      eventSourceARN: `arn:aws:kinesis:us-east-1:123456789012:stream/${streamName}`,
    })),
  };
}
