import assert from "node:assert/strict";
import { test } from "node:test";
import type { HistoryStore } from "../../src/history/types.ts";
import { historyItem as at, DAY, HOUR, SECOND, T0, window, withCard } from "./history-fixtures.ts";

/** Runs a test body against a fresh store and disposes of it afterwards. */
export type WithStore = (fn: (store: HistoryStore) => Promise<void>) => () => Promise<void>;

/** The window and number cases of the contract suite (history-store.suite.ts registers them). */
export function windowCases(withStore: WithStore, { busy = false } = {}): void {
  // A busy entity's sums come from whole-minute buckets (busy-entity.cases.ts proves the bound).
  if (!busy)
    test(
      "PRC-2 window count, same-currency sum and distinctCards with entries just inside and just outside the window",
      withStore(async (store) => {
        const t = T0 + DAY;
        await store.recordBatch(
          [
            withCard(at(t - HOUR - 1, { amount: 100 }), "A"), // 1 ms outside a 1 h window
            withCard(at(t - HOUR, { amount: 200 }), "B"), // on the lower boundary: inside
            withCard(at(t - 10, { amount: 5000, currency: "USD" }), "C"),
            at(t - 5, { amount: 300 }), // no card
          ],
          t,
        );
        const tx = withCard(
          at(t, {
            amount: 400,
            queries: [window("customer", 3600), window("customer", 3599), window("card", 3600)],
          }),
          "A",
        );
        const [r] = await store.recordBatch([tx], t);
        assert.deepEqual(r!.windows, [
          { count: 4, sum: 900, distinctCards: 3 }, // B, C, no card, tx(A): A's own old entry is outside
          { count: 3, sum: 700, distinctCards: 2 }, // B falls out 1 s earlier
          { count: 1, sum: 400, distinctCards: 1 }, // card A: its older entry is 1 ms outside
        ]);
      }),
    );

  test(
    "PRC-2 a band counts only same-currency entries with minAmount <= amount < maxAmount",
    withStore(async (store) => {
      const t = T0;
      await store.recordBatch(
        [
          withCard(at(t - 2 * HOUR - 1, { amount: 5000 }), "old"), // outside the 2 h window
          withCard(at(t - 50, { amount: 999 }), "k1"),
          withCard(at(t - 40, { amount: 1000 }), "k2"),
          withCard(at(t - 30, { amount: 9999 }), "k3"),
          withCard(at(t - 20, { amount: 10_000 }), "k4"),
          withCard(at(t - 10, { amount: 5000, currency: "USD" }), "k5"),
        ],
        t,
      );
      const queries = [
        window("customer", 7200, { minAmount: 1000, maxAmount: 10_000 }),
        window("customer", 7200, { minAmount: 9999 }),
        window("customer", 7200, { maxAmount: 1000 }),
      ];
      const [r] = await store.recordBatch([withCard(at(t, { amount: 9000, queries }), "k9")], t);
      assert.deepEqual(r!.windows, [
        // A band answers its count only (structuring counts): sum and distinctCards are 0.
        { count: 3, sum: 0, distinctCards: 0 },
        { count: 2, sum: 0, distinctCards: 0 }, // the transaction itself is below the band
        { count: 1, sum: 0, distinctCards: 0 },
      ]);
    }),
  );

  test(
    "PRC-2 distinctCards per device and IP counts each token once, the transaction's own included",
    withStore(async (store) => {
      const t = T0;
      const shared = { device: "dev-1", ip: "203.0.113.7" };
      const seed = [
        withCard(at(t - 3 * SECOND, { entities: { customer: "a", ...shared } }), "X"),
        withCard(at(t - 2 * SECOND, { entities: { customer: "b", ...shared } }), "X"),
        withCard(at(t - 1 * SECOND, { entities: { customer: "c", ...shared } }), "Y"),
        withCard(at(t - 600 * SECOND - 1, { entities: { customer: "d", ...shared } }), "Z"),
      ];
      await store.recordBatch(seed, t);
      const queries = [window("device", 600), window("ip", 600), window("ip", 86_400)];
      const [withOwn] = await store.recordBatch(
        [withCard(at(t, { entities: { customer: "e", ...shared }, queries }), "W")],
        t,
      );
      assert.deepEqual(
        withOwn!.windows.map((w) => w.distinctCards),
        [3, 3, 4],
      );
      const [noCard] = await store.recordBatch(
        [at(t + 1, { entities: { customer: "f", ...shared }, queries })],
        t + 1,
      );
      assert.deepEqual(
        noCard!.windows.map((w) => w.distinctCards),
        [3, 3, 4],
      );
    }),
  );

  test(
    "PRC-2 amounts up to 10^12 and event times near 1.8e12 stay exact; sums clamp at 2^53 - 1",
    withStore(async (store) => {
      const t = T0 + 123;
      await store.recordBatch(
        [
          at(t - 7, { amount: 999_999_999_999 }),
          at(t - 3, { amount: 1_000_000_000_000, country: "SG" }),
        ],
        t,
      );
      const [r] = await store.recordBatch(
        [at(t, { amount: 999_999_999_997, queries: [window("customer", 60)] })],
        t,
      );
      assert.deepEqual(r!.prior.customer, {
        count: 2,
        sameCurrencyCount: 2,
        sameCurrencySum: 1_999_999_999_999,
        last: { eventTime: t - 3, country: "SG" },
      });
      assert.equal(r!.windows[0]!.sum, 2_999_999_999_996);
      const huge = 4_000_000_000_000_003;
      const items = [1, 2, 3].map((i) =>
        at(t + i, {
          amount: huge,
          entities: { customer: "big" },
          queries: [window("customer", 60)],
        }),
      );
      const big = await store.recordBatch(items, t + 3);
      assert.deepEqual(
        big.map((x) => x.windows[0]!.sum),
        [huge, 2 * huge, Number.MAX_SAFE_INTEGER],
      );
      assert.equal(big[2]!.prior.customer!.sameCurrencySum, 2 * huge);
    }),
  );

  test(
    "SCL-1 a measure not asked for answers 0, the count always comes",
    withStore(async (store) => {
      const t = T0 + DAY;
      await store.recordBatch(
        [withCard(at(t - 50, { amount: 100, entities: { customer: "m", ip: "i" } }), "A")],
        t,
      );
      const queries = [
        window("ip", 3600, { measures: [] }),
        window("ip", 3600, { measures: ["sum"] }),
        window("ip", 3600, { measures: ["distinctCards"] }),
        window("ip", 3600),
      ];
      const [r] = await store.recordBatch(
        [withCard(at(t, { amount: 400, entities: { customer: "m", ip: "i" }, queries }), "B")],
        t,
      );
      assert.deepEqual(r!.windows, [
        { count: 2, sum: 0, distinctCards: 0 },
        { count: 2, sum: 500, distinctCards: 0 },
        { count: 2, sum: 0, distinctCards: 2 },
        { count: 2, sum: 500, distinctCards: 2 },
      ]);
    }),
  );
}
