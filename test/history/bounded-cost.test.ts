import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { MemoryHistoryStore, RedisHistoryStore } from "../../src/history/index.ts";
import { entityKeys } from "../../src/history/keys.ts";
import type { HistoryItem } from "../../src/history/types.ts";
import { freePort } from "../support/loopback.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { historyItem as at, DAY, HOUR, SECOND, T0, window, withCard } from "./history-fixtures.ts";

/**
 * SCL-1 on a Redis of this test's own (INFO commandstats counts every command the scripts run,
 * so no other client may share it): the work per transaction does not grow with the entity's
 * volume.
 */
describe("SCL-1 bounded work per transaction", () => {
  let server: RedisServer;
  let redis: Redis;

  before(async () => {
    server = await startRedis(await freePort());
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  });

  after(async () => {
    redis?.disconnect();
    server?.child.kill("SIGKILL");
  });

  /** Commands Redis ran (scripts' own commands included), less the scripts' calls themselves. */
  async function commandsRun(): Promise<number> {
    const info = await redis.info("commandstats");
    let total = 0;
    for (const m of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
      if (!["evalsha", "eval", "info", "script|load", "script"].includes(m[1]!))
        total += Number(m[2]);
    }
    return total;
  }

  const queries = [
    window("card", 600),
    window("card", 3600),
    window("ip", 3600),
    window("ip", 86_400),
    window("customer", 86_400),
  ];
  const hot = (t: number, i: number): HistoryItem =>
    withCard(
      at(t, {
        amount: 500 + (i % 700),
        entities: { customer: `c${i}`, ip: "198.51.100.7" },
        queries,
      }),
      "hot-card",
    );

  test("SCL-1 Redis commands per transaction on a hot card and IP are the same at 200 and at 20,000 entries", async () => {
    const store = new RedisHistoryStore(redis, "bounded");
    try {
      // 20,000 transactions of one card and one IP over the last 23 h, 500 a batch.
      const start = T0 - 23 * HOUR;
      const spacing = Math.floor((23 * HOUR) / 20_000);
      const measure = async (from: number, count: number) => {
        const before = await commandsRun();
        const items = Array.from({ length: count }, (_, i) =>
          hot(start + (from + i) * spacing, from + i),
        );
        await store.recordBatch(items, start + (from + count) * spacing);
        return ((await commandsRun()) - before) / count;
      };
      await measure(0, 200);
      const small = await measure(200, 100);
      for (let from = 300; from < 19_900; from += 500) {
        await measure(from, Math.min(500, 19_900 - from));
      }
      const large = await measure(19_900, 100);
      assert.ok(small > 0);
      // The trim removes what aged out since the last write: none here (all within the day).
      assert.ok(
        large <= small * 1.05,
        `commands per transaction grew with the entity: ${small.toFixed(1)} at 300 entries, ${large.toFixed(1)} at 20,000`,
      );
      const card = entityKeys("bounded", "m1", "card", "hot-card");
      assert.equal(await redis.zcard(card.times), 20_000);
    } finally {
      await redis.flushall();
    }
  });

  test("SCL-1 PRC-2 a busy entity whose aggregates were evicted rebuilds them and answers as before", async () => {
    const store = new RedisHistoryStore(redis, "evicted");
    const memory = new MemoryHistoryStore();
    try {
      const items = Array.from({ length: 60 }, (_, i) => hot(T0 + i * SECOND, i));
      await store.recordBatch(items, T0 + 60 * SECOND);
      await memory.recordBatch(items, T0 + 60 * SECOND);
      const card = entityKeys("evicted", "m1", "card", "hot-card");
      await redis.del(card.aggregates, card.cards);
      const next = hot(T0 + 61 * SECOND, 61);
      const [got] = await store.recordBatch([next], T0 + 61 * SECOND);
      const [want] = await memory.recordBatch([next], T0 + 61 * SECOND);
      assert.deepEqual(got, want);
      assert.equal(Number(await redis.hget(card.aggregates, "n")), 61);
      // Entries a day old leave the aggregates with the set.
      const later = hot(T0 + DAY + 30 * SECOND, 62);
      const [aged] = await store.recordBatch([later], T0 + DAY + 30 * SECOND);
      const [agedWant] = await memory.recordBatch([later], T0 + DAY + 30 * SECOND);
      assert.deepEqual(aged, agedWant);
      assert.equal(aged!.prior.card!.count, 31, "the entries of the last 30 s of the day before");
    } finally {
      await memory.close();
      await redis.flushall();
    }
  });

  test("SCL-1 a day's burst of 9,000 on one card ages out in one call, and the card answers as memory does", async () => {
    const store = new RedisHistoryStore(redis, "burst");
    const memory = new MemoryHistoryStore();
    try {
      const burst = Array.from({ length: 9000 }, (_, i) => hot(T0 + i, i));
      for (let from = 0; from < burst.length; from += 1000) {
        const items = burst.slice(from, from + 1000);
        await store.recordBatch(items, T0 + 9000);
        await memory.recordBatch(items, T0 + 9000);
      }
      const next = hot(T0 + DAY + HOUR, 9001);
      const [got] = await store.recordBatch([next], T0 + DAY + HOUR);
      const [want] = await memory.recordBatch([next], T0 + DAY + HOUR);
      assert.deepEqual(got, want);
      assert.equal(got!.prior.card!.count, 0, "the burst is more than a day old");
      const card = entityKeys("burst", "m1", "card", "hot-card");
      assert.equal(await redis.zcard(card.times), 1);
      assert.equal(await redis.hlen(card.contents), 0, "a small set again: no contents hash");
    } finally {
      await memory.close();
      await redis.flushall();
    }
  });
});
