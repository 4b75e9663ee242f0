import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  DescribeStreamSummaryCommand,
  ExpiredIteratorException,
  type GetShardIteratorCommandInput,
  SplitShardCommand,
} from "@aws-sdk/client-kinesis";
import type { KinesisStream } from "../../src/stream/kinesis-stream.ts";
import type { BatchResponse } from "../../src/stream/types.ts";
import { type Kinesalite, startKinesalite } from "../support/kinesalite.ts";
import { openKinesisStream, spyOnCommands, throwOnCall } from "./kinesis-helpers.ts";
import {
  decode,
  delay,
  gate,
  OK,
  orderByCustomer,
  range,
  txRecord,
  waitFor,
} from "./stream-helpers.ts";

let kinesalite: Kinesalite;
const streams: KinesisStream[] = [];

async function open(shards = 2, shardRefreshMs?: number): Promise<KinesisStream> {
  const options = shardRefreshMs === undefined ? {} : { shardRefreshMs };
  const stream = await openKinesisStream(kinesalite.endpoint, options, shards);
  streams.push(stream);
  return stream;
}

describe("KinesisStream consume (kinesalite)", () => {
  before(async () => {
    kinesalite = await startKinesalite();
  });
  after(async () => {
    await Promise.all(streams.map((s) => s.close()));
    await kinesalite.close();
  });

  test("PRC-1 the consumer reads every shard and keeps each customer's order", async () => {
    const stream = await open(2);
    await stream.put(range(200).map((i) => txRecord(`cust-${i % 20}`, Math.floor(i / 20))));
    const delivered: ReturnType<typeof decode>[] = [];
    let concurrent = 0;
    let maxConcurrent = 0;
    const consumer = stream.consume(
      async (records) => {
        maxConcurrent = Math.max(maxConcurrent, ++concurrent);
        await delay(5);
        concurrent--;
        delivered.push(...records.map(decode));
        return OK;
      },
      { batchSize: 7, idleMs: 10 },
    );
    await waitFor(() => delivered.length === 200, "200 records");
    await consumer.stop();
    for (const [, ns] of orderByCustomer(delivered)) assert.deepEqual(ns, range(10));
    assert.equal(maxConcurrent, 2, "one loop per shard, both shards in parallel");
  });

  test("PRC-4 each record the consumer hands out names its shard", async () => {
    const stream = await open(2);
    await stream.put(range(40).map((i) => txRecord(`cust-${i}`, 0)));
    const origins = new Set<string | undefined>();
    let count = 0;
    const consumer = stream.consume(
      async (records) => {
        for (const record of records) origins.add(record.origin);
        count += records.length;
        return OK;
      },
      { batchSize: 50, idleMs: 10 },
    );
    await waitFor(() => count === 40, "40 records");
    await consumer.stop();
    assert.deepEqual([...origins].sort(), ["shardId-000000000000", "shardId-000000000001"]);
  });

  test("PRC-1 the consumer redelivers from the earliest failed sequence number", async () => {
    const stream = await open(1);
    await stream.put(range(30).map((n) => txRecord("cust-1", n)));
    const deliveries: { n: number; seq: string }[][] = [];
    let failedSeq = "";
    const consumer = stream.consume(
      async (records): Promise<BatchResponse> => {
        const batch = records.map((r) => ({ n: decode(r).n, seq: r.sequenceNumber }));
        deliveries.push(batch);
        if (deliveries.length > 1) return OK;
        failedSeq = batch[3]!.seq;
        return {
          batchItemFailures: [{ itemIdentifier: batch[6]!.seq }, { itemIdentifier: failedSeq }],
        };
      },
      { batchSize: 10, idleMs: 10 },
    );
    await waitFor(() => deliveries.flat().some((r) => r.n === 29), "the last record");
    await consumer.stop();
    assert.deepEqual(
      deliveries[0]!.map((r) => r.n),
      range(10),
    );
    assert.equal(deliveries[1]![0]!.seq, failedSeq, "re-read AT the earliest failed record");
    const handled = [...deliveries[0]!.slice(0, 3), ...deliveries.slice(1).flat()].map((r) => r.n);
    assert.deepEqual(handled, range(30), "records before the failure are not redelivered");
  });

  test("PRC-1 a thrown handler error makes the consumer redeliver the whole batch", async () => {
    const stream = await open(1);
    await stream.put(range(5).map((n) => txRecord("cust-1", n)));
    const deliveries: string[][] = [];
    const consumer = stream.consume(
      async (records) => {
        deliveries.push(records.map((r) => r.sequenceNumber));
        if (deliveries.length === 1) throw new Error("ledger down");
        return OK;
      },
      { batchSize: 10, idleMs: 10 },
    );
    await waitFor(() => deliveries.length >= 2, "a redelivery");
    await consumer.stop();
    assert.deepEqual(deliveries[1], deliveries[0]);
  });

  test("PRC-1 stop() finishes the batch in flight and a new consumer resumes after its checkpoint", async () => {
    const stream = await open(1);
    await stream.put(range(12).map((n) => txRecord("cust-1", n)));
    const held = gate();
    const first: number[] = [];
    let started = false;
    const consumer = stream.consume(
      async (records) => {
        started = true;
        await held.opened;
        first.push(...records.map((r) => decode(r).n));
        return OK;
      },
      { batchSize: 5, idleMs: 10 },
    );
    await waitFor(() => started, "the first batch");
    let stopped = false;
    const stopping = consumer.stop().then(() => {
      stopped = true;
    });
    await delay(30);
    assert.equal(stopped, false, "stop() must wait for the batch in flight");
    held.open();
    await stopping;
    assert.deepEqual(first, range(5), "exactly the in-flight batch, no new one");

    const rest: number[] = [];
    const again = stream.consume(
      async (records) => {
        rest.push(...records.map((r) => decode(r).n));
        return OK;
      },
      { batchSize: 5, idleMs: 10 },
    );
    await waitFor(() => rest.length >= 7, "the rest");
    await delay(50);
    await again.stop();
    assert.deepEqual(rest, range(7, 5));
  });

  test("PRC-1 an expired shard iterator is re-got after the checkpoint, losing and repeating nothing", async () => {
    const stream = await open(1);
    await stream.put(range(10).map((n) => txRecord("cust-1", n)));
    const iteratorTypes: string[] = [];
    spyOnCommands(stream.client, (command, input) => {
      if (command === "GetShardIteratorCommand") {
        iteratorTypes.push((input as GetShardIteratorCommandInput).ShardIteratorType ?? "");
      }
    });
    const expired = new ExpiredIteratorException({ message: "Iterator expired", $metadata: {} });
    throwOnCall(stream.client, "GetRecordsCommand", 2, expired);
    const seen: number[] = [];
    const consumer = stream.consume(
      async (records) => {
        seen.push(...records.map((r) => decode(r).n));
        return OK;
      },
      { batchSize: 4, idleMs: 10 },
    );
    await waitFor(() => seen.length >= 10, "10 records");
    await delay(50);
    await consumer.stop();
    assert.deepEqual(seen, range(10));
    assert.deepEqual(iteratorTypes, ["TRIM_HORIZON", "AFTER_SEQUENCE_NUMBER"]);
  });

  test("PRC-1 after a shard split the children are read only once the parent is drained", async () => {
    const stream = await open(1, 20);
    const customers = range(8).map((c) => `cust-${c}`);
    await stream.put(range(40).map((i) => txRecord(customers[i % 8]!, Math.floor(i / 8))));
    await stream.client.send(
      new SplitShardCommand({
        StreamName: stream.streamName,
        ShardToSplit: "shardId-000000000000",
        NewStartingHashKey: (2n ** 127n).toString(),
      }),
    );
    for (;;) {
      const summary = await stream.client.send(
        new DescribeStreamSummaryCommand({ StreamName: stream.streamName }),
      );
      if (summary.StreamDescriptionSummary?.StreamStatus === "ACTIVE") break;
      await delay(10);
    }
    await stream.put(range(40).map((i) => txRecord(customers[i % 8]!, 5 + Math.floor(i / 8))));
    const delivered: ReturnType<typeof decode>[] = [];
    const consumer = stream.consume(
      async (records) => {
        delivered.push(...records.map(decode));
        return OK;
      },
      { batchSize: 6, idleMs: 10 },
    );
    await waitFor(() => delivered.length >= 80, "80 records");
    await delay(50);
    await consumer.stop();
    assert.equal(delivered.length, 80);
    for (const [, ns] of orderByCustomer(delivered)) assert.deepEqual(ns, range(10));
  });
});
