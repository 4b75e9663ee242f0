import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Redis } from "ioredis";
import { MemoryHistoryStore, RedisHistoryStore } from "../../src/history/index.ts";
import { MAX_SUM } from "../../src/history/keys.ts";
import { AGGREGATE_FROM } from "../../src/history/record-history.ts";
import type { HistoryItem, HistoryStore, WindowQuery } from "../../src/history/types.ts";
import { connectTestRedis, deleteKeys, uniqueName } from "../support/services.ts";
import { historyItem as at, DAY, HOUR, SECOND, T0, window, withCard } from "./history-fixtures.ts";

/*
 * The Redis script keeps running aggregates beside each entity's time set instead of scanning
 * the day. The in-memory store still computes every prior from the entries themselves, so it is
 * the reference: both stores get the same calls and must give the same answers.
 */

interface Pair {
  redis: Redis;
  prefix: string;
  stores: [MemoryHistoryStore, RedisHistoryStore];
  dispose(): Promise<void>;
}

/** aggregateFrom 1: every key keeps aggregates, so these tests reach them with few entries. */
async function pair(aggregateFrom = 1): Promise<Pair> {
  const prefix = uniqueName("txwagg");
  const redis = await connectTestRedis();
  const memory = new MemoryHistoryStore();
  const store = new RedisHistoryStore(redis, prefix, aggregateFrom);
  return {
    redis,
    prefix,
    stores: [memory, store],
    dispose: async () => {
      try {
        await deleteKeys(redis, `${prefix}:`);
      } finally {
        await memory.close();
        await store.close();
      }
    },
  };
}

/** Records the batch in both stores; fails unless they answer alike; returns the answers. */
async function both(p: Pair, items: HistoryItem[], now: number) {
  const [expected, actual] = await Promise.all(p.stores.map((s) => s.recordBatch(items, now)));
  assert.deepEqual(actual, expected);
  return actual!;
}

async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys.sort();
}

/**
 * Every time set's amount set and aggregate hash, recomputed from the set's members, must equal
 * what the script kept: the aggregates never drift from the entries (nor rely on a rebuild).
 */
async function assertAggregatesMatch(redis: Redis, prefix: string): Promise<Set<string>> {
  const kept = new Set<string>();
  for (const key of await scanKeys(redis, `${prefix}:h:*`)) {
    const members = await redis.zrange(key, 0, -1);
    const lex: string[] = [];
    const hash = new Map<string, bigint>();
    const bump = (field: string, by: bigint) => hash.set(field, (hash.get(field) ?? 0n) + by);
    for (const m of members) {
      const [, amount, currency, cardToken] = m.split("|") as [string, string, string, string];
      lex.push(`${currency}|${amount.padStart(16, "0")}|${m}`);
      bump("n", 1n);
      bump(`h:${currency}`, BigInt(amount) / 100_000_000n);
      bump(`l:${currency}`, BigInt(amount) % 100_000_000n);
      if (cardToken !== "") bump(`c:${cardToken}`, 1n);
    }
    const cards = [...hash.keys()].filter((f) => f.startsWith("c:")).length;
    if (cards > 0) hash.set("d", BigInt(cards));
    const expected = Object.fromEntries(
      [...hash].filter(([, v]) => v !== 0n).map(([f, v]) => [f, String(v)]),
    );
    const rest = key.slice(`${prefix}:h:`.length);
    if ((await redis.exists(`${prefix}:hs:${rest}`)) === 0) {
      // A small set kept no aggregates: nothing may be left of them either.
      assert.equal(await redis.exists(`${prefix}:ha:${rest}`), 0, key);
      continue;
    }
    kept.add(key);
    assert.deepEqual(await redis.zrange(`${prefix}:ha:${rest}`, 0, -1), lex.sort(), key);
    assert.deepEqual(await redis.hgetall(`${prefix}:hs:${rest}`), expected, key);
  }
  return kept;
}

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

describe("history running aggregates (Redis) against the entries (memory)", () => {
  test("PRC-2 an entry older than 24 h no longer counts in count, sum or maximum once trimmed", async () => {
    const p = await pair();
    try {
      await both(p, [at(T0, { amount: 9000 }), at(T0 + HOUR, { amount: 500 })], T0 + HOUR);
      const before = await both(p, [at(T0 + 2 * HOUR, { amount: 100 })], T0 + 2 * HOUR);
      assert.deepEqual(
        { ...before[0]!.prior.customer, last: null },
        {
          count: 2,
          sameCurrencyCount: 2,
          sameCurrencySum: 9500,
          sameCurrencyMax: 9000,
          last: null,
        },
      );
      // The 9000 entry is now past 24 h: the trim removes it, and every aggregate with it.
      const after = await both(
        p,
        [at(T0 + DAY + 1, { amount: 1, queries: [window("customer", 86400)] })],
        T0 + DAY + 1,
      );
      assert.deepEqual(after[0]!.prior.customer, {
        count: 2,
        sameCurrencyCount: 2,
        sameCurrencySum: 600,
        sameCurrencyMax: 500,
        last: { eventTime: T0 + 2 * HOUR, country: "JP" },
      });
      assert.deepEqual(after[0]!.windows, [{ count: 3, sum: 601, distinctCards: 0 }]);
      await assertAggregatesMatch(p.redis, p.prefix);
    } finally {
      await p.dispose();
    }
  });

  test("PRC-2 when the day's maximum expires the maximum falls back to the next largest entry", async () => {
    const p = await pair();
    try {
      const amounts = [700, 9000, 300, 9000, 650];
      await both(
        p,
        amounts.map((amount, i) => at(T0 + i * HOUR, { amount })),
        T0 + 5 * HOUR,
      );
      const maxAt = async (now: number) => {
        const [r] = await both(p, [at(now, { amount: 1 })], now);
        return r!.prior.customer!.sameCurrencyMax;
      };
      assert.equal(await maxAt(T0 + DAY), 9000);
      assert.equal(await maxAt(T0 + DAY + HOUR), 9000, "the second 9000 is still in the day");
      assert.equal(await maxAt(T0 + DAY + 3 * HOUR), 9000, "the window includes its start");
      assert.equal(await maxAt(T0 + DAY + 3 * HOUR + 1), 650, "both 9000s are gone");
      assert.equal(await maxAt(T0 + DAY + 5 * HOUR), 1, "only the probes remain");
      await assertAggregatesMatch(p.redis, p.prefix);
    } finally {
      await p.dispose();
    }
  });

  test("PRC-2 mixed currencies: count covers all, sum and maximum only the transaction's own", async () => {
    const p = await pair();
    try {
      const items = [
        at(T0, { amount: 5000, currency: "JPY" }),
        at(T0 + 1, { amount: 120_000, currency: "BRL" }),
        at(T0 + 2, { amount: 7000, currency: "JPY" }),
        at(T0 + 3, { amount: 99, currency: "USD" }),
        at(T0 + 4, { amount: 150_000, currency: "BRL" }),
      ];
      await both(p, items, T0 + 4);
      const queries = [window("customer", 86400), window("customer", 86400, { minAmount: 6000 })];
      const [jpy, brl, eur] = await both(
        p,
        [
          at(T0 + 10, { amount: 1, currency: "JPY", queries }),
          at(T0 + 11, { amount: 2, currency: "BRL", queries }),
          at(T0 + 12, { amount: 3, currency: "EUR", queries }),
        ],
        T0 + 12,
      );
      assert.deepEqual(
        [jpy, brl, eur].map((r) => {
          const { count, sameCurrencyCount, sameCurrencySum, sameCurrencyMax } = r!.prior.customer!;
          return [count, sameCurrencyCount, sameCurrencySum, sameCurrencyMax];
        }),
        [
          [5, 2, 12_000, 7000],
          [6, 2, 270_000, 150_000],
          [7, 0, 0, 0],
        ],
      );
      assert.deepEqual(jpy!.windows, [
        { count: 6, sum: 12_001, distinctCards: 0 },
        { count: 1, sum: 7000, distinctCards: 0 },
      ]);
      await assertAggregatesMatch(p.redis, p.prefix);
    } finally {
      await p.dispose();
    }
  });

  test("PRC-2 sums far past 2^53 stay exact below it and clamp above it", async () => {
    const p = await pair();
    try {
      const big = 4_000_000_000_000_001;
      await both(p, [at(T0, { amount: big }), at(T0 + 1, { amount: big })], T0 + 1);
      const [r] = await both(
        p,
        [at(T0 + 2, { amount: big, queries: [window("customer", 86400)] })],
        T0 + 2,
      );
      assert.equal(r!.prior.customer!.sameCurrencySum, 2 * big);
      assert.equal(r!.windows[0]!.sum, MAX_SUM);
      await assertAggregatesMatch(p.redis, p.prefix);
    } finally {
      await p.dispose();
    }
  });

  test("PRC-2 aggregates missing or out of step with their set are rebuilt from it", async () => {
    const p = await pair();
    try {
      const items = [0, 1, 2].map((i) => withCard(at(T0 + i, { amount: 100 * (i + 1) }), `k${i}`));
      await both(p, items, T0 + 2);
      const keys = await scanKeys(p.redis, `${p.prefix}:h*:*`);
      // As if written by the previous script (no aggregates), and one hash evicted on its own.
      await p.redis.del(...keys.filter((k) => k.includes(":ha:")));
      await p.redis.del(keys.find((k) => k.includes(":hs:") && k.includes(":customer:"))!);
      const queries = [window("customer", 86400), window("card", 86400)];
      await both(
        p,
        [0, 1, 2].map((i) => withCard(at(T0 + 3 + i, { amount: 1, queries }), `k${i}`)),
        T0 + 5,
      );
      await assertAggregatesMatch(p.redis, p.prefix);
    } finally {
      await p.dispose();
    }
  });

  for (const aggregateFrom of [1, 4, AGGREGATE_FROM]) {
    test(`PRC-2 random traffic: the running aggregates give exactly the priors and windows of a day scan (aggregates from ${aggregateFrom} entries)`, async () => {
      await randomTraffic(aggregateFrom);
    });
  }
});

/**
 * Mixed currencies, amounts up to 2^53 - 1, late, very late (scanned), early and stale event
 * times, redeliveries (some with other content), now advancing past 24 h, banded, day and short
 * windows; with a low aggregateFrom keys also cross it both ways.
 */
async function randomTraffic(aggregateFrom: number): Promise<void> {
  const p = await pair(aggregateFrom);
  const everKept = new Set<string>();
  try {
    const rand = random(20261121);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const queries: WindowQuery[] = [
      window("customer", 86400),
      window("customer", 86400, { minAmount: 900, maxAmount: 1000 }),
      window("customer", 86400, { minAmount: 450.5 }),
      window("customer", 86400, { maxAmount: 300.5 }),
      window("customer", 86400, { minAmount: -5, maxAmount: 0 }),
      window("card", 600),
      window("device", 86400),
      window("device", 3600),
      window("ip", 86400, { minAmount: 0, maxAmount: 1e20 }),
      window("ip", 7200),
    ];
    const sent: HistoryItem[] = [];
    let now = T0;
    for (let batch = 0; batch < 60; batch++) {
      now += Math.floor(rand() * 3 * HOUR);
      const items: HistoryItem[] = [];
      for (let i = 0; i < 25; i++) {
        if (sent.length > 0 && rand() < 0.1) {
          // Redelivery, sometimes with other content under the same id.
          const again = pick(sent);
          items.push(rand() < 0.5 ? again : { ...again, amount: again.amount + 1 });
          continue;
        }
        const r = rand();
        // Mostly near now; some late, some very late (scanned), some ahead, some too old.
        const offset =
          r < 0.6
            ? -Math.floor(rand() * 10 * SECOND)
            : r < 0.75
              ? -Math.floor(rand() * 3 * HOUR)
              : r < 0.85
                ? -Math.floor(rand() * 23 * HOUR)
                : r < 0.95
                  ? Math.floor(rand() * 2 * HOUR)
                  : -DAY - Math.floor(rand() * HOUR);
        const amount =
          rand() < 0.05
            ? Math.floor(rand() * MAX_SUM)
            : pick([0, 1, 299, 300, 450, 451, 900, 950, 999, 1000, 12_345, 123_456_789]);
        const base = at(now + offset, {
          amount,
          currency: pick(["JPY", "JPY", "BRL", "USD"]),
          entities: {
            customer: `c${Math.floor(rand() * 4)}`,
            ...(rand() < 0.8 && { device: `d${Math.floor(rand() * 3)}` }),
            ...(rand() < 0.7 && { ip: `10.0.0.${Math.floor(rand() * 2)}` }),
          },
          ...(rand() < 0.3 && { country: pick(["JP", "BR", "US"]) }),
          queries: queries.filter(() => rand() < 0.5),
        });
        const item = rand() < 0.8 ? withCard(base, `k${Math.floor(rand() * 6)}`) : base;
        sent.push(item);
        items.push(item);
      }
      await both(p, items, now);
      if (batch % 10 === 9) {
        for (const key of await assertAggregatesMatch(p.redis, p.prefix)) everKept.add(key);
      }
    }
    const stores: HistoryStore[] = p.stores;
    for (const customer of ["c0", "c1", "c2", "c3"]) {
      const [expected, actual] = await Promise.all(
        stores.map((s) => s.customerHistory("m1", customer, now)),
      );
      assert.deepEqual(actual, expected);
    }
    assert.ok(everKept.size > 0, "some keys kept aggregates");
  } finally {
    await p.dispose();
  }
}
