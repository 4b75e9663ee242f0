/**
 * End-to-end benchmark on the machine's real PostgreSQL and Redis: authenticated HTTP ingest in
 * batches -> durable local stream -> processBatch -> Redis history + PostgreSQL ledger, default
 * ruleset. The monitor runs in a process of its own (bench/monitor-process.ts); this one
 * generates the load and measures:
 *
 * 1. throughput: every transaction offered as fast as 4 connections take batches of 500,
 *    timed until the last one is decided and committed;
 * 2. latency: a steady offered rate (2,000/s in batches of 20), acceptance to committed decision;
 * 3. the machine's ceiling on the same rows (bench/ceiling.ts), and throughput as a share of it.
 *
 * For phases 1 and 2 it also prints the CPU each part spent per transaction (bench/cpu-meter.ts):
 * the monitor, Redis, PostgreSQL and the load generator share the machine's cores.
 *
 * It fails (exit 1) unless every accepted transaction was committed once and the ledger's hash
 * chain verifies over all of them.
 *
 * Prints its figures, writes bench/results/latest.json and ends with one summary line.
 *
 *   npm run bench                  1,000,000 transactions over 100,000 customers
 *   npm run bench -- --quick       40,000 over 4,000, 5 s of steady rate (what CI runs)
 *   options: --transactions N --customers M --rate R --steady-seconds S
 *            --partitions P --batch-size B --profile (CPU profile of the monitor, in bench/results)
 */
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import pg from "pg";
import { openPostgresLedger } from "../src/ledger/index.ts";
import { defaultRuleset } from "../src/rules/index.ts";
import { deleteKeys, measureCeiling } from "./ceiling.ts";
import { type CpuSample, cpuBetween, formatCpu, sampleCpu } from "./cpu-meter.ts";
import { batchBody, IngestClient, offerSteadily, sendAll } from "./http-load.ts";
import type { MonitorReply, MonitorRequest, MonitorSettings } from "./monitor-protocol.ts";
import { Workload } from "./workload.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    transactions: { type: "string" },
    customers: { type: "string" },
    rate: { type: "string", default: "2000" },
    "steady-seconds": { type: "string" },
    partitions: { type: "string", default: "4" },
    "batch-size": { type: "string", default: "500" },
    profile: { type: "boolean", default: false },
  },
});
const total = Number(values.transactions ?? (values.quick ? 40_000 : 1_000_000));
const customers = Number(values.customers ?? Math.max(100, Math.round(total / 10)));
const rate = Number(values.rate);
const steadySeconds = Number(values["steady-seconds"] ?? (values.quick ? 5 : 30));
const partitions = Number(values.partitions);
const batchSize = Number(values["batch-size"]);
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const INGEST_BATCH = 500;
const INGEST_CONNECTIONS = 4;
const STEADY_BATCH = 20;
const MERCHANT = "bench";
const HOUR = 3_600_000;
const results = new URL("./results/", import.meta.url);

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

// A day of traffic: event times spread over the 23 hours before the run, in order.
const workload = new Workload(customers, MERCHANT, `b${process.pid}`);
const firstEvent = Date.now() - 23 * HOUR;
const spacing = (22.9 * HOUR) / total;
const bodies: Buffer[] = [];
for (let i = 0; i < total; i += INGEST_BATCH) {
  const batch = [];
  for (let j = i; j < Math.min(total, i + INGEST_BATCH); j++) {
    batch.push(workload.next(Math.round(firstEvent + j * spacing)));
  }
  bodies.push(batchBody(batch));
}
say(
  `${total} transactions over ${customers} customers, ${bodies.length} requests of ${INGEST_BATCH}`,
);

const settings: MonitorSettings = {
  databaseUrl: DATABASE_URL,
  redisUrl: REDIS_URL,
  schema: `txw_bench_${process.pid}`,
  prefix: `txwbench${process.pid}`,
  merchantId: MERCHANT,
  partitions,
  batchSize,
};
mkdirSync(results, { recursive: true });
const monitor = fork(new URL("./monitor-process.ts", import.meta.url), {
  execArgv: [
    "--import",
    "tsx",
    ...(values.profile
      ? ["--cpu-prof", "--cpu-prof-dir", new URL("profile", results).pathname]
      : []),
  ],
  env: { ...process.env, BENCH_MONITOR: JSON.stringify(settings) },
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
const replies: ((reply: MonitorReply) => void)[] = [];
monitor.on("message", (reply: MonitorReply) => replies.shift()?.(reply));
monitor.on("exit", (code) => {
  if (code !== 0) {
    say(`the monitor exited with ${code}`);
    process.exit(1);
  }
});
const ask = <T extends MonitorReply["type"]>(request: MonitorRequest | undefined, type: T) =>
  new Promise<Extract<MonitorReply, { type: T }>>((resolve, reject) => {
    replies.push((reply) =>
      reply.type === type
        ? resolve(reply as Extract<MonitorReply, { type: T }>)
        : reject(new Error(`expected ${type} from the monitor, got ${reply.type}`)),
    );
    if (request !== undefined) monitor.send(request);
  });
const committedAll = async (accepted: number) => {
  while ((await ask({ type: "progress" }, "progress")).committed < accepted) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

const { url, key, rssMb: idleRssMb } = await ask(undefined, "ready");
const client = new IngestClient(url, key, 16);
const cpuRedis = new Redis(REDIS_URL);
// PostgreSQL's processes can be read from /proc only when it runs on this machine.
const postgresIsLocal = ["127.0.0.1", "localhost", "[::1]", ""].includes(
  new URL(DATABASE_URL).hostname,
);
const markPhase = async (): Promise<CpuSample> => {
  await ask({ type: "mark" }, "marked");
  return sampleCpu(cpuRedis, postgresIsLocal);
};
const phaseCpu = async (from: CpuSample, report: { cpuSeconds: number; committed: number }) =>
  cpuBetween(from, await sampleCpu(cpuRedis, postgresIsLocal), report.cpuSeconds, report.committed);

// 1. Throughput.
const saturatedFrom = await markPhase();
const started = performance.now();
const offered = await sendAll(client, bodies, INGEST_CONNECTIONS);
const ingestSeconds = (performance.now() - started) / 1000;
bodies.length = 0;
await committedAll(offered.accepted);
const seconds = (performance.now() - started) / 1000;
const saturated = await ask({ type: "report" }, "report");
const saturatedCpu = await phaseCpu(saturatedFrom, saturated);
say(`throughput phase: ${Math.round(offered.accepted / seconds)} tx/s`);

// 2. Latency at a steady offered rate.
const steadyFrom = await markPhase();
const steady = await offerSteadily(
  client,
  { ratePerSecond: rate, seconds: steadySeconds, batchSize: STEADY_BATCH },
  (size) => batchBody(Array.from({ length: size }, () => workload.next(Date.now()))),
);
await committedAll(steady.accepted);
const atRate = await ask({ type: "report" }, "report");
const steadyCpu = await phaseCpu(steadyFrom, atRate);
client.close();
await cpuRedis.quit();
const { peakRssMb } = await ask({ type: "stop" }, "stopped");
say("monitor stopped; verifying the ledger's hash chain");

// What `txwatch verify-ledger` checks: every row of the run chained and intact.
const written = await openPostgresLedger({
  connectionString: DATABASE_URL,
  schema: settings.schema,
});
const chain = await written.verifyChain();
await written.close();
say(
  `hash chain ${chain.ok ? "valid" : `broken at seq ${chain.firstBad?.seq}`} over ${chain.checked} rows; measuring the ceiling`,
);

// 3. The ceiling, on the rows just written; then the run's data goes.
const ceiling = await measureCeiling({
  databaseUrl: DATABASE_URL,
  redisUrl: REDIS_URL,
  sourceSchema: settings.schema,
  rows: saturated.committed,
  schema: `${settings.schema}_ceiling`,
  prefix: `${settings.prefix}ceiling`,
  ruleset: defaultRuleset(),
  batchSize,
  concurrency: partitions,
});
const db = new pg.Client({ connectionString: DATABASE_URL });
await db.connect();
await db.query(`DROP SCHEMA "${settings.schema}" CASCADE`);
await db.end();
const redis = new Redis(REDIS_URL);
await deleteKeys(redis, settings.prefix);
await redis.quit();

const throughput = Math.round(offered.accepted / seconds);
const ceilingPerSecond = Math.min(ceiling.postgresPerSecond, ceiling.redisPerSecond);
const perTx = (count: number) => Number((count / saturated.committed).toFixed(3));
const ms = (latency: Record<number, number>) => ({
  p50: Math.round(latency[50]!),
  p95: Math.round(latency[95]!),
  p99: Math.round(latency[99]!),
});
const result = {
  at: new Date().toISOString(),
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
  transactions: total,
  customers,
  partitions,
  batchSize,
  throughput: {
    accepted: offered.accepted,
    rejected: offered.rejected,
    committed: saturated.committed,
    ingestSeconds: Number(ingestSeconds.toFixed(2)),
    seconds: Number(seconds.toFixed(2)),
    perSecond: throughput,
    latencyMsWhenSaturated: ms(saturated.latencyMs),
    cpu: saturatedCpu,
    eventLoopDelayMs: saturated.loopDelayMs,
    eventLoopBusy: saturated.loopBusy,
  },
  latency: {
    offeredPerSecond: rate,
    seconds: steadySeconds,
    accepted: steady.accepted,
    committed: atRate.committed,
    senderLateMs: steady.lateMs,
    ms: ms(atRate.latencyMs),
    cpu: steadyCpu,
    eventLoopDelayMs: atRate.loopDelayMs,
    eventLoopBusy: atRate.loopBusy,
  },
  perTransaction: {
    redisCommands: perTx(saturated.commands),
    sqlStatements: perTx(saturated.statements),
  },
  peakRssMb,
  idleRssMb,
  hashChain: { ok: chain.ok, rows: chain.checked },
  ceiling: { ...ceiling, perSecond: ceilingPerSecond },
  ratioOfCeiling: Number((throughput / ceilingPerSecond).toFixed(3)),
};

const loopDelay = (report: { loopDelayMs: { p50: number; p99: number }; loopBusy: number }) =>
  `${Math.round(report.loopBusy * 100)}% busy, delay p50 ${report.loopDelayMs.p50} ms, p99 ${report.loopDelayMs.p99} ms (the monitor's one thread, where every round trip waits)`;
const out = (label: string, text: string) => console.log(`${label.padEnd(28)}${text}`);
out(
  "transactions",
  `${total} over ${customers} customers, ${partitions} partitions, batches of ${batchSize}`,
);
out(
  "committed",
  `${saturated.committed} of ${offered.accepted} accepted (${offered.rejected} rejected)`,
);
out("ingest (HTTP, batches)", `${result.throughput.ingestSeconds} s`);
out("end to end", `${result.throughput.seconds} s -> ${throughput} tx/s decided and committed`);
const sat = result.throughput.latencyMsWhenSaturated;
out("  latency when saturated", `p50 ${sat.p50} ms, p95 ${sat.p95} ms, p99 ${sat.p99} ms`);
out("  CPU per transaction", formatCpu(saturatedCpu));
out("  event loop", loopDelay(saturated));
const lat = result.latency.ms;
out(
  `latency at ${rate}/s offered`,
  `p50 ${lat.p50} ms, p95 ${lat.p95} ms, p99 ${lat.p99} ms (${atRate.committed} tx over ${steadySeconds} s)`,
);
out("  CPU per transaction", formatCpu(steadyCpu));
out("  event loop", loopDelay(atRate));
out(
  "per transaction",
  `${result.perTransaction.redisCommands} Redis commands, ${result.perTransaction.sqlStatements} SQL statements`,
);
out("monitor peak RSS", `${peakRssMb} MB (${idleRssMb} MB before any load)`);
out(
  "ceiling (same rows)",
  `PostgreSQL bulk insert ${ceiling.postgresPerSecond} rows/s, history script ${ceiling.redisPerSecond} tx/s`,
);
out("share of ceiling", `${(result.ratioOfCeiling * 100).toFixed(1)}% of ${ceilingPerSecond} tx/s`);
writeFileSync(new URL("latest.json", results), `${JSON.stringify(result, null, 2)}\n`);
console.log(
  `bench: ${throughput} tx/s end to end (${(result.ratioOfCeiling * 100).toFixed(0)}% of ceiling), p99 ${lat.p99} ms at ${rate}/s, ${result.perTransaction.redisCommands} Redis cmds + ${result.perTransaction.sqlStatements} SQL stmts per tx, peak RSS ${peakRssMb} MB`,
);
const complete =
  chain.ok &&
  chain.checked === saturated.committed + atRate.committed &&
  saturated.committed === offered.accepted &&
  offered.rejected === 0 &&
  atRate.committed === steady.accepted;
process.exit(complete ? 0 : 1);
