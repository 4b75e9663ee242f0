import { join } from "node:path";
import { Redis } from "ioredis";
import { AlertHub } from "../alerts/hub.ts";
import { type AlertPublisher, fanOut } from "../alerts/publisher.ts";
import { webhookPublisher } from "../alerts/webhook.ts";
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
import { defaultRuleset, loadRuleset } from "../rules/index.ts";
import type { CompiledRuleset } from "../rules/types.ts";
import { KinesisStream, kinesisClientFrom, LocalLogStream } from "../stream/index.ts";
import type { Stream } from "../stream/types.ts";
import { ensureDataDir, localTokenKey, lockDataDir } from "./data-dir.ts";
import { watchRedis, watchStream } from "./dependency-watch.ts";
import { warmHistory } from "./warm-history.ts";

/** Everything one process of the monitor uses, opened from the configuration. */
export interface Runtime {
  config: Config;
  log: Logger;
  metrics: Metrics;
  ledger: Ledger;
  history: HistoryStore;
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
): Promise<{ ledger: SqlLedger; release: () => void }> {
  if (config.DATABASE_URL !== undefined) {
    const ledger = await openPostgresLedger({
      connectionString: config.DATABASE_URL,
      ...(config.TXWATCH_DB_SCHEMA && { schema: config.TXWATCH_DB_SCHEMA }),
      ...(observer !== undefined && { observer }),
    });
    return { ledger, release: () => {} };
  }
  ensureDataDir(config.TXWATCH_DATA_DIR);
  const release = lockDataDir(config.TXWATCH_DATA_DIR);
  try {
    const ledger = await openEmbeddedLedger({ dataDir: join(config.TXWATCH_DATA_DIR, "ledger") });
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
    return new KinesisStream(client, config.KINESIS_STREAM_NAME!, { onError, put: { onError } });
  }
  ensureDataDir(config.TXWATCH_DATA_DIR);
  return new LocalLogStream({
    partitions: config.TXWATCH_PARTITIONS,
    dir: join(config.TXWATCH_DATA_DIR, "stream"),
    onError,
  });
}

export async function openRuntime(config: Config, log: Logger): Promise<Runtime> {
  const closers: (() => Promise<void> | void)[] = [];
  const dependencies = trackDependencies(log);
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
    if (config.REDIS_URL !== undefined) {
      const redis = watchRedis(
        new Redis(config.REDIS_URL, {
          maxRetriesPerRequest: 2,
          enableAutoPipelining: false,
        }),
        dependencies.history,
      );
      history = new RedisHistoryStore(redis, config.TXWATCH_REDIS_PREFIX);
    } else {
      history = new MemoryHistoryStore();
      // The in-process history starts empty; rebuild the last 24 h from the ledger so a restart
      // does not forget velocity.
      const warmed = await warmHistory(ledger, history, Date.now());
      if (warmed > 0)
        log.info({ transactions: warmed }, "in-memory history rebuilt from the ledger");
    }
    closers.push(() => history.close());

    if (config.DATABASE_URL !== undefined && config.TXWATCH_STREAM === "local") {
      // The local stream has one owner too: two monitors on one directory would append to and
      // consume the same segments. The embedded ledger took this lock already.
      ensureDataDir(config.TXWATCH_DATA_DIR);
      closers.push(lockDataDir(config.TXWATCH_DATA_DIR));
    }
    const stream = watchStream(openStream(config, log, dependencies.stream), dependencies.stream);
    closers.push(() => stream.close());

    const tokenKey =
      config.TXWATCH_TOKEN_KEY === undefined
        ? localTokenKey(config.TXWATCH_DATA_DIR)
        : decodeTokenKey(config.TXWATCH_TOKEN_KEY);
    const hub = new AlertHub();
    const publishers: AlertPublisher[] = [hub];
    const metrics = createMetrics();
    registerDependencyGauge(metrics.registry, dependencies);
    if (config.ALERT_WEBHOOK_URL !== undefined) {
      // Delivers in the background; on stop, what is still queued gets a few seconds.
      const webhook = webhookPublisher({ url: config.ALERT_WEBHOOK_URL, log, metrics });
      publishers.push(webhook);
      closers.push(() => webhook.close(5000));
    }
    return {
      config,
      log,
      metrics,
      ledger,
      history,
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
