import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LocalLogStream } from "../../src/stream/local-log.ts";
import { partitionOf } from "../../src/stream/partition.ts";
import type { BatchResponse, ConsumedRecord } from "../../src/stream/types.ts";
import {
  type Decoded,
  decode,
  delay,
  gate,
  OK,
  orderByCustomer,
  range,
  txRecord,
  waitFor,
} from "./stream-helpers.ts";

const FAST_RETRY = { baseMs: 5, maxMs: 20 };

describe("LocalLogStream (memory)", () => {
  test("PRC-1 records of one customer are delivered in put order, customers spread over partitions", async () => {
    const stream = new LocalLogStream({ partitions: 4 });
    const customers = range(20).map((c) => `cust-${c}`);
    // Four concurrent puts share group commits; each customer's n still rises put by put.
    await Promise.all(
      range(4).map((p) =>
        stream.put(range(100).map((i) => txRecord(customers[i % 20]!, p * 5 + Math.floor(i / 20)))),
      ),
    );
    const delivered: Decoded[] = [];
    const batchPartitions: number[][] = [];
    const consumer = stream.consume(
      async (records) => {
        batchPartitions.push([...new Set(records.map((r) => partitionOf(r.partitionKey, 4)))]);
        delivered.push(...records.map(decode));
        return OK;
      },
      { batchSize: 16 },
    );
    await waitFor(() => delivered.length === 400, "400 records");
    await consumer.stop();

    for (const [customer, ns] of orderByCustomer(delivered)) {
      assert.deepEqual(
        [...ns].sort((a, b) => a - b),
        ns,
        `${customer} out of order`,
      );
      assert.equal(ns.length, 20);
    }
    assert.ok(
      batchPartitions.every((ps) => ps.length === 1),
      "a batch mixes partitions",
    );
    assert.ok(new Set(batchPartitions.flat()).size >= 3, "customers should spread over partitions");
    for (const r of delivered) assert.match(r.sequenceNumber, /^\d{20}$/);
    assert.equal(
      new Set(delivered.map((r) => r.sequenceNumber)).size,
      400,
      "sequence numbers unique",
    );
    assert.equal(stream.lag(), 0);
    await stream.close();
  });

  test("PRC-1 each partition has at most one batch in flight, partitions run in parallel", async () => {
    const stream = new LocalLogStream({ partitions: 4 });
    await stream.put(range(200).map((i) => txRecord(`cust-${i % 40}`, i)));
    const inFlight = new Map<number, number>();
    let maxPerPartition = 0;
    let maxOverall = 0;
    let handled = 0;
    const consumer = stream.consume(
      async (records) => {
        const p = partitionOf(records[0]!.partitionKey, 4);
        inFlight.set(p, (inFlight.get(p) ?? 0) + 1);
        maxPerPartition = Math.max(maxPerPartition, inFlight.get(p)!);
        maxOverall = Math.max(
          maxOverall,
          [...inFlight.values()].reduce((a, b) => a + b, 0),
        );
        await delay(2);
        inFlight.set(p, inFlight.get(p)! - 1);
        handled += records.length;
        return OK;
      },
      { batchSize: 10 },
    );
    await waitFor(() => handled === 200, "200 records");
    await consumer.stop();
    assert.equal(maxPerPartition, 1);
    assert.ok(maxOverall > 1, "partitions should be consumed concurrently");
    await stream.close();
  });

  test("PRC-1 a partially failed batch is redelivered from its earliest failed record", async () => {
    const stream = new LocalLogStream({ partitions: 1, retry: FAST_RETRY });
    await stream.put(range(20).map((n) => txRecord("cust-1", n)));
    const deliveries: number[][] = [];
    let failedOnce = false;
    const consumer = stream.consume(
      async (records): Promise<BatchResponse> => {
        deliveries.push(records.map((r) => decode(r).n));
        if (failedOnce) return OK;
        failedOnce = true;
        const seq = (n: number) => records.find((r) => decode(r).n === n)!.sequenceNumber;
        return { batchItemFailures: [{ itemIdentifier: seq(7) }, { itemIdentifier: seq(4) }] };
      },
      { batchSize: 10 },
    );
    await waitFor(() => stream.lag() === 0, "everything handled");
    await consumer.stop();
    assert.deepEqual(deliveries[0], range(10));
    assert.deepEqual(deliveries[1], range(10, 4), "redelivery starts at the earliest failure");
    const accepted = [...deliveries[0]!.slice(0, 4), ...deliveries.slice(1).flat()];
    assert.deepEqual(accepted, range(20), "each record handled once, in order, after the retry");
    await stream.close();
  });

  test("PRC-1 a thrown handler error redelivers the whole batch", async () => {
    const errors: string[] = [];
    const stream = new LocalLogStream({
      partitions: 1,
      retry: FAST_RETRY,
      onError: (_error, context) => errors.push(context),
    });
    await stream.put(range(6).map((n) => txRecord("cust-1", n)));
    const deliveries: string[][] = [];
    const consumer = stream.consume(
      async (records) => {
        deliveries.push(records.map((r) => r.sequenceNumber));
        if (deliveries.length === 1) throw new Error("ledger down");
        return OK;
      },
      { batchSize: 6 },
    );
    await waitFor(() => stream.lag() === 0, "everything handled");
    await consumer.stop();
    assert.equal(deliveries.length, 2);
    assert.deepEqual(deliveries[1], deliveries[0]);
    assert.deepEqual(errors, ["handling a batch of partition 0"]);
    await stream.close();
  });

  test("PRC-1 an idle consumer wakes on put, not after idleMs", async () => {
    const stream = new LocalLogStream({ partitions: 2 });
    let receivedAt = 0;
    const consumer = stream.consume(
      async () => {
        receivedAt = Date.now();
        return OK;
      },
      { batchSize: 10, idleMs: 60_000 },
    );
    await delay(50); // every partition loop has found nothing and gone idle
    const putAt = Date.now();
    await stream.put([txRecord("cust-1", 0)]);
    await waitFor(() => receivedAt > 0, "the record", 2000);
    assert.ok(receivedAt - putAt < 500, `woke after ${receivedAt - putAt} ms`);
    await consumer.stop();
    await stream.close();
  });

  test("PRC-1 stop() finishes the batch in flight, and the next consumer resumes after it", async () => {
    const stream = new LocalLogStream({ partitions: 1 });
    await stream.put(range(10).map((n) => txRecord("cust-1", n)));
    const held = gate();
    let started = false;
    const first = stream.consume(
      async () => {
        started = true;
        await held.opened;
        return OK;
      },
      { batchSize: 4 },
    );
    await waitFor(() => started, "the first batch");
    let stopped = false;
    const stopping = first.stop().then(() => {
      stopped = true;
    });
    await delay(30);
    assert.equal(stopped, false, "stop() must wait for the batch in flight");
    held.open();
    await stopping;
    assert.equal(stream.lag(), 6, "the in-flight batch was committed, nothing more was taken");

    const rest: number[] = [];
    const second = stream.consume(
      async (records) => {
        rest.push(...records.map((r) => decode(r).n));
        return OK;
      },
      { batchSize: 4 },
    );
    await waitFor(() => rest.length === 6, "the rest");
    await second.stop();
    assert.deepEqual(rest, range(6, 4));
    await stream.close();
  });

  test("ING-2 memory mode drops consumed records and refuses records beyond maxPendingRecords", async () => {
    const stream = new LocalLogStream({ partitions: 2, maxPendingRecords: 100 });
    const first = await stream.put(range(150).map((i) => txRecord(`cust-${i % 7}`, i)));
    assert.deepEqual(first.failed, range(50, 100));
    assert.equal(stream.lag(), 100);
    let handled = 0;
    const consumer = stream.consume(
      async (records: ConsumedRecord[]) => {
        handled += records.length;
        return OK;
      },
      { batchSize: 32 },
    );
    await waitFor(() => handled === 100, "100 records");
    await waitFor(() => stream.lag() === 0, "lag 0");
    const second = await stream.put(range(100).map((i) => txRecord(`cust-${i % 7}`, i)));
    assert.deepEqual(second.failed, [], "consumed records no longer count against the bound");
    await waitFor(() => handled === 200, "200 records");
    await consumer.stop();
    await stream.close();
  });

  test("ING-2 a record over 1 MiB (with its partition key) fails alone", async () => {
    const stream = new LocalLogStream({ partitions: 2 });
    const key = "cust-1";
    const atLimit = { partitionKey: key, data: Buffer.alloc(1024 * 1024 - key.length) };
    const over = { partitionKey: key, data: Buffer.alloc(1024 * 1024 - key.length + 1) };
    const result = await stream.put([
      txRecord(key, 0),
      over,
      atLimit,
      { partitionKey: "", data: Buffer.from("{}") },
    ]);
    assert.deepEqual(result.failed, [1, 3]);
    assert.equal(stream.lag(), 2);
    await stream.close();
  });

  test("ING-2 ping answers until the stream is closed, then put and ping fail", async () => {
    const stream = new LocalLogStream();
    await stream.ping();
    await stream.close();
    await assert.rejects(stream.ping(), /closed/);
    await assert.rejects(stream.put([txRecord("cust-1", 0)]), /closed/);
  });
});
