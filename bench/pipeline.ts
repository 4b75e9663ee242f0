/**
 * End-to-end benchmark on the machine's real PostgreSQL and Redis: authenticated HTTP ingest in
 * batches -> durable local stream -> processBatch -> Redis history + PostgreSQL ledger, default
 * ruleset. The monitor runs in a process of its own (bench/monitor-process.ts); this one
 * generates the load and measures:
 *
 * 1. throughput: every transaction offered as fast as 4 connections take batches of 500,
 *    timed until the last one is decided and committed;
 * 2. latency: a steady offered rate (2,000/s in batches of 20), acceptance to committed decision;
 * 3. the hot entity (SCL-1): a normal phase at the steady rate, then a day of transactions on
 *    one card and one address recorded into the history (bench/hot-entity.ts), then the hot
 *    phase: the same rate with a share of it on that card and address. Both phases are probed
 *    with other requests (GET /healthz, /readyz, a transaction) and compared per transaction;
 * 4. the machine's ceiling on the same rows (bench/ceiling.ts): PostgreSQL alone and Redis
 *    alone, and throughput as a share of the lower.
 *
 * For every phase it also prints the CPU each part spent per transaction (bench/cpu-meter.ts):
 * the monitor, Redis, PostgreSQL and the load generator share the machine's cores.
 *
 * It fails (exit 1) unless every accepted transaction was committed once and the ledger's hash
 * chain verifies over all of them.
 *
 * Prints its figures, writes bench/results/latest.json and ends with the issue's goals, each
 * met or not, and one summary line.
 *
 *   npm run bench                  1,000,000 transactions over 100,000 customers, a hot day of
 *                                  100,000
 *   npm run bench -- --quick       40,000 over 4,000, 5 s phases, a hot day of 20,000 (CI)
 *   options: --transactions N --customers M --rate R --steady-seconds S
 *            --partitions P --batch-size B --profile (CPU profile of the monitor, in bench/results)
 *            --hot-volume V --hot-share F (of the hot phase's transactions, 0..1)
 *            --hot-rate R (offered rate of the normal and hot phases; default --rate)
 */
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import pg from "pg";
import { DAY_MS, entityKeys } from "../src/history/keys.ts";
import { openPostgresLedger } from "../src/ledger/index.ts";
import { defaultRuleset } from "../src/rules/index.ts";
import { cardToken } from "../src/transaction/tokenize.ts";
import { measureCeiling } from "./ceiling.ts";
import { type CpuSample, type CpuUse, cpuBetween, formatCpu, sampleCpu } from "./cpu-meter.ts";
import { deleteKeys } from "./history-calls.ts";
import { preloadHotEntity } from "./hot-entity.ts";
import {
  type BatchAnswer,
  batchBody,
  IngestClient,
  offerSteadily,
  type Percentiles,
  type ProbeReport,
  probeWhile,
  sendAll,
} from "./http-load.ts";
import {
  benchTokenKey,
  type MonitorReply,
  type MonitorRequest,
  type MonitorSettings,
} from "./monitor-protocol.ts";
import { type BenchTransaction, HotTraffic, Workload } from "./workload.ts";

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
    "hot-volume": { type: "string" },
    "hot-share": { type: "string", default: "0.5" },
    "hot-rate": { type: "string" },
  },
});
const total = Number(values.transactions ?? (values.quick ? 40_000 : 1_000_000));
const customers = Number(values.customers ?? Math.max(100, Math.round(total / 10)));
const rate = Number(values.rate);
const steadySeconds = Number(values["steady-seconds"] ?? (values.quick ? 5 : 30));
const partitions = Number(values.partitions);
const batchSize = Number(values["batch-size"]);
const hotVolume = Number(values["hot-volume"] ?? (values.quick ? 20_000 : 100_000));
const hotShare = Number(values["hot-share"]);
const hotRate = Number(values["hot-rate"] ?? rate);
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const INGEST_BATCH = 500;
const INGEST_CONNECTIONS = 4;
const STEADY_BATCH = 20;
const MERCHANT = "bench";
const HOUR = 3_600_000;
/** Other requests during the hot-entity phases: GETs a second, over the probed paths in turn. */
const PROBES_PER_SECOND = 30;
/** The issue's goals (issue 16), at the rate the latency goal names. */
const GOAL = {
  perSecond: 10_000,
  latencyRate: 2_000,
  p99Ms: 35,
  cpuUsPerTx: 200,
  rssMb: 400,
  hotRatio: 1.2,
  otherP99Ms: 50,
};
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
// The first transaction of the day: committed in phase 1, read back by the probes.
const firstTransactionId = `b${process.pid}-0`;
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
type Report = Extract<MonitorReply, { type: "report" }>;

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

/**
 * A phase at the steady offered rate: `makeTx` makes each transaction when its batch is due.
 * With probes, other requests are sent meanwhile, until the phase's last transaction is
 * committed.
 */
interface SteadyPhase {
  offered: BatchAnswer & { lateMs: number; answerMs: Percentiles };
  report: Report;
  cpu: CpuUse;
  probes?: ProbeReport;
}
const steadyPhase = async (
  makeTx: () => BenchTransaction,
  ratePerSecond: number,
  withProbes: boolean,
): Promise<SteadyPhase> => {
  const from = await markPhase();
  const run = offerSteadily(
    client,
    { ratePerSecond, seconds: steadySeconds, batchSize: STEADY_BATCH },
    (size) => batchBody(Array.from({ length: size }, makeTx)),
  ).then(async (answer) => {
    await committedAll(answer.accepted);
    return answer;
  });
  let phaseOffered: SteadyPhase["offered"];
  let probes: ProbeReport | undefined;
  if (withProbes) {
    const paths = ["/healthz", "/readyz", `/v1/transactions/${firstTransactionId}`];
    ({ result: phaseOffered, probes } = await probeWhile(url, key, paths, PROBES_PER_SECOND, run));
  } else {
    phaseOffered = await run;
  }
  const report = await ask({ type: "report" }, "report");
  const cpu = await phaseCpu(from, report);
  return { offered: phaseOffered, report, cpu, ...(probes !== undefined && { probes }) };
};
const normalTx = () => workload.next(Date.now());

// 2. Latency at a steady offered rate.
const steady = await steadyPhase(normalTx, rate, false);
const atRate = steady.report;
const steadyCpu = steady.cpu;
say(`steady phase: p99 ${atRate.latencyMs[99]} ms at ${rate}/s`);

// 3. The hot entity: a normal phase, a day on one card and address, and the hot phase.
const normal = await steadyPhase(normalTx, hotRate, true);
const hot = new HotTraffic(MERCHANT, `b${process.pid}h`);
say(`normal phase done; recording a day of ${hotVolume} transactions on one card and address`);
const preload = await preloadHotEntity({
  redisUrl: REDIS_URL,
  prefix: settings.prefix,
  traffic: hot,
  volume: hotVolume,
  ruleset: defaultRuleset(),
  batchSize: INGEST_BATCH,
});
say(`recorded in ${preload.seconds.toFixed(1)} s; hot phase`);
const hotPhase = await steadyPhase(
  () => (hot.pick(hotShare) ? hot.next(Date.now()) : workload.next(Date.now())),
  hotRate,
  true,
);
// How big the hot entities' days are at the end, and whether they answer from aggregates.
const hotEntities = await Promise.all(
  (
    [
      ["card", cardToken(MERCHANT, hot.card, benchTokenKey())],
      ["ip", hot.ip],
    ] as const
  ).map(async ([kind, id]) => {
    const keys = entityKeys(settings.prefix, MERCHANT, kind, id);
    const entries = await cpuRedis.zcount(keys.times, Date.now() - DAY_MS, "+inf");
    return { kind, entries, aggregates: (await cpuRedis.exists(keys.aggregates)) === 1 };
  }),
);

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

// 4. The ceiling, on the rows of phase 1; then the run's data goes.
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
  redisConnections: Math.max(4, partitions),
  postgresIsLocal,
});
const db = new pg.Client({ connectionString: DATABASE_URL });
await db.connect();
await db.query(`DROP SCHEMA "${settings.schema}" CASCADE`);
await db.end();
const redis = new Redis(REDIS_URL);
await deleteKeys(redis, settings.prefix);
await redis.quit();

const throughput = Math.round(offered.accepted / seconds);
const perTx = (count: number, report: Report) =>
  Number((count / Math.max(1, report.committed)).toFixed(3));
const ms = (latency: Record<number, number>) => ({
  p50: Math.round(latency[50]!),
  p95: Math.round(latency[95]!),
  p99: Math.round(latency[99]!),
});
/** What SCL-1 compares: the CPU of the monitor and Redis per transaction, when both are known. */
const costUs = (cpu: CpuUse) =>
  cpu.perTxUs.redis === undefined ? undefined : cpu.perTxUs.monitor + cpu.perTxUs.redis;
const hotEntityPhase = (phase: SteadyPhase) => ({
  accepted: phase.offered.accepted,
  committed: phase.report.committed,
  ms: ms(phase.report.latencyMs),
  ingestAnswerMs: phase.offered.answerMs,
  cpu: phase.cpu,
  costUsPerTx: costUs(phase.cpu),
  redisCommandsPerTx: perTx(phase.report.commands, phase.report),
  sqlStatementsPerTx: perTx(phase.report.statements, phase.report),
  alertsPerTx: perTx(phase.report.alerts, phase.report),
  otherRequests: phase.probes,
  eventLoopDelayMs: phase.report.loopDelayMs,
  eventLoopBusy: phase.report.loopBusy,
});
const totalUs = saturatedCpu.perTxUs.total;
const normalCost = costUs(normal.cpu);
const hotCost = costUs(hotPhase.cpu);
const hotRatio =
  normalCost === undefined || hotCost === undefined || normalCost === 0
    ? undefined
    : Number((hotCost / normalCost).toFixed(3));
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
    accepted: steady.offered.accepted,
    committed: atRate.committed,
    senderLateMs: steady.offered.lateMs,
    ms: ms(atRate.latencyMs),
    cpu: steadyCpu,
    eventLoopDelayMs: atRate.loopDelayMs,
    eventLoopBusy: atRate.loopBusy,
  },
  hotEntity: {
    volume: hotVolume,
    share: hotShare,
    offeredPerSecond: hotRate,
    seconds: steadySeconds,
    preloadSeconds: Number(preload.seconds.toFixed(1)),
    entitiesAtEnd: hotEntities,
    normal: hotEntityPhase(normal),
    hot: hotEntityPhase(hotPhase),
    costRatio: hotRatio,
  },
  perTransaction: {
    redisCommands: perTx(saturated.commands, saturated),
    sqlStatements: perTx(saturated.statements, saturated),
    alerts: perTx(saturated.alerts, saturated),
  },
  peakRssMb,
  idleRssMb,
  /** The peak so far at the end of each phase: which phase set it. */
  peakRssMbAfter: {
    throughput: saturated.peakRssMb,
    latency: atRate.peakRssMb,
    normal: normal.report.peakRssMb,
    hot: hotPhase.report.peakRssMb,
  },
  hashChain: { ok: chain.ok, rows: chain.checked },
  ceiling,
  ratioOfCeiling: Number((throughput / Math.max(1, ceiling.perSecond)).toFixed(3)),
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
  `${result.perTransaction.redisCommands} Redis commands, ${result.perTransaction.sqlStatements} SQL statements (saturated)`,
);
out(
  "hot entity",
  `a day of ${hotVolume} on one card and one address (recorded in ${result.hotEntity.preloadSeconds} s), then ${Math.round(hotShare * 100)}% of ${hotRate}/s on them for ${steadySeconds} s (after a normal phase at that rate)`,
);
const probeText = (probes: ProbeReport | undefined) =>
  probes === undefined
    ? "n/a"
    : `p50 ${probes.all.p50} ms, p99 ${probes.all.p99} ms, max ${probes.all.max} ms (${Object.entries(
        probes.byPath,
      )
        .map(([path, p]) => `${path.replace(/\/v1\/transactions\/.*/, "GET tx")} p99 ${p.p99}`)
        .join(", ")}; ${probes.all.count} requests, ${probes.failures} failed)`;
for (const [label, phase, report] of [
  ["normal", result.hotEntity.normal, normal.report],
  ["hot", result.hotEntity.hot, hotPhase.report],
] as const) {
  out(
    `  ${label} phase`,
    `monitor + Redis ${phase.costUsPerTx ?? "n/a"} µs/tx, ${phase.redisCommandsPerTx} Redis commands/tx, ${phase.alertsPerTx} alerts/tx, p99 ${phase.ms.p99} ms to decision`,
  );
  out("    CPU per transaction", formatCpu(phase.cpu));
  out("    other requests", probeText(phase.otherRequests));
  out(
    "    ingest answers",
    `p50 ${phase.ingestAnswerMs.p50} ms, p99 ${phase.ingestAnswerMs.p99} ms (${phase.ingestAnswerMs.count} requests of ${STEADY_BATCH}, acceptance only)`,
  );
  out("    event loop", loopDelay(report));
}
out(
  "  hot / normal",
  hotRatio === undefined ? "n/a" : `${hotRatio} of the normal phase's cost per transaction`,
);
out(
  "  hot entities at the end",
  hotEntities
    .map(
      (e) =>
        `${e.kind} ${e.entries} entries in its day (${e.aggregates ? "running aggregates" : "scanned"})`,
    )
    .join(", "),
);
out(
  "monitor peak RSS",
  `${peakRssMb} MB (${idleRssMb} MB before any load; peak so far after throughput ${saturated.peakRssMb}, latency ${atRate.peakRssMb}, normal ${normal.report.peakRssMb}, hot ${hotPhase.report.peakRssMb})`,
);
const busy = (share: number | undefined) =>
  share === undefined ? "n/a" : `${Math.round(share * 100)}%`;
out(
  "ceiling (same rows)",
  `${ceiling.perSecond} tx/s, bound by ${ceiling.boundBy} (over ${ceiling.rows} transactions)`,
);
out(
  "  PostgreSQL alone",
  `${ceiling.postgres.perSecond} tx/s bulk insert (key, row, decision), ${ceiling.postgres.cpuUsPerTx ?? "n/a"} µs CPU/tx`,
);
out(
  "  Redis alone",
  `${ceiling.redis.perSecond} tx/s, ${ceiling.redis.callsPerTx} script calls/tx on ${ceiling.redis.connections} connections, ${ceiling.redis.cpuUsPerTx ?? "n/a"} µs CPU/tx${ceiling.redis.cpuUsPerTx ? ` (one core: ${Math.round(1e6 / ceiling.redis.cpuUsPerTx)} tx/s)` : ""}, Redis ${busy(ceiling.redis.busy)} busy, client ${busy(ceiling.redis.clientBusy)}`,
);
const cores = availableParallelism();
out(
  `  all parts on ${cores} cores`,
  totalUs === undefined
    ? "n/a"
    : `${Math.round((cores * 1e6) / totalUs)} tx/s at the saturated ${totalUs} µs CPU/tx (monitor, Redis, PostgreSQL); ${((GOAL.perSecond * totalUs) / 1e6).toFixed(1)} cores for ${GOAL.perSecond} tx/s`,
);
out(
  "share of ceiling",
  `${(result.ratioOfCeiling * 100).toFixed(1)}% of ${ceiling.perSecond} tx/s`,
);
writeFileSync(new URL("latest.json", results), `${JSON.stringify(result, null, 2)}\n`);

const complete =
  chain.ok &&
  chain.checked ===
    saturated.committed + atRate.committed + normal.report.committed + hotPhase.report.committed &&
  saturated.committed === offered.accepted &&
  offered.rejected === 0 &&
  [steady, normal, hotPhase].every(
    (phase) => phase.report.committed === phase.offered.accepted && phase.offered.rejected === 0,
  );

// The issue's goals, each met or not, in one block.
const verdict = (met: boolean | undefined) =>
  met === undefined ? "not measured" : met ? "met" : "not met";
const goal = (label: string, value: string, target: string, met: boolean | undefined) =>
  console.log(`  ${label.padEnd(40)}${value.padEnd(14)}${target.padEnd(14)}${verdict(met)}`);
const otherP99 = hotPhase.probes?.all.p99;
console.log("goals (issue 16; one run, this machine)");
goal(
  "end to end, chain verified",
  `${throughput} tx/s`,
  `>= ${GOAL.perSecond}`,
  throughput >= GOAL.perSecond && complete,
);
goal(
  `p99 at steady ${rate}/s${rate === GOAL.latencyRate ? "" : ` (goal at ${GOAL.latencyRate}/s)`}`,
  `${lat.p99} ms`,
  `<= ${GOAL.p99Ms} ms`,
  rate === GOAL.latencyRate ? lat.p99 <= GOAL.p99Ms : undefined,
);
goal(
  "CPU/tx saturated (monitor+Redis+PG)",
  totalUs === undefined ? "n/a" : `${totalUs} µs`,
  `<= ${GOAL.cpuUsPerTx} µs`,
  totalUs === undefined ? undefined : totalUs <= GOAL.cpuUsPerTx,
);
goal("monitor peak RSS", `${peakRssMb} MB`, `<= ${GOAL.rssMb} MB`, peakRssMb <= GOAL.rssMb);
goal(
  `hot entity (${hotVolume}/day): cost hot/normal`,
  hotRatio === undefined ? "n/a" : `${hotRatio}`,
  `<= ${GOAL.hotRatio}`,
  hotRatio === undefined ? undefined : hotRatio <= GOAL.hotRatio,
);
goal(
  "hot entity: other requests p99",
  otherP99 === undefined ? "n/a" : `${otherP99} ms`,
  `< ${GOAL.otherP99Ms} ms`,
  otherP99 === undefined ? undefined : otherP99 < GOAL.otherP99Ms,
);
console.log(
  `bench: ${throughput} tx/s end to end (${(result.ratioOfCeiling * 100).toFixed(0)}% of ceiling ${ceiling.perSecond}), p99 ${lat.p99} ms at ${rate}/s, ${totalUs ?? "n/a"} µs CPU/tx saturated, hot/normal ${hotRatio ?? "n/a"}, other requests p99 ${otherP99 ?? "n/a"} ms, ${result.perTransaction.redisCommands} Redis cmds + ${result.perTransaction.sqlStatements} SQL stmts per tx, peak RSS ${peakRssMb} MB`,
);
process.exit(complete ? 0 : 1);
