import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Redis } from "ioredis";
import { OWNER_LIVENESS_MS, RedisClaimStore } from "../../src/claims/index.ts";
import { RedisHistoryStore } from "../../src/history/index.ts";
import { connectTestRedis, deleteKeys, uniqueName } from "../support/services.ts";
import { historyItem as at, DAY, SECOND, T0, window, withCard } from "./history-fixtures.ts";
import { historyStoreSuite } from "./history-store.suite.ts";
import { proxiedRedis, type RespProxy } from "./resp-proxy.ts";

/**
 * Deletes a test's keys and closes what it opened, closing even when Redis is gone, so a failed
 * test cannot keep the process (and the run) alive.
 */
async function cleanUp(prefix: string, ...closers: (() => Promise<unknown>)[]): Promise<void> {
  try {
    const admin = await connectTestRedis();
    try {
      await deleteKeys(admin, `${prefix}:`);
    } finally {
      await admin.quit();
    }
  } finally {
    // The test's own failure is the one worth reporting; a close error after it is noise.
    for (const close of closers) await close().catch(() => undefined);
  }
}

/** Real Redis (REDIS_URL or 127.0.0.1:6379); unreachable Redis fails these tests, never skips. */
async function freshStore(aggregateFrom?: number): Promise<{
  redis: Redis;
  store: RedisHistoryStore;
  prefix: string;
  dispose: () => Promise<void>;
}> {
  const prefix = uniqueName("txwtest");
  const redis = await connectTestRedis();
  const store = new RedisHistoryStore(redis, prefix, aggregateFrom);
  const dispose = () => cleanUp(prefix, () => store.close());
  return { redis, store, prefix, dispose };
}

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys.sort();
}

/** A store whose client talks to Redis through a proxy that counts commands and round trips. */
async function proxiedStore(): Promise<{
  proxy: RespProxy;
  store: RedisHistoryStore;
  dispose: () => Promise<void>;
}> {
  const { proxy, redis } = await proxiedRedis();
  const prefix = uniqueName("txwtest");
  const store = new RedisHistoryStore(redis, prefix);
  const dispose = () =>
    cleanUp(
      prefix,
      () => store.close(),
      () => proxy.close(),
    );
  return { proxy, store, dispose };
}

historyStoreSuite("redis", () => freshStore());
// The same contract with running aggregates kept for every key, however small.
historyStoreSuite("redis with aggregates", () => freshStore(1), { busy: true });

describe("redis history store", () => {
  test("PRC-2 keys are per merchant and entity, percent-encoded, and every key expires within 24 h", async () => {
    const { redis, store, prefix, dispose } = await freshStore(1);
    try {
      const item = withCard(
        at(T0, {
          merchantId: "m:1",
          entities: { customer: "c 1", device: "d{1}", ip: "2001:db8::1" },
        }),
        "tok",
      );
      await store.recordBatch([item], T0);
      // The claims share the history's client and prefix, so its keyspace.
      const claims = new RedisClaimStore(redis, prefix);
      await claims.claimIds("m:1", ["tx:9"], "accepting", 600);
      const keys = await keysUnder(redis, prefix);
      const entities = ["card:tok", "customer:c%201", "device:d%7B1%7D", "ip:2001%3Adb8%3A%3A1"];
      // SCL-2: every key of an entity carries the entity's hash tag ({...}), braces in ids encoded.
      const history = entities.flatMap((e) =>
        ["a", "c", "d", "t"].map((part) => `${prefix}:h:{m%3A1:${e}}:${part}`),
      );
      assert.deepEqual(
        keys,
        [
          ...history,
          // The claiming process's liveness mark (REL-4), a few seconds long.
          `${prefix}:owner:${claims.ownerId}`,
          `${prefix}:seen:m%3A1:tx%3A9`,
        ].sort(),
      );
      for (const key of keys) {
        const ttl = await redis.ttl(key);
        const limit = key.includes(":seen:")
          ? 600
          : key.includes(":owner:")
            ? OWNER_LIVENESS_MS / 1000
            : DAY / 1000;
        assert.ok(ttl > 0 && ttl <= limit, `${key} has TTL ${ttl}, want 1..${limit}`);
      }
      await claims.close();
    } finally {
      await dispose();
    }
  });

  test("PRC-2 SCL-2 a batch is one script call per entity of each transaction, all in one round trip", async () => {
    const { proxy, store, dispose } = await proxiedStore();
    try {
      const queries = [window("customer", 3600), window("device", 600)];
      const batch = (from: number) =>
        Array.from({ length: 25 }, (_, i) =>
          withCard(
            at(T0 + from + i, {
              entities: { customer: `c${i % 4}`, device: "d1", ip: "192.0.2.1" },
              queries,
            }),
            `k${i % 3}`,
          ),
        );
      // The first batch on a connection carries the script once (EVAL), the rest by hash.
      for (const [from, first] of [
        [0, true],
        [SECOND, false],
      ] as const) {
        proxy.reset();
        const results = await store.recordBatch(batch(from), T0 + 2 * SECOND);
        assert.equal(results.length, 25);
        // Customer, card, device and IP: one call each, every one on its entity's keys alone.
        assert.equal(proxy.commands.length, 4 * 25, `commands: ${proxy.commands.join(",")}`);
        assert.ok(proxy.commands.every((c) => c === "evalsha" || c === "eval"));
        assert.equal(proxy.commands.filter((c) => c === "eval").length, first ? 1 : 0);
        assert.equal(proxy.roundTrips, 1);
      }
      // A control: the proxy does see sequential calls as separate round trips.
      proxy.reset();
      await store.ping();
      await store.ping();
      assert.equal(proxy.roundTrips, 2);
    } finally {
      await dispose();
    }
  });

  test("PRC-2 recording a batch twice leaves every Redis key byte-identical", async () => {
    const { redis, store, prefix, dispose } = await freshStore(1);
    try {
      const batch = [0, 1, 2, 3].map((i) =>
        withCard(
          at(T0 + i, {
            entities: { customer: `c${i % 2}`, device: "d", ip: "192.0.2.9" },
            queries: [window("ip", 60)],
          }),
          `k${i}`,
        ),
      );
      const snapshot = async () => {
        const keys = await keysUnder(redis, prefix);
        // DUMP: the serialized value, so even the encoding and order inside a key must match.
        return Promise.all(keys.map(async (k) => [k, await redis.dumpBuffer(k)]));
      };
      const first = await store.recordBatch(batch, T0 + 10);
      const before = await snapshot();
      assert.equal(
        before.length,
        4 * (2 + 1 + 1 + 4),
        "four keys per busy entity (times, contents, aggregates, cards)",
      );
      const again = await store.recordBatch(batch, T0 + 10);
      // A busy entity may count a card used after the transaction (SCL-1); all else is the same.
      const counts = (r: typeof first) => r.map((x) => x.windows.map((w) => [w.count, w.sum]));
      assert.deepEqual(counts(again), counts(first));
      assert.deepEqual(await snapshot(), before);
    } finally {
      await dispose();
    }
  });

  test("PRC-2 entries past 24 h are trimmed from the key itself, not only hidden", async () => {
    const { redis, store, prefix, dispose } = await freshStore();
    try {
      await store.recordBatch([at(T0), at(T0 + 1)], T0 + 1);
      await store.recordBatch([at(T0 + DAY + 1)], T0 + DAY + 1);
      const key = (await keysUnder(redis, prefix)).find((k) => k.endsWith(":t"));
      assert.deepEqual(
        await redis.zrange(key!, 0, -1, "WITHSCORES").then((r) => r.filter((_, i) => i % 2 === 1)),
        [String(T0 + 1), String(T0 + DAY + 1)],
      );
    } finally {
      await dispose();
    }
  });
});
