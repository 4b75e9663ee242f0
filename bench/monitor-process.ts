/**
 * The monitor under benchmark, in its own process so that its RSS and CPU profile are its own
 * and not the load generator's: the API and stream consumer of `txwatch start` (startPipeline)
 * on the real PostgreSQL and Redis, with the durable local log. Driven over IPC by
 * bench/pipeline.ts (see MonitorRequest); counts what it sends to PostgreSQL and Redis and
 * how long each transaction took from acceptance to its committed decision.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import pg from "pg";
import { AlertHub } from "../src/alerts/hub.ts";
import { createApiKey } from "../src/api/auth.ts";
import { RedisClaimStore } from "../src/claims/index.ts";
import { RedisHistoryStore } from "../src/history/index.ts";
import { openPostgresLedger } from "../src/ledger/index.ts";
import { createLogger } from "../src/observability/logger.ts";
import { createMetrics } from "../src/observability/metrics.ts";
import { defaultRuleset } from "../src/rules/index.ts";
import { startPipeline } from "../src/runtime/pipeline.ts";
import { LocalLogStream } from "../src/stream/index.ts";
import { LatencyLog } from "./latency-log.ts";
import {
  benchTokenKey,
  type MonitorReply,
  type MonitorRequest,
  type MonitorSettings,
} from "./monitor-protocol.ts";

const settings = JSON.parse(process.env.BENCH_MONITOR ?? "") as MonitorSettings;

// Counted at the client: every statement and command the monitor sends, whoever sends it.
let statements = 0;
let commands = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements++;
  return Reflect.apply(query, this, args);
} as typeof query;
const sendCommand = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (this: Redis, ...args: unknown[]) {
  commands++;
  return Reflect.apply(sendCommand, this, args);
} as typeof sendCommand;

const ledger = await openPostgresLedger({
  connectionString: settings.databaseUrl,
  schema: settings.schema,
});
await ledger.migrate();
const latencies = new LatencyLog();
let committed = 0;
let alertsRaised = 0;
const commitBatch = ledger.commitBatch.bind(ledger);
ledger.commitBatch = async (records, alerts, quarantined) => {
  const result = await commitBatch(records, alerts, quarantined);
  const at = Date.now();
  for (const record of result.inserted) latencies.add(at - Date.parse(record.receivedAt));
  committed += result.inserted.length;
  alertsRaised += result.alerts.length;
  return result;
};

const redis = new Redis(settings.redisUrl, {
  maxRetriesPerRequest: 2,
  enableAutoPipelining: false,
});
const history = new RedisHistoryStore(redis, settings.prefix);
const claims = new RedisClaimStore(redis, settings.prefix);
const dataDir = mkdtempSync(join(tmpdir(), "txwatch-bench-"));
const log = createLogger("warn");
const stream = new LocalLogStream({
  partitions: settings.partitions,
  dir: join(dataDir, "stream"),
  onError: (err, context) => log.warn({ err, context }, "stream error (will retry)"),
});
const hub = new AlertHub();
const pipeline = await startPipeline(
  {
    ledger,
    history,
    claims,
    stream,
    tokenKey: benchTokenKey(),
    hub,
    alerts: hub,
    metrics: createMetrics(),
    log,
    ruleset: defaultRuleset(),
    source: "local",
  },
  { rateLimitPerMinute: 1_000_000, bodyLimitBytes: 8 * 1024 * 1024, batchSize: settings.batchSize },
);
const url = await pipeline.app.listen({ port: 0, host: "127.0.0.1" });
const key = await createApiKey(ledger, settings.merchantId);

const send = (reply: MonitorReply) => process.send!(reply);
const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
let cpuAtMark = cpuSeconds();
// Every round trip to PostgreSQL or Redis waits for the event loop: its delay is part of latency.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
// The share of time the one JavaScript thread was busy: everything but the services' own work
// queues for it, so it is the monitor's utilisation in the queueing sense.
let loopAtMark = performance.eventLoopUtilization();

process.on("message", async (request: MonitorRequest) => {
  switch (request.type) {
    case "mark":
      statements = 0;
      commands = 0;
      latencies.clear();
      committed = 0;
      alertsRaised = 0;
      cpuAtMark = cpuSeconds();
      loopDelay.reset();
      loopAtMark = performance.eventLoopUtilization();
      send({ type: "marked" });
      return;
    case "progress":
      send({ type: "progress", committed });
      return;
    case "report":
      send({
        type: "report",
        committed,
        alerts: alertsRaised,
        statements,
        commands,
        latencyMs: latencies.percentiles([50, 95, 99]),
        peakRssMb: peakRssMb(),
        cpuSeconds: cpuSeconds() - cpuAtMark,
        loopBusy: Number(performance.eventLoopUtilization(loopAtMark).utilization.toFixed(3)),
        loopDelayMs: {
          p50: Number((loopDelay.percentile(50) / 1e6).toFixed(1)),
          p99: Number((loopDelay.percentile(99) / 1e6).toFixed(1)),
        },
      });
      return;
    case "stop":
      await pipeline.stop();
      await stream.close();
      await claims.close();
      await history.close();
      await ledger.close();
      rmSync(dataDir, { recursive: true, force: true });
      send({ type: "stopped", peakRssMb: peakRssMb() });
      process.disconnect();
      return;
  }
});
send({ type: "ready", url, key, rssMb: Math.round(process.memoryUsage().rss / 1024 / 1024) });
