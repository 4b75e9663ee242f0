import { join } from "node:path";
import { Cluster, Redis } from "ioredis";
import { AlertHub } from "../alerts/hub.ts";
import { type AlertPublisher, fanOut } from "../alerts/publisher.ts";
import { MemoryClaimStore, RedisClaimStore } from "../claims/index.ts";
import type { ClaimStore } from "../claims/types.ts";
import { type Config, decodeTokenKey } from "../config.ts";
import { MemoryHistoryStore, RedisHistoryStore } from "../history/index.ts";
import type { HistoryStore } from "../history/types.ts";
import { openEmbeddedLedger, openPostgresLedger, type SqlLedger } from "../ledger/index.ts";
import type { Ledger } from "../ledger/types.ts";
import {
  type ConnectionObserver,
  type DependencyStates,
  registerDependencyGauge,
  trackDependencies,
} from "../observability/dependency-state.ts";
import type { Logger } from "../observability/logger.ts";
import { createMetrics, type Metrics } from "../observability/metrics.ts";
import { startConfiguredOutbox } from "../outbox/configured-outbox.ts";
import { defaultRuleset, loadRuleset } from "../rules/index.ts";
import type { CompiledRuleset } from "../rules/types.ts";
import { KinesisStream, kinesisClientFrom, LocalLogStream } from "../stream/index.ts";
import type { Stream } from "../stream/types.ts";
import { type DataDirUse, ensureDataDir, localTokenKey, lockDataDir } from "./data-dir.ts";
import { watchRedis, watchStream } from "./dependency-watch.ts";
import { historyRebuildFrom } from "./history-rebuild.ts";

/** Everything one process of the monitor uses, opened from the configuration. */
export interface Runtime {
  config: Config;
  log: Logger;
  metrics: Metrics;
  ledger: Ledger;
  history: HistoryStore;
  /** The ingest claims: beside the history, in its Redis or in this process. */
  claims: ClaimStore;
  stream: Stream;
  ruleset: CompiledRuleset;
  tokenKey: Buffer;
  hub: AlertHub;
  alerts: AlertPublisher;
  /**
   * "local" or the Kinesis stream name; names the source of quarantined records, followed by
   * each record's origin (log instance and partition, or shard).
   */
  source: string;
  /**
   * The state of the ledger, history and stream, fed by their drivers; each change is logged
   * once and exported as txwatch_dependency_up (REL-2).
   */
  dependencies: DependencyStates;
  close(): Promise<void>;
}

/** Embedded (PGlite) unless DATABASE_URL is set. The embedded one locks the data directory. */
export async function openLedger(
  config: Config,
  observer?: ConnectionObserver,
  use: DataDirUse = "embedded-ledger",
): Promise<{ ledger: SqlLedger; release: () => void }> {
  if (config.DATABASE_URL !== undefined) {
    const ledger = await openPostgresLedger({
      connectionString: config.DATABASE_URL,
      chains: config.TXWATCH_LEDGER_CHAINS,
      ...(config.TXWATCH_DB_SCHEMA && { schema: config.TXWATCH_DB_SCHEMA }),
      ...(observer !== undefined && { observer }),
    });
    return { ledger, release: () => {} };
  }
  ensureDataDir(config.TXWATCH_DATA_DIR);
  const release = lockDataDir(config.TXWATCH_DATA_DIR, use);
  try {
    const ledger = await openEmbeddedLedger({
      dataDir: join(config.TXWATCH_DATA_DIR, "ledger"),
      chains: config.TXWATCH_LEDGER_CHAINS,
    });
    return { ledger, release };
  } catch (error) {
    release();
    throw error;
  }
}

export function openRuleset(config: Config): CompiledRuleset {
  return config.TXWATCH_RULESET === undefined
    ? defaultRuleset()
    : loadRuleset(config.TXWATCH_RULESET);
}

function openStream(config: Config, log: Logger, observer: ConnectionObserver): Stream {
  const onError = (err: unknown, context?: string) => {
    // The handler's own failure is the processor's, not the stream's; anything else (an append,
    // a read, a checkpoint, a Kinesis call) is the stream failing, reported once per outage.
    if (context?.startsWith("handling") === true)
      log.warn({ err, context }, "batch handler failed");
    else observer.failed(err);
  };
  if (config.TXWATCH_STREAM === "kinesis") {
    const client = kinesisClientFrom({
      region: config.AWS_REGION,
      ...(config.KINESIS_ENDPOINT && { endpoint: config.KINESIS_ENDPOINT }),
    });
    return new KinesisStream(client, config.KINESIS_STREAM_NAME!, {
      onError,
      put: { onError },
      stuckAfterMs: config.TXWATCH_STUCK_AFTER_SECONDS * 1000,
    });
  }
  ensureDataDir(config.TXWATCH_DATA_DIR);
  return new LocalLogStream({
    partitions: config.TXWATCH_PARTITIONS,
    maxPendingRecords: config.TXWATCH_MAX_BACKLOG,
    dir: join(config.TXWATCH_DATA_DIR, "stream"),
    onError,
    stuckAfterMs: config.TXWATCH_STUCK_AFTER_SECONDS * 1000,
  });
}

export async function openRuntime(config: Config, log: Logger): Promise<Runtime> {
  const closers: (() => Promise<void> | void)[] = [];
  const dependencies = trackDependencies(log);
  // Before the stores: the history store counts its rebuilds (REL-6).
  const metrics = createMetrics();
  registerDependencyGauge(metrics.registry, dependencies);
  const close = async () => {
    // First: what fails while the connections close is no outage.
    for (const tracker of Object.values(dependencies)) tracker.close();
    for (const closer of closers.reverse()) await closer();
  };
  try {
    const { ledger, release } = await openLedger(config, dependencies.ledger);
    closers.push(release, () => ledger.close());
    ledger.onGroupFailure = (err, batches) =>
      log.warn({ err, batches }, "batches committed together failed; committing each alone");
    const applied = await ledger.migrate();
    if (applied.length > 0) log.info({ applied }, "ledger migrated");

    let history: HistoryStore;
    let claims: ClaimStore;
    if (config.REDIS_URL !== undefined) {
      const url = new URL(config.REDIS_URL);
      const redis = watchRedis(
        config.REDIS_CLUSTER
          ? // SCL-2: REDIS_URL names one node of a Redis Cluster; the client finds the others.
            new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
              enableAutoPipelining: true,
              redisOptions: { maxRetriesPerRequest: 2 },
            })
          : new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, enableAutoPipelining: false }),
        dependencies.history,
      );
      // Redis that comes back empty is rebuilt from the ledger before decisions resume (REL-6).
      const rebuild = historyRebuildFrom(ledger, { log, store: "redis", metrics });
      history = new RedisHistoryStore(redis, config.TXWATCH_REDIS_PREFIX, undefined, { rebuild });
      claims = new RedisClaimStore(redis, config.TXWATCH_REDIS_PREFIX);
    } else {
      // The in-process history starts empty: the last 24 h are replayed from the ledger in the
      // background, so the API listens at once and the first batch waits for the whole day.
      const rebuild = historyRebuildFrom(ledger, { log, store: "memory" });
      const memory = new MemoryHistoryStore({ rebuild });
      memory.whenComplete().catch(() => {}); // logged by the rebuild; the next batch retries it
      history = memory;
      claims = new MemoryClaimStore();
    }
    // Closed in reverse: the claims first, while the client they share with the history is open.
    closers.push(
      () => history.close(),
      () => claims.close(),
    );

    if (config.DATABASE_URL !== undefined && config.TXWATCH_STREAM === "local") {
      // The local stream has one owner too: two monitors on one directory would append to and
      // consume the same segments. The embedded ledger took this lock already.
      ensureDataDir(config.TXWATCH_DATA_DIR);
      closers.push(lockDataDir(config.TXWATCH_DATA_DIR, "local-stream"));
    }
    const stream = watchStream(openStream(config, log, dependencies.stream), dependencies.stream);
    closers.push(() => stream.close());

    const tokenKey =
      config.TXWATCH_TOKEN_KEY === undefined
        ? localTokenKey(config.TXWATCH_DATA_DIR)
        : decodeTokenKey(config.TXWATCH_TOKEN_KEY);
    const hub = new AlertHub();
    const publishers: AlertPublisher[] = [hub];
    // The webhook is delivered from the ledger (REL-6); the processor's publish after each
    // commit only wakes the outbox, so an alert goes out at once and none waits in memory.
    const outbox = await startConfiguredOutbox(config, {
      ledger,
      log,
      metrics,
      channels: ["webhook"],
    });
    if (outbox !== undefined) {
      publishers.push(outbox);
      closers.push(() => outbox.stop());
    }
    return {
      config,
      log,
      metrics,
      ledger,
      history,
      claims,
      stream,
      ruleset: openRuleset(config),
      tokenKey,
      hub,
      alerts: fanOut(publishers),
      source: config.TXWATCH_STREAM === "kinesis" ? config.KINESIS_STREAM_NAME! : "local",
      dependencies,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
