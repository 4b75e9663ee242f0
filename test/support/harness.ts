import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { AlertHub } from "../../src/alerts/hub.ts";
import { createApiKey } from "../../src/api/auth.ts";
import type { ApiDeps } from "../../src/api/types.ts";
import { MemoryClaimStore, RedisClaimStore } from "../../src/claims/index.ts";
import type { ClaimStore } from "../../src/claims/types.ts";
import { MemoryHistoryStore, RedisHistoryStore } from "../../src/history/index.ts";
import type { HistoryStore } from "../../src/history/types.ts";
import { openEmbeddedLedger, openPostgresLedger } from "../../src/ledger/index.ts";
import type { Ledger, StoredTransaction } from "../../src/ledger/types.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { defaultRuleset } from "../../src/rules/index.ts";
import type { CompiledRuleset } from "../../src/rules/types.ts";
import { startPipeline } from "../../src/runtime/pipeline.ts";
import { LocalLogStream } from "../../src/stream/index.ts";
import { connectTestRedis, DATABASE_URL, deleteKeys, dropSchema, uniqueName } from "./services.ts";

export interface HarnessOptions {
  /** "real": PostgreSQL + Redis of the machine; "embedded": PGlite + in-memory history. */
  kind: "real" | "embedded";
  rateLimitPerMinute?: number;
  bodyLimitBytes?: number;
  ruleset?: CompiledRuleset;
  /** Start the stream consumer (processBatch) so transactions get decided. */
  process?: boolean;
}

export interface Harness {
  app: FastifyInstance;
  deps: ApiDeps;
  ledger: Ledger;
  history: HistoryStore;
  claims: ClaimStore;
  stream: LocalLogStream;
  hub: AlertHub;
  /** The Redis key prefix of the history and the claims ("real" only), to reach their keys. */
  redisPrefix?: string;
  /** Everything the monitor logged, as text (PRIV-1 checks). */
  logs: () => string;
  keyFor(merchantId: string): Promise<string>;
  waitForDecision(
    merchantId: string,
    transactionId: string,
    timeoutMs?: number,
  ): Promise<StoredTransaction>;
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const cleanups: (() => Promise<void>)[] = [];
  let ledger: Ledger;
  let history: HistoryStore;
  let claims: ClaimStore;
  let redisPrefix: string | undefined;
  if (options.kind === "real") {
    const schema = uniqueName("txw_test");
    ledger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    const redis = await connectTestRedis();
    const prefix = uniqueName("txwtest");
    redisPrefix = prefix;
    history = new RedisHistoryStore(redis, prefix);
    claims = new RedisClaimStore(redis, prefix);
    cleanups.push(async () => {
      // A test may have closed the Redis connection itself (an outage): the schema still goes.
      await claims.close().catch(() => {});
      await deleteKeys(redis, prefix).catch(() => {});
      await history.close().catch(() => {});
      await ledger.close();
      await dropSchema(schema);
    });
  } else {
    ledger = await openEmbeddedLedger({});
    history = new MemoryHistoryStore();
    claims = new MemoryClaimStore();
    cleanups.push(async () => {
      await claims.close();
      await history.close();
      await ledger.close();
    });
  }
  await ledger.migrate();
  const stream = new LocalLogStream({ partitions: 2 });
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const log = createLogger("debug", sink);
  const hub = new AlertHub();
  const pipeline = await startPipeline(
    {
      ledger,
      history,
      claims,
      stream,
      tokenKey: Buffer.alloc(32, 1),
      hub,
      alerts: hub,
      metrics: createMetrics(),
      log,
      ruleset: options.ruleset ?? defaultRuleset(),
      source: "local",
    },
    {
      rateLimitPerMinute: options.rateLimitPerMinute ?? 10_000,
      bodyLimitBytes: options.bodyLimitBytes ?? 4 * 1024 * 1024,
      batchSize: 100,
      idleMs: 20,
      process: options.process !== false,
    },
  );
  const { app, api: deps } = pipeline;
  return {
    app,
    deps,
    ledger,
    history,
    claims,
    stream,
    hub,
    ...(redisPrefix !== undefined && { redisPrefix }),
    logs: () => chunks.join(""),
    keyFor: (merchantId) => createApiKey(ledger, merchantId),
    async waitForDecision(merchantId, transactionId, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const stored = await ledger.getTransaction(merchantId, transactionId);
        if (stored !== null) return stored;
        if (Date.now() > deadline)
          throw new Error(`${transactionId} was not decided within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      await pipeline.stop();
      await stream.close();
      for (const cleanup of cleanups) await cleanup();
    },
  };
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}`, "content-type": "application/json" };
}
