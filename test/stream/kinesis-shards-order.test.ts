import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { putRecordsWithRetry } from "../../src/stream/kinesis-producer.ts";
import { KinesisStream, kinesisClientFrom } from "../../src/stream/kinesis-stream.ts";
import type { StreamRecord } from "../../src/stream/types.ts";
import { createKinesisStream, type Kinesalite, startKinesalite } from "../support/kinesalite.ts";
import { uniqueStreamName } from "./kinesis-helpers.ts";
import { type Decoded, decode, delay, OK, txRecord, waitFor } from "./stream-helpers.ts";

const SHARDS = 4;
const CUSTOMERS = 50;
const RECORDS = 1500;

let kinesalite: Kinesalite;

before(async () => {
  kinesalite = await startKinesalite();
});
after(async () => {
  await kinesalite.close();
});

/** A fixed, interleaved production order: each record is some customer's next transaction. */
function interleaved(): StreamRecord[] {
  let seed = 42;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const counts = new Array<number>(CUSTOMERS).fill(0);
  return Array.from({ length: RECORDS }, () => {
    const c = Math.floor(next() * CUSTOMERS);
    return txRecord(`cust-${String(c).padStart(2, "0")}`, counts[c]!++);
  });
}

test("SCL-4 PRC-1 four shards on kinesalite: the real producer spreads ~50 interleaved customers over the shards, the real poller reads every record once, each customer in production order", async () => {
  const client = kinesisClientFrom({ region: "us-east-1", endpoint: kinesalite.endpoint });
  const name = uniqueStreamName();
  await createKinesisStream(client, name, SHARDS);
  const records = interleaved();
  // Several PutRecords calls, as the API makes them: partition key = customer id.
  for (let i = 0; i < records.length; i += 100) {
    const { failed } = await putRecordsWithRetry(client, name, records.slice(i, i + 100));
    assert.deepEqual(failed, []);
  }

  const stream = new KinesisStream(client, name, { minPollIntervalMs: 0 });
  const delivered: (Decoded & { shard: string })[] = [];
  const busy = new Set<string>();
  let overlapped = false;
  let mixed = false;
  stream.consume(
    async (batch) => {
      const shard = batch[0]?.origin ?? "";
      busy.add(shard);
      if (busy.size > 1) overlapped = true;
      await delay(2);
      for (const record of batch) {
        if (record.origin !== shard) mixed = true;
        delivered.push({ ...decode(record), shard: record.origin ?? "" });
      }
      busy.delete(shard);
      return OK;
    },
    { batchSize: 37, idleMs: 10 },
  );
  try {
    await waitFor(() => delivered.length >= RECORDS, `${RECORDS} records`, 30_000);
    await delay(100); // anything read twice would arrive now
  } finally {
    await stream.close();
  }

  assert.equal(mixed, false, "a batch comes from one shard");
  // Every record exactly once.
  const keys = delivered.map((r) => `${r.customerId}#${r.n}`);
  assert.equal(delivered.length, RECORDS);
  assert.equal(new Set(keys).size, RECORDS);

  // Per customer, the production order; and a customer lives on one shard (its partition key).
  const produced = new Map<string, number[]>();
  for (const r of records) {
    const { customerId, n } = JSON.parse(r.data.toString("utf8")) as {
      customerId: string;
      n: number;
    };
    produced.set(customerId, [...(produced.get(customerId) ?? []), n]);
  }
  assert.ok(produced.size >= 45, `${produced.size} customers`);
  const read = new Map<string, number[]>();
  const shardOf = new Map<string, Set<string>>();
  for (const r of delivered) {
    assert.equal(r.partitionKey, r.customerId);
    read.set(r.customerId, [...(read.get(r.customerId) ?? []), r.n]);
    shardOf.set(r.customerId, (shardOf.get(r.customerId) ?? new Set()).add(r.shard));
  }
  assert.deepEqual(read, produced);
  for (const [customer, shards] of shardOf) assert.equal(shards.size, 1, customer);

  // Spread over more than one shard, read in parallel.
  const perShard = new Map<string, number>();
  for (const r of delivered) perShard.set(r.shard, (perShard.get(r.shard) ?? 0) + 1);
  assert.ok(perShard.size > 1, `records on ${[...perShard.keys()].join(", ")}`);
  assert.equal(perShard.size, SHARDS, "50 customers hash onto all four shards");
  assert.ok(overlapped, "shards are handled concurrently");
});
