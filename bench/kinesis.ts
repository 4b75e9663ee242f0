/**
 * The Kinesis path against kinesalite, through the real API and the monitor's own KinesisStream:
 * records per second put (PutRecords requests of various sizes) and consumed (GetRecords with
 * various batch sizes), with records shaped like the monitor's stream envelopes. For sizing
 * batches, not a target: kinesalite is an in-memory emulator on the same two cores, so the
 * absolute figures say little about AWS, whose limits are per shard (1 MB/s or 1,000 records/s
 * in, 2 MB/s out, 5 GetRecords calls a second).
 *
 *   npm run bench:kinesis [-- --records N --shards S]
 */
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { KinesisStream, kinesisClientFrom } from "../src/stream/index.ts";
import type { StreamRecord } from "../src/stream/types.ts";
import { parseTransactionInput } from "../src/transaction/schema.ts";
import { tokenizeTransaction } from "../src/transaction/tokenize.ts";
import { createKinesisStream } from "../test/support/kinesalite.ts";
import { Workload } from "./workload.ts";

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "20000" },
    shards: { type: "string", default: "4" },
  },
});
const total = Number(values.records);
const shards = Number(values.shards);
const PUT_SIZES = [50, 100, 250, 500];
const CONCURRENT_PUTS = 4;
const GET_SIZES = [100, 500, 1000, 10_000];

const emulator = fork(new URL("./kinesalite-process.ts", import.meta.url), {
  execArgv: ["--import", "tsx"],
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
const endpoint = await new Promise<string>((resolve) =>
  emulator.once("message", (message: { endpoint: string }) => resolve(message.endpoint)),
);

const workload = new Workload(Math.max(100, total / 10), "bench", "k");
const tokenKey = Buffer.alloc(32, 9);
const receivedAt = new Date().toISOString();
const records: StreamRecord[] = Array.from({ length: total }, () => {
  const parsed = parseTransactionInput(workload.next(Date.now()), "");
  if (!parsed.ok) throw parsed.error;
  const tx = tokenizeTransaction(parsed.value, tokenKey);
  return {
    partitionKey: tx.customerId,
    data: Buffer.from(JSON.stringify({ v: 1, receivedAt, tx })),
  };
});
const meanBytes = Math.round(records.reduce((s, r) => s + r.data.length, 0) / total);

const rows: { test: string; batch: number; recordsPerSecond: number }[] = [];
const report = (test: string, batch: number, count: number, ms: number) => {
  const recordsPerSecond = Math.round((count / ms) * 1000);
  rows.push({ test, batch, recordsPerSecond });
  console.log(
    `${test.padEnd(8)} batch ${String(batch).padStart(5)}  ${String(recordsPerSecond).padStart(6)} records/s`,
  );
};

console.log(`${total} records of ~${meanBytes} bytes, ${shards} shards, kinesalite at ${endpoint}`);
let run = 0;
for (const size of PUT_SIZES) {
  const stream = new KinesisStream(
    kinesisClientFrom({ region: "us-east-1", endpoint }),
    `put-${run++}`,
  );
  await createKinesisStream(stream.client, stream.streamName, shards);
  const started = performance.now();
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: CONCURRENT_PUTS }, async () => {
      while (next < total) {
        const from = next;
        next += size;
        const batch = records.slice(from, next);
        failed += (await stream.put(batch)).failed.length;
      }
    }),
  );
  report("put", size, total - failed, performance.now() - started);
  await stream.close();
}

const source = new KinesisStream(kinesisClientFrom({ region: "us-east-1", endpoint }), "get");
await createKinesisStream(source.client, source.streamName, shards);
for (let i = 0; i < total; i += 500) await source.put(records.slice(i, i + 500));
await source.close();
for (const size of GET_SIZES) {
  // A fresh stream object starts at TRIM_HORIZON: every run reads all the records.
  const stream = new KinesisStream(kinesisClientFrom({ region: "us-east-1", endpoint }), "get", {
    minPollIntervalMs: 0,
  });
  let seen = 0;
  const started = performance.now();
  const done = new Promise<void>((resolve) => {
    stream.consume(
      async (batch) => {
        seen += batch.length;
        if (seen >= total) resolve();
        return { batchItemFailures: [] };
      },
      { batchSize: size, idleMs: 10 },
    );
  });
  await done;
  report("consume", size, seen, performance.now() - started);
  await stream.close();
}

emulator.disconnect();
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new URL("./results/kinesis.json", import.meta.url),
  `${JSON.stringify({ at: new Date().toISOString(), records: total, meanBytes, shards, rows }, null, 2)}\n`,
);
const best = (test: string) =>
  rows.filter((r) => r.test === test).sort((a, b) => b.recordsPerSecond - a.recordsPerSecond)[0]!;
console.log(
  `bench:kinesis: put ${best("put").recordsPerSecond} records/s (batches of ${best("put").batch}), consume ${best("consume").recordsPerSecond} records/s (batches of ${best("consume").batch}), ${shards} shards on kinesalite`,
);
