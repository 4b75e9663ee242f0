import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { AlertHub } from "../../src/alerts/hub.ts";
import { createApiKey } from "../../src/api/auth.ts";
import { RedisClaimStore } from "../../src/claims/index.ts";
import { RedisHistoryStore } from "../../src/history/index.ts";
import { openPostgresLedger, type SqlLedger } from "../../src/ledger/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { defaultRuleset } from "../../src/rules/index.ts";
import { type Pipeline, startPipeline } from "../../src/runtime/pipeline.ts";
import { LocalLogStream } from "../../src/stream/index.ts";
import { wireTransaction } from "../support/fixtures.ts";
import { bearer } from "../support/harness.ts";
import {
  connectTestRedis,
  DATABASE_URL,
  deleteKeys,
  dropSchema,
  REDIS_URL,
  uniqueName,
} from "../support/services.ts";
import { PgProxy } from "./pg-proxy.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * REL-3: ingest stays open on the durable stream while the ledger or Redis is down (their TCP
 * connections cut and refused by a proxy in front of the real servers), with the items'
 * deduplication deferred to the ledger; and it refuses, with a 503, only what the stream cannot
 * take.
 */
describe("ingest while a store is down (real PostgreSQL and Redis behind proxies)", () => {
  const schema = uniqueName("txw_test");
  const prefix = uniqueName("txw");
  const target = (url: string) => ({
    host: "127.0.0.1",
    port: Number(new URL(url).port || (url.startsWith("redis") ? 6379 : 5432)),
  });
  const pgProxy = new PgProxy(target(DATABASE_URL));
  const redisProxy = new PgProxy(target(REDIS_URL));
  let ledger: SqlLedger;
  let redis: Redis;
  let stream: LocalLogStream;
  let pipeline: Pipeline;
  let key: string;

  before(async () => {
    const pgUrl = new URL(DATABASE_URL);
    pgUrl.host = `127.0.0.1:${await pgProxy.listen()}`;
    ledger = await openPostgresLedger({ connectionString: pgUrl.toString(), schema });
    await ledger.migrate();
    key = await createApiKey(ledger, "japancart");
    // As the runtime connects (src/runtime/open.ts).
    redis = new Redis(`redis://127.0.0.1:${await redisProxy.listen()}`, {
      maxRetriesPerRequest: 2,
      enableAutoPipelining: false,
    });
    redis.on("error", () => {});
    stream = new LocalLogStream({ partitions: 2, maxPendingRecords: 50 });
    const hub = new AlertHub();
    pipeline = await startPipeline(
      {
        ledger,
        history: new RedisHistoryStore(redis, prefix),
        claims: new RedisClaimStore(redis, prefix),
        stream,
        tokenKey: Buffer.alloc(32, 3),
        hub,
        alerts: hub,
        metrics: createMetrics(),
        log: createLogger("silent"),
        ruleset: defaultRuleset(),
        source: "local",
      },
      { rateLimitPerMinute: 100_000, bodyLimitBytes: 1024 * 1024, batchSize: 100, idleMs: 20 },
    );
  });
  after(async () => {
    await pipeline.stop();
    await stream.close();
    redis.disconnect();
    await ledger.close();
    await pgProxy.close();
    await redisProxy.close();
    await dropSchema(schema);
    const admin = await connectTestRedis();
    await deleteKeys(admin, prefix);
    await admin.quit();
  });

  const post = (body: unknown, apiKey = key) =>
    pipeline.app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers: bearer(apiKey),
      payload: JSON.stringify(body),
    });

  async function decidedRows(id: string): Promise<number> {
    for (let i = 0; i < 200; i++) {
      const found = await ledger.existingIds("japancart", [id]);
      if (found.has(id)) return found.size;
      await sleep(25);
    }
    return 0;
  }

  test("REL-3 Redis down: ingest answers 202 accepted with deduplication deferred, and the ledger keeps one", async () => {
    const warm = wireTransaction();
    assert.equal((await post(warm)).statusCode, 202);
    const tx = wireTransaction();
    redisProxy.cut();
    try {
      for (let i = 0; i < 2; i++) {
        const started = Date.now();
        const res = await post(tx);
        assert.equal(res.statusCode, 202, res.body);
        assert.deepEqual(res.json(), {
          transactionId: tx.transactionId,
          status: "accepted",
          deduplication: "deferred",
        });
        assert.ok(Date.now() - started < 3000, "answered without waiting for Redis");
      }
    } finally {
      redisProxy.restore();
    }
    assert.equal(await decidedRows(tx.transactionId as string), 1);
    const again = await post(tx);
    assert.equal((again.json() as { status: string }).status, "duplicate");
  });

  test("REL-3 PostgreSQL down: a key in use goes on being accepted on the stream; an unknown one is a 503", async () => {
    assert.equal((await post(wireTransaction())).statusCode, 202);
    const other = await createApiKey(ledger, "japancart");
    const tx = wireTransaction();
    pgProxy.cut();
    try {
      const res = await post(tx);
      assert.equal(res.statusCode, 202, res.body);
      assert.equal((res.json() as { deduplication?: string }).deduplication, "deferred");
      const unknown = await post(wireTransaction(), other);
      assert.equal(unknown.statusCode, 503, unknown.body);
      assert.ok(unknown.headers["retry-after"] !== undefined);
    } finally {
      pgProxy.restore();
    }
    assert.equal(await decidedRows(tx.transactionId as string), 1);
  });

  test("REL-3 the backlog is bounded: once the stream holds its limit unprocessed, ingest answers 503", async () => {
    for (let i = 0; i < 400 && stream.lag() > 0; i++) await sleep(25);
    redisProxy.cut(); // the processor stops: records pile up on the stream
    try {
      const batch = (n: number) => ({
        transactions: Array.from({ length: n }, () => wireTransaction()),
      });
      const first = await post(batch(50));
      assert.equal(first.statusCode, 202, first.body);
      assert.equal((first.json() as { accepted: number }).accepted, 50);
      const full = await post(wireTransaction());
      assert.equal(full.statusCode, 503, full.body);
      assert.equal((full.json() as { error: { code: string } }).error.code, "TXW_ERR_UNAVAILABLE");
      assert.equal(full.headers["retry-after"], "2");
    } finally {
      redisProxy.restore();
    }
    for (let i = 0; i < 400 && stream.lag() > 0; i++) await sleep(25);
    assert.equal(stream.lag(), 0, "the backlog drains once Redis is back");
    assert.equal((await post(wireTransaction())).statusCode, 202);
  });
});
