/**
 * The history script alone (the ceiling's Redis half), on the benchmark's traffic, without the
 * rest of the pipeline: how many transactions a second Redis runs it for, the Redis commands
 * it costs per transaction (INFO commandstats, so use a Redis nobody else uses), and a digest
 * of every reply, so that two versions of the script can be compared on the same rows.
 *
 *   node --import tsx bench/history-script.ts [--transactions N] [--customers M]
 *     [--redis redis://127.0.0.1:6379] [--memory] [--script <file.lua | module.ts>]
 *
 * --memory also runs the in-memory store on the same items and fails on the first reply that
 * differs from the script's.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { MemoryHistoryStore, RedisHistoryStore } from "../src/history/index.ts";
import { RECORD_COMMAND, recordScript } from "../src/history/record-history.ts";
import type { HistoryItem } from "../src/history/types.ts";
import { historyItemOf } from "../src/processor/history-item.ts";
import { defaultRuleset } from "../src/rules/load-ruleset.ts";
import { parseTransactionInput } from "../src/transaction/schema.ts";
import { tokenizeTransaction } from "../src/transaction/tokenize.ts";
import type { StreamEnvelope } from "../src/transaction/types.ts";
import { Workload } from "./workload.ts";

const { values } = parseArgs({
  options: {
    transactions: { type: "string", default: "40000" },
    customers: { type: "string" },
    redis: { type: "string", default: "redis://127.0.0.1:6379" },
    memory: { type: "boolean", default: false },
    /**
     * Another version of the script, to compare with this one: a .lua file (another
     * record-history.lua), or a module exporting RECORD_SCRIPT.
     */
    script: { type: "string" },
    "batch-size": { type: "string", default: "500" },
    concurrency: { type: "string", default: "4" },
  },
});
const total = Number(values.transactions);
const customers = Number(values.customers ?? Math.max(100, Math.round(total / 10)));
const batchSize = Number(values["batch-size"]);
const concurrency = Number(values.concurrency);
const HOUR = 3_600_000;
const say = (line: string) => process.stderr.write(`history-script: ${line}\n`);

const ruleset = defaultRuleset();
const workload = new Workload(customers, "bench", `h${process.pid}`);
// Fixed, so that the replies (event times of last entries) and digests of two runs compare.
const now = Date.parse("2026-11-21T00:00:00Z");
const firstEvent = now - 23 * HOUR;
const spacing = (22.9 * HOUR) / total;
const tokenKey = Buffer.alloc(32, 9);
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

const redis = new Redis(values.redis);
const prefix = `txwhs${process.pid}`;
const store = new RedisHistoryStore(redis, prefix);
if (values.script !== undefined) {
  const lua = values.script.endsWith(".lua")
    ? recordScript(readFileSync(values.script, "utf8"))
    : ((await import(values.script)) as { RECORD_SCRIPT: string }).RECORD_SCRIPT;
  redis.defineCommand(RECORD_COMMAND, { lua });
  say(`script of ${values.script}`);
}
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
const replies: unknown[][] = batches.map(() => []);
const started = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < batches.length) {
      const i = next++;
      replies[i] = await store.recordBatch(batches[i]!, now);
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
const after = await stats();
const cpuAfter = await redis.info("cpu");
const digest = createHash("sha256");
for (const batch of replies) for (const r of batch) digest.update(JSON.stringify(r));
say(`${Math.round(total / seconds)} tx/s (${seconds.toFixed(2)} s)`);
const cpu = (info: string) =>
  Number(/used_cpu_sys:([\d.]+)/.exec(info)![1]) + Number(/used_cpu_user:([\d.]+)/.exec(info)![1]);
say(`redis CPU ${(((cpu(cpuAfter) - cpu(cpuBefore)) / total) * 1e6).toFixed(1)} us/tx`);
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
say(`digest ${digest.digest("hex")}`);

if (values.memory) {
  const memory = new MemoryHistoryStore();
  for (let i = 0; i < batches.length; i++) {
    const expected = await memory.recordBatch(batches[i]!, now);
    for (let j = 0; j < expected.length; j++) {
      if (JSON.stringify(expected[j]) !== JSON.stringify(replies[i]![j])) {
        say(`MISMATCH at ${batches[i]![j]!.transactionId}`);
        say(`memory ${JSON.stringify(expected[j])}`);
        say(`redis  ${JSON.stringify(replies[i]![j])}`);
        process.exitCode = 1;
        break;
      }
    }
    if (process.exitCode) break;
  }
  if (!process.exitCode) say("memory store: identical replies");
}

let cursor = "0";
do {
  const [nextCursor, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
  cursor = nextCursor;
  if (keys.length > 0) await redis.unlink(...keys);
} while (cursor !== "0");
await store.close();
