import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { PutRecordsCommandInput, PutRecordsCommandOutput } from "@aws-sdk/client-kinesis";
import { KinesisStream, kinesisClientFrom } from "../../src/stream/kinesis-stream.ts";
import { type Kinesalite, startKinesalite } from "../support/kinesalite.ts";
import { failEntries, openKinesisStream, spyOnCommands, throwOnCall } from "./kinesis-helpers.ts";
import {
  type Decoded,
  decode,
  OK,
  orderByCustomer,
  range,
  txRecord,
  waitFor,
} from "./stream-helpers.ts";

let kinesalite: Kinesalite;
const streams: KinesisStream[] = [];

async function open(options: Parameters<typeof openKinesisStream>[1] = {}): Promise<KinesisStream> {
  const stream = await openKinesisStream(kinesalite.endpoint, options);
  streams.push(stream);
  return stream;
}

/** Reads the whole stream back through the consumer. */
async function readAll(stream: KinesisStream, expected: number): Promise<Decoded[]> {
  const out: Decoded[] = [];
  const consumer = stream.consume(
    async (records) => {
      out.push(...records.map(decode));
      return OK;
    },
    { batchSize: 250, idleMs: 10 },
  );
  await waitFor(() => out.length >= expected, `${expected} records`);
  await new Promise((resolve) => setTimeout(resolve, 50)); // a duplicate would show up by now
  await consumer.stop();
  return out;
}

function assertExactlyOnceInOrder(delivered: Decoded[], expected: Map<string, number[]>): void {
  assert.equal(delivered.length, [...expected.values()].flat().length, "delivered count");
  assert.deepEqual(new Map([...orderByCustomer(delivered)].sort()), new Map([...expected].sort()));
}

describe("KinesisStream put (kinesalite)", () => {
  before(async () => {
    kinesalite = await startKinesalite();
  });
  after(async () => {
    await Promise.all(streams.map((s) => s.close()));
    await kinesalite.close();
  });

  test("ING-2 put lands every record keyed by customer id, in order per customer across both shards", async () => {
    const stream = await open();
    const shardIds = new Set<string>();
    stream.client.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        for (const r of (result.output as PutRecordsCommandOutput).Records ?? [])
          shardIds.add(r.ShardId ?? "");
        return result;
      },
      { step: "initialize", name: "shard-ids" },
    );
    const records = range(300).map((i) => txRecord(`cust-${i % 30}`, Math.floor(i / 30)));
    assert.deepEqual(await stream.put(records), { failed: [] });
    assert.equal(shardIds.size, 2, "customers hash to both shards");

    const delivered = await readAll(stream, 300);
    for (const r of delivered)
      assert.equal(r.partitionKey, r.customerId, "partition key = customer id");
    assertExactlyOnceInOrder(delivered, new Map(range(30).map((c) => [`cust-${c}`, range(10)])));
  });

  test("ING-2 a put of 1,200 records goes out as PutRecords of at most 500", async () => {
    const stream = await open();
    const sizes: number[] = [];
    spyOnCommands(stream.client, (command, input) => {
      if (command === "PutRecordsCommand")
        sizes.push((input as PutRecordsCommandInput).Records?.length ?? 0);
    });
    const result = await stream.put(
      range(1200).map((i) => txRecord(`cust-${i % 100}`, Math.floor(i / 100))),
    );
    assert.deepEqual(result.failed, []);
    assert.deepEqual(sizes, [500, 500, 200]);
    assert.equal((await readAll(stream, 1200)).length, 1200);
  });

  test("ING-2 a PutRecords request stays within 5 MiB", async () => {
    const stream = await open();
    const sizes: number[] = [];
    spyOnCommands(stream.client, (command, input) => {
      if (command === "PutRecordsCommand")
        sizes.push((input as PutRecordsCommandInput).Records?.length ?? 0);
    });
    // 6 records of ~1,000,000 bytes: five fit 5 MiB (5,242,880 bytes), the sixth does not.
    const result = await stream.put(range(6).map((n) => txRecord("cust-big", n, 999_900)));
    assert.deepEqual(result.failed, []);
    assert.deepEqual(sizes, [5, 1]);
  });

  test("ING-2 partially failed PutRecords entries are retried until accepted, exactly once and in order", async () => {
    const stream = await open();
    const inputs: string[][] = [];
    spyOnCommands(stream.client, (command, input) => {
      if (command !== "PutRecordsCommand") return;
      inputs.push(
        ((input as PutRecordsCommandInput).Records ?? []).map((r) => r.PartitionKey ?? ""),
      );
    });
    // First attempt only: the tail of two customers' records, as shard throttling fails them.
    failEntries(stream.client, (data, previous) => {
      const { customerId, n } = JSON.parse(data) as { customerId: string; n: number };
      return previous === 0 && ["cust-3", "cust-7"].includes(customerId) && n >= 5;
    });
    const records = range(100).map((i) => txRecord(`cust-${i % 10}`, Math.floor(i / 10)));
    assert.deepEqual(await stream.put(records), { failed: [] });
    assert.equal(inputs.length, 2, "one request, then one retry");
    assert.deepEqual(
      inputs[1],
      [...range(5).flatMap(() => ["cust-3", "cust-7"])],
      "retried in input order",
    );

    assertExactlyOnceInOrder(
      await readAll(stream, 100),
      new Map(range(10).map((c) => [`cust-${c}`, range(10)])),
    );
  });

  test("ING-2 entries failing on every attempt are reported by index after bounded attempts; the rest land", async () => {
    const stream = await open({ put: { maxAttempts: 3 } });
    let requests = 0;
    spyOnCommands(stream.client, (command) => {
      if (command === "PutRecordsCommand") requests++;
    });
    const records = range(50).map((i) => txRecord(`cust-${i % 5}`, i));
    const doomed = new Set([records[3]!.data.toString(), records[42]!.data.toString()]);
    failEntries(stream.client, (data) => doomed.has(data));
    assert.deepEqual(await stream.put(records), { failed: [3, 42] });
    assert.equal(requests, 3, "maxAttempts sends, then give up");
    const delivered = await readAll(stream, 48);
    assert.deepEqual(
      delivered.map((r) => r.n).sort((a, b) => a - b),
      range(50).filter((n) => n !== 3 && n !== 42),
    );
  });

  test("ING-2 a PutRecords request that throws is retried whole", async () => {
    const errors: string[] = [];
    const stream = await open({ onError: (_e, context) => errors.push(context) });
    const outage = Object.assign(new Error("socket hang up"), { name: "TimeoutError" });
    throwOnCall(stream.client, "PutRecordsCommand", 1, outage);
    assert.deepEqual(await stream.put(range(20).map((n) => txRecord("cust-1", n))), { failed: [] });
    assert.equal(errors.length, 1);
    assertExactlyOnceInOrder(await readAll(stream, 20), new Map([["cust-1", range(20)]]));
  });

  test("ING-2 a permanent error fails the records at once without retrying", async () => {
    const stream = await open();
    let requests = 0;
    spyOnCommands(stream.client, (command) => {
      if (command === "PutRecordsCommand") requests++;
    });
    const missing = Object.assign(new Error("stream not found"), {
      name: "ResourceNotFoundException",
    });
    throwOnCall(stream.client, "PutRecordsCommand", 1, missing);
    assert.deepEqual(await stream.put(range(3).map((n) => txRecord("cust-1", n))), {
      failed: [0, 1, 2],
    });
    assert.equal(requests, 1);
  });

  test("ING-2 a record over 1 MiB with its partition key is reported failed alone", async () => {
    const stream = await open();
    const key = "cust-9";
    const atLimit = { partitionKey: key, data: Buffer.alloc(1024 * 1024 - key.length, 65) };
    const over = { partitionKey: key, data: Buffer.alloc(1024 * 1024 - key.length + 1, 66) };
    const result = await stream.put([txRecord(key, 0), over, atLimit, txRecord(key, 1)]);
    assert.deepEqual(result.failed, [1]);

    const lengths: number[] = [];
    const consumer = stream.consume(
      async (records) => {
        lengths.push(...records.map((r) => r.data.length));
        return OK;
      },
      { batchSize: 10, idleMs: 10 },
    );
    await waitFor(() => lengths.length === 3, "3 records");
    await consumer.stop();
    assert.equal(lengths[1], atLimit.data.length);
  });

  test("ING-2 ping succeeds on an active stream and fails on a missing one", async () => {
    const stream = await open();
    await stream.ping();
    const client = kinesisClientFrom({ region: "us-east-1", endpoint: kinesalite.endpoint });
    const missing = new KinesisStream(client, "no-such-stream");
    streams.push(missing);
    await assert.rejects(missing.ping(), /ResourceNotFound|not found/i);
  });
});
