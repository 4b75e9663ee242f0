/**
 * The history script alone (Redis's half of the ceiling), on the benchmark's traffic, without
 * the rest of the pipeline: one call per entity of each transaction (entityCalls), a batch's
 * calls in one pipeline as the store sends them, batches on several connections at once. It
 * prints how many transactions a second Redis runs them for, the Redis CPU and commands they
 * cost per transaction (INFO cpu and commandstats, so use a Redis nobody else uses), and a digest
 * of every reply, so that two versions of the script can be compared on the same rows.
 *
 *   node --import tsx bench/history-script.ts [--transactions N] [--customers M]
 *     [--redis redis://127.0.0.1:6379] [--connections C] [--memory]
 *     [--script <file.lua | module.ts>]
 *
 * By default one connection with 4 pipelines in flight: Redis runs the batches in order, so the
 * digest is the same from run to run. --connections C (C > 1) sends on C connections, as the
 * benchmark's ceiling does; the batches then interleave and the digest varies.
 * --memory also runs the in-memory store on the same items and fails on the first reply that
 * differs from Redis's (on one connection only).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { MemoryHistoryStore } from "../src/history/index.ts";
import { recordScript } from "../src/history/record-entity.ts";
import type { HistoryItem } from "../src/history/types.ts";
import { historyItemOf } from "../src/processor/history-item.ts";
import { defaultRuleset } from "../src/rules/load-ruleset.ts";
import { parseTransactionInput } from "../src/transaction/schema.ts";
import { tokenizeTransaction } from "../src/transaction/tokenize.ts";
import type { StreamEnvelope } from "../src/transaction/types.ts";
import {
  batchCalls,
  callCount,
  defineRecord,
  deleteKeys,
  resultOf,
  sendBatches,
} from "./history-calls.ts";
import { benchTokenKey } from "./monitor-protocol.ts";
import { Workload } from "./workload.ts";

const { values } = parseArgs({
  options: {
    transactions: { type: "string", default: "40000" },
    customers: { type: "string" },
    redis: { type: "string", default: "redis://127.0.0.1:6379" },
    memory: { type: "boolean", default: false },
    /**
     * Another version of the script, to compare with this one: a .lua file (another
     * record-entity.lua), or a module exporting RECORD_SCRIPT.
     */
    script: { type: "string" },
    "batch-size": { type: "string", default: "500" },
    connections: { type: "string", default: "1" },
  },
});
const total = Number(values.transactions);
const customers = Number(values.customers ?? Math.max(100, Math.round(total / 10)));
const batchSize = Number(values["batch-size"]);
const connections = values.memory ? 1 : Number(values.connections);
/** Pipelines in flight per connection. */
const IN_FLIGHT = 4;
const HOUR = 3_600_000;
const say = (line: string) => process.stderr.write(`history-script: ${line}\n`);

const ruleset = defaultRuleset();
const workload = new Workload(customers, "bench", `h${process.pid}`);
// Fixed, so that the replies (event times of last entries) and digests of two runs compare.
const now = Date.parse("2026-11-21T00:00:00Z");
const firstEvent = now - 23 * HOUR;
const spacing = (22.9 * HOUR) / total;
const tokenKey = benchTokenKey();
const batches: HistoryItem[][] = [];
for (let i = 0; i < total; i += batchSize) {
  const batch: HistoryItem[] = [];
  for (let j = i; j < Math.min(total, i + batchSize); j++) {
    const parsed = parseTransactionInput(workload.next(Math.round(firstEvent + j * spacing)), "");
    if (!parsed.ok) throw parsed.error;
    const tx = tokenizeTransaction(parsed.value, tokenKey);
    // Ids without the pid, so digests of two runs compare.
    tx.transactionId = `h-${j}`;
    const env: StreamEnvelope = { v: 1, receivedAt: new Date(now).toISOString(), tx };
    batch.push(historyItemOf(env, ruleset.plan(tx)));
  }
  batches.push(batch);
}
say(`${total} transactions over ${customers} customers`);

const prefix = `txwhs${process.pid}`;
let lua: string | undefined;
if (values.script !== undefined) {
  lua = values.script.endsWith(".lua")
    ? recordScript(readFileSync(values.script, "utf8"))
    : ((await import(pathToFileURL(resolve(values.script)).href)) as { RECORD_SCRIPT: string })
        .RECORD_SCRIPT;
  say(`script of ${values.script}`);
}
const clients = Array.from({ length: connections }, () => {
  const client = new Redis(values.redis);
  defineRecord(client, lua);
  return client;
});
const redis = clients[0]!;
// Built before the clock starts: what is timed is Redis running the calls.
const calls = batches.map((batch) => batchCalls(prefix, batch, now));
const stats = async () => {
  const text = await redis.info("commandstats");
  const out = new Map<string, { calls: number; usec: number }>();
  for (const m of text.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)) {
    out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return out;
};
const before = await stats();
const cpuBefore = await redis.info("cpu");
const started = performance.now();
const replies = await sendBatches(clients, calls, true, IN_FLIGHT);
const seconds = (performance.now() - started) / 1000;
const after = await stats();
const cpuAfter = await redis.info("cpu");
const results = batches.map((batch, i) =>
  batch.map((item, j) => resultOf(item, calls[i]![j]!, replies[i]![j]!)),
);
const digest = createHash("sha256");
for (const batch of results) for (const r of batch) digest.update(JSON.stringify(r));
say(
  `${Math.round(total / seconds)} tx/s (${seconds.toFixed(2)} s), ${(callCount(calls) / total).toFixed(2)} script calls/tx, ${connections} connection${connections === 1 ? "" : "s"}`,
);
const cpu = (info: string) =>
  Number(/used_cpu_sys:([\d.]+)/.exec(info)![1]) + Number(/used_cpu_user:([\d.]+)/.exec(info)![1]);
const redisSeconds = cpu(cpuAfter) - cpu(cpuBefore);
say(
  `redis CPU ${((redisSeconds / total) * 1e6).toFixed(1)} us/tx, ${Math.round((redisSeconds / seconds) * 100)}% busy`,
);
const rows = [...after]
  .map(([name, a]) => {
    const b = before.get(name) ?? { calls: 0, usec: 0 };
    return { name, calls: (a.calls - b.calls) / total, usec: (a.usec - b.usec) / total };
  })
  .filter((r) => r.calls > 0.001)
  .sort((x, y) => y.usec - x.usec);
for (const r of rows) {
  say(
    `  ${r.name.padEnd(20)} ${r.calls.toFixed(2).padStart(7)} calls/tx ${r.usec.toFixed(1)} us/tx`,
  );
}
say(
  `digest ${digest.digest("hex")}${connections > 1 ? " (batches interleaved: compare digests on one connection)" : ""}`,
);

if (values.memory) {
  const memory = new MemoryHistoryStore();
  for (let i = 0; i < batches.length; i++) {
    const expected = await memory.recordBatch(batches[i]!, now);
    for (let j = 0; j < expected.length; j++) {
      if (JSON.stringify(expected[j]) !== JSON.stringify(results[i]![j])) {
        say(`MISMATCH at ${batches[i]![j]!.transactionId}`);
        say(`memory ${JSON.stringify(expected[j])}`);
        say(`redis  ${JSON.stringify(results[i]![j])}`);
        process.exitCode = 1;
        break;
      }
    }
    if (process.exitCode) break;
  }
  if (!process.exitCode) say("memory store: identical replies");
}

// Redis memory per transaction (`used_memory` delta), for the sizing (infra/sizing.ts).
const memoryUsed = async () => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))![1]);
const held = await memoryUsed();
if (!process.env.KEEP) await deleteKeys(redis, prefix);
say(
  `redis memory ${Math.round((held - (await memoryUsed())) / total)} bytes/tx held by the history`,
);
await Promise.all(clients.map((client) => client.quit()));
