import assert from "node:assert/strict";
import { test } from "node:test";
import type { HistoryItem, HistoryResult, WindowQuery } from "../../src/history/types.ts";
import { historyItem as at, DAY, HOUR, T0, window, withCard } from "./history-fixtures.ts";
import type { WithStore } from "./history-window.cases.ts";

const MINUTE = 60_000;

/** A deterministic pseudo-random sequence (mulberry32), so a failure replays exactly. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const QUERIES: WindowQuery[] = [
  window("card", 600),
  window("card", 3600),
  window("ip", 3600),
  window("ip", 86_400),
  window("customer", 86_400),
  window("ip", 90),
  window("customer", 86_400, { minAmount: 900, maxAmount: 1000 }),
];

/**
 * The exact answer, by brute force over every item recorded before (and the item itself), for
 * in-order traffic: what a scan of the whole day gives.
 */
function oracle(done: readonly HistoryItem[], item: HistoryItem) {
  const t = item.eventTime;
  const of = (kind: WindowQuery["entity"]) =>
    done.filter(
      (d) =>
        d.entities[kind] !== undefined &&
        d.entities[kind] === item.entities[kind] &&
        d.eventTime >= t - DAY &&
        d.eventTime <= t,
    );
  const windows = item.queries.map((q) => {
    const inWindow = of(q.entity).filter((d) => d.eventTime >= t - q.windowSeconds * 1000);
    if (q.minAmount !== undefined || q.maxAmount !== undefined) {
      const band = (d: HistoryItem) =>
        d.currency === item.currency && d.amount >= q.minAmount! && d.amount < q.maxAmount!;
      return { count: inWindow.filter(band).length + (band(item) ? 1 : 0), sum: 0, cards: 0 };
    }
    const all = [...inWindow, item];
    const sameCurrency = all.filter((d) => d.currency === item.currency);
    const cards = new Set(all.map((d) => d.cardToken).filter((c) => c !== undefined));
    // What the minute bucket at the window's start may add: entries of that minute before it.
    const from = t - q.windowSeconds * 1000;
    const edge = of(q.entity)
      .filter((d) => d.eventTime < from && d.eventTime >= Math.floor(from / MINUTE) * MINUTE)
      .filter((d) => d.currency === item.currency)
      .reduce((s, d) => s + d.amount, 0);
    return {
      count: all.length,
      sum: sameCurrency.reduce((s, d) => s + d.amount, 0),
      cards: cards.size,
      edge,
    };
  });
  const prior = (kind: WindowQuery["entity"]) => {
    const before = of(kind);
    const same = before.filter((d) => d.currency === item.currency);
    return {
      count: before.length,
      sameCurrencyCount: same.length,
      sameCurrencySum: same.reduce((s, d) => s + d.amount, 0),
      lastEventTime: before.length === 0 ? null : before[before.length - 1]!.eventTime,
    };
  };
  return { windows, prior };
}

function check(item: HistoryItem, got: HistoryResult, want: ReturnType<typeof oracle>, n: number) {
  const where = `transaction ${n} (${item.transactionId})`;
  item.queries.forEach((q, i) => {
    const w = got.windows[i]!;
    const o = want.windows[i]!;
    const name = `${where} ${q.entity} ${q.windowSeconds}s${q.minAmount !== undefined ? " band" : ""}`;
    assert.equal(w.count, o.count, `${name}: count is exact`);
    if (q.minAmount !== undefined) return;
    assert.equal(w.distinctCards, o.cards, `${name}: distinct cards are exact in order`);
    if (q.windowSeconds * 1000 >= DAY)
      assert.equal(w.sum, o.sum, `${name}: the day's sum is exact`);
    else {
      assert.ok(w.sum >= o.sum, `${name}: a sum never counts fewer (${w.sum} < ${o.sum})`);
      assert.ok(
        w.sum <= o.sum + (o.edge ?? 0),
        `${name}: a sum adds at most the minute before the window (${w.sum} > ${o.sum} + ${o.edge})`,
      );
    }
  });
  for (const kind of ["customer", "card", "ip"] as const) {
    const p = got.prior[kind]!;
    const o = want.prior(kind);
    assert.equal(p.count, o.count, `${where} prior ${kind} count`);
    assert.equal(p.sameCurrencyCount, o.sameCurrencyCount, `${where} prior ${kind} currency count`);
    assert.equal(p.sameCurrencySum, o.sameCurrencySum, `${where} prior ${kind} currency sum`);
    assert.equal(p.last?.eventTime ?? null, o.lastEventTime, `${where} prior ${kind} last`);
  }
}

/**
 * SCL-1: a busy entity (every entity, in these runs) answers from running aggregates and
 * buckets; these cases hold it to the bounds the README states, against an exact oracle.
 */
export function busyEntityCases(withStore: WithStore): void {
  test(
    "SCL-1 a busy entity's answers match an exact scan: counts, prior and the day exact, short-window sums within one minute",
    withStore(async (store) => {
      const next = random(7);
      const done: HistoryItem[] = [];
      let t = T0 + 17;
      // 26 hours of traffic on a few hot entities: trimming runs, buckets age out.
      for (let n = 0; n < 400; n++) {
        t += Math.floor(next() * 8 * MINUTE);
        const amount =
          next() < 0.2 ? 900 + Math.floor(next() * 150) : 1 + Math.floor(next() * 5000);
        const item = withCard(
          at(t, {
            amount,
            currency: next() < 0.8 ? "JPY" : "USD",
            entities: { customer: `c${Math.floor(next() * 2)}`, ip: "10.0.0.1" },
            queries: QUERIES,
          }),
          `card-${Math.floor(next() * 5)}`,
        );
        const [got] = await store.recordBatch([item], t);
        check(item, got!, oracle(done, item), n);
        done.push(item);
      }
    }),
  );

  test(
    "SCL-1 a busy entity's day stays exact with event times out of order, up to the stated limit",
    withStore(async (store) => {
      const base = T0 + 5 * HOUR;
      const later = Array.from({ length: 20 }, (_, i) =>
        at(base + i * MINUTE, { amount: 100 + i, entities: { customer: "late" } }),
      );
      await store.recordBatch(later, base + 30 * MINUTE);
      // A transaction 30 minutes before all of them arrives last.
      const early = at(base - 30 * MINUTE, {
        amount: 7,
        entities: { customer: "late" },
        queries: [window("customer", 86_400), window("customer", 3600)],
      });
      const [r] = await store.recordBatch([early], base + 30 * MINUTE);
      assert.equal(r!.prior.customer!.count, 0, "nothing before it");
      assert.equal(r!.prior.customer!.sameCurrencySum, 0);
      assert.equal(r!.prior.customer!.last, null);
      assert.deepEqual(r!.windows[0], { count: 1, sum: 7, distinctCards: 0 });
      assert.deepEqual(r!.windows[1], { count: 1, sum: 7, distinctCards: 0 });
    }),
  );

  test(
    "SCL-1 a transaction redelivered after its own entry aged out counts itself once, never less",
    withStore(async (store) => {
      const item = at(T0, {
        entities: { customer: "aged" },
        queries: [
          window("customer", 86_400),
          window("customer", 86_400, { minAmount: 1, maxAmount: 5000 }),
        ],
      });
      const others = Array.from({ length: 5 }, (_, i) =>
        at(T0 + (i + 1) * MINUTE, { entities: { customer: "aged" } }),
      );
      await store.recordBatch([item, ...others], T0 + 10 * MINUTE);
      const [again] = await store.recordBatch([item], T0 + DAY + 1);
      assert.equal(again!.prior.customer!.count, 0, "its day before T0 is empty");
      assert.equal(again!.prior.customer!.sameCurrencyCount, 0);
      assert.deepEqual(again!.windows, [
        { count: 1, sum: 1000, distinctCards: 0 },
        { count: 1, sum: 0, distinctCards: 0 },
      ]);
    }),
  );
}
