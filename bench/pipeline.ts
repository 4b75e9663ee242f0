/**
 * End-to-end benchmark: authenticated HTTP ingest in batches -> local stream -> processBatch ->
 * Redis history + PostgreSQL ledger, with the default ruleset, on the machine's real services.
 * Prints its figures and one summary line; writes bench/results/latest.json.
 *
 *   npm run bench                      100,000 transactions over 10,000 customers
 *   npm run bench -- --quick           10,000 over 1,000 (what CI runs)
 *   npm run bench -- --transactions N --customers M
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import pg from "pg";
import { AlertHub } from "../src/alerts/hub.ts";
import { createApiKey } from "../src/api/auth.ts";
import { RedisHistoryStore } from "../src/history/index.ts";
import { openPostgresLedger } from "../src/ledger/index.ts";
import { createLogger } from "../src/observability/logger.ts";
import { createMetrics } from "../src/observability/metrics.ts";
import { defaultRuleset } from "../src/rules/index.ts";
import { startPipeline } from "../src/runtime/pipeline.ts";
import { LocalLogStream } from "../src/stream/index.ts";
import { buildWorkload } from "./workload.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    transactions: { type: "string" },
    customers: { type: "string" },
  },
});
const total = Number(values.transactions ?? (values.quick ? 10_000 : 100_000));
const customers = Number(values.customers ?? Math.max(100, Math.round(total / 10)));
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const BATCH = 500;
const CONCURRENCY = 4;

const schema = `txw_bench_${process.pid}`;
const prefix = `txwbench${process.pid}`;
const ledger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
await ledger.migrate();
const redis = new Redis(REDIS_URL);
const history = new RedisHistoryStore(redis, prefix);
const stream = new LocalLogStream({ partitions: 4 });
const metrics = createMetrics();
const hub = new AlertHub();
const pipeline = await startPipeline(
  {
    ledger,
    history,
    stream,
    tokenKey: Buffer.alloc(32, 9),
    hub,
    alerts: hub,
    metrics,
    log: createLogger("warn"),
    ruleset: defaultRuleset(),
    source: "bench",
  },
  { rateLimitPerMinute: 1_000_000, bodyLimitBytes: 8 * 1024 * 1024, batchSize: BATCH },
);
const { app } = pipeline;
const url = await app.listen({ port: 0, host: "127.0.0.1" });
const key = await createApiKey(ledger, "bench");

const { transactions } = buildWorkload(total, customers, "bench");
const batches: string[] = [];
for (let i = 0; i < transactions.length; i += BATCH) {
  batches.push(JSON.stringify({ transactions: transactions.slice(i, i + BATCH) }));
}
process.stderr.write(
  `bench: ${total} transactions, ${customers} customers, ${batches.length} requests of ${BATCH}\n`,
);

const started = performance.now();
let next = 0;
let accepted = 0;
async function sender() {
  while (next < batches.length) {
    const body = batches[next++]!;
    // Node's fetch keeps connections alive, so CONCURRENCY senders reuse CONCURRENCY sockets.
    const res = await fetch(`${url}/v1/transactions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body,
    });
    const json = (await res.json()) as { accepted: number };
    accepted += json.accepted;
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, sender));
const ingestSeconds = (performance.now() - started) / 1000;

const decided = async () => (await metrics.decisions.get()).values.reduce((s, v) => s + v.value, 0);
while ((await decided()) < accepted) await new Promise((r) => setTimeout(r, 20));
const seconds = (performance.now() - started) / 1000;
const rss = process.memoryUsage().rss;

const client = new pg.Client({ connectionString: DATABASE_URL });
await client.connect();
const { rows } = await client.query<{ p50: number; p95: number; p99: number; n: string }>(
  `SELECT count(*) AS n,
          percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
          percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95,
          percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99
     FROM (SELECT extract(epoch FROM recorded_at - received_at) * 1000 AS ms FROM "${schema}".transactions) t`,
);
const latency = rows[0]!;

await pipeline.stop();
await stream.close();
let cursor = "0";
do {
  const [nextCursor, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
  cursor = nextCursor;
  if (keys.length > 0) await redis.del(...keys);
} while (cursor !== "0");
await history.close();
await ledger.close();
await client.query(`DROP SCHEMA "${schema}" CASCADE`);
await client.end();

const result = {
  at: new Date().toISOString(),
  transactions: total,
  customers,
  accepted,
  committed: Number(latency.n),
  ingestSeconds: Number(ingestSeconds.toFixed(2)),
  seconds: Number(seconds.toFixed(2)),
  throughputPerSecond: Math.round(accepted / seconds),
  latencyMs: {
    p50: Math.round(latency.p50),
    p95: Math.round(latency.p95),
    p99: Math.round(latency.p99),
  },
  peakRssMb: Math.round(rss / 1024 / 1024),
};
console.log(`transactions committed   ${result.committed} of ${total} sent`);
console.log(`ingest (HTTP, batches)   ${result.ingestSeconds} s`);
console.log(
  `end to end               ${result.seconds} s  ->  ${result.throughputPerSecond} tx/s decided and committed`,
);
console.log(
  `accept -> commit latency p50 ${result.latencyMs.p50} ms, p95 ${result.latencyMs.p95} ms, p99 ${result.latencyMs.p99} ms (offered as fast as possible)`,
);
console.log(`RSS at the end           ${result.peakRssMb} MB`);
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new URL("./results/latest.json", import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);
console.log(
  `bench: ${result.throughputPerSecond} tx/s end to end, p99 ${result.latencyMs.p99} ms, ${result.committed}/${total} committed, RSS ${result.peakRssMb} MB`,
);
if (result.committed !== accepted) process.exit(1);
