import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { HistoryStore } from "../../src/history/types.ts";
import { busyEntityCases } from "./busy-entity.cases.ts";
import { historyItem as at, DAY, HOUR, SECOND, T0, window, withCard } from "./history-fixtures.ts";
import { type WithStore, windowCases } from "./history-window.cases.ts";

export interface StoreUnderTest {
  store: HistoryStore;
  /** Removes what the test stored and closes the store (also after the test closed it). */
  dispose(): Promise<void>;
}

/**
 * The HistoryStore contract (PRC-2), run against every implementation: the Redis and the
 * in-memory stores must give the same answers to the same calls.
 */
export function historyStoreSuite(
  name: string,
  factory: () => Promise<StoreUnderTest>,
  /** Every entity keeps running aggregates (aggregateFrom 1): the bounded answers of SCL-1. */
  { busy = false } = {},
): void {
  const withStore: WithStore = (fn) => async () => {
    const { store, dispose } = await factory();
    try {
      await fn(store);
    } finally {
      await dispose();
    }
  };

  describe(`${name} history store contract`, () => {
    windowCases(withStore, { busy });
    if (busy) busyEntityCases(withStore);

    test(
      "PRC-2 an entry older than 24 h no longer counts in windows, prior or customer history",
      withStore(async (store) => {
        const old = at(T0, { entities: { customer: "c1" } });
        const edge = at(T0, { entities: { customer: "c2" } });
        await store.recordBatch([old, edge], T0);
        // Exactly 24 h old is still inside.
        const [kept] = await store.recordBatch(
          [at(T0 + DAY, { entities: { customer: "c2" }, queries: [window("customer", 86_400)] })],
          T0 + DAY,
        );
        assert.equal(kept!.prior.customer!.count, 1);
        assert.equal(kept!.windows[0]!.count, 2);
        const later = at(T0 + DAY + 1, {
          entities: { customer: "c1" },
          queries: [window("customer", 86_400)],
        });
        const [gone] = await store.recordBatch([later], T0 + DAY + 1);
        assert.equal(gone!.prior.customer!.count, 0);
        assert.equal(gone!.prior.customer!.last, null);
        assert.deepEqual(gone!.windows, [{ count: 1, sum: 1000, distinctCards: 0 }]);
        assert.deepEqual(
          (await store.customerHistory("m1", "c1", T0 + DAY + 1)).map((e) => e.transactionId),
          [later.transactionId],
        );
      }),
    );

    test(
      "PRC-2 prior excludes the transaction itself and its last is the latest earlier entry",
      withStore(async (store) => {
        const t = T0;
        await store.recordBatch(
          [
            at(t - 2 * HOUR, { amount: 500, country: "JP" }),
            at(t - HOUR, { amount: 700, currency: "USD", country: "US" }),
            at(t + 1000, { amount: 100, country: "FR" }), // a later event already recorded
          ],
          t + 1000,
        );
        const tx = at(t, { amount: 300, country: "JP" });
        const expected = {
          count: 2,
          sameCurrencyCount: 1,
          sameCurrencySum: 500,
          last: { eventTime: t - HOUR, country: "US" },
        };
        const [first] = await store.recordBatch([tx], t + 1000);
        assert.deepEqual(first!.prior, { customer: expected });
        const [again] = await store.recordBatch([tx], t + 1000);
        assert.deepEqual(
          again!.prior,
          { customer: expected },
          "the stored transaction never counts in its own prior",
        );
      }),
    );

    test(
      "PRC-2 entries of the same millisecond are ordered by member, so last agrees across stores",
      withStore(async (store) => {
        await store.recordBatch(
          [
            at(T0, { transactionId: "b", country: "BR" }),
            at(T0, { transactionId: "a", country: "AR" }),
          ],
          T0,
        );
        const [r] = await store.recordBatch([at(T0 + 1)], T0 + 1);
        assert.deepEqual(r!.prior.customer!.last, { eventTime: T0, country: "BR" });
        assert.deepEqual(
          (await store.customerHistory("m1", "c1", T0 + 1)).map((e) => e.transactionId).slice(0, 2),
          ["a", "b"],
        );
      }),
    );

    test(
      "PRC-2 recording the same batch twice returns identical results and changes no stored state",
      withStore(async (store) => {
        const q = [
          window("customer", 3600),
          window("card", 86_400),
          window("device", 600, { minAmount: 500 }),
        ];
        const batch = [0, 1, 2, 3, 4, 5].map((i) =>
          withCard(
            at(T0 + i * SECOND, {
              amount: 400 + i * 100,
              entities: { customer: `c${i % 2}`, device: "d1" },
              queries: q,
            }),
            `card-${i % 3}`,
          ),
        );
        const first = await store.recordBatch(batch, T0 + 10 * SECOND);
        const histories = async () => [
          await store.customerHistory("m1", "c0", T0 + 10 * SECOND),
          await store.customerHistory("m1", "c1", T0 + 10 * SECOND),
        ];
        const before = await histories();
        const second = await store.recordBatch(batch, T0 + 10 * SECOND);
        // A busy entity counts the cards whose latest entry is at or after a window's start: on a
        // redelivery that includes cards of the batch's later transactions (SCL-1's stated bound),
        // and nothing else differs.
        const sameBut = (again: typeof first) => {
          if (!busy) return assert.deepEqual(again, first);
          const noCards = (r: typeof first) =>
            r.map((x) => ({ ...x, windows: x.windows.map((w) => ({ ...w, distinctCards: 0 })) }));
          assert.deepEqual(noCards(again), noCards(first));
          for (const [i, r] of again.entries()) {
            for (const [q, w] of r.windows.entries()) {
              assert.ok(w.distinctCards >= first[i]!.windows[q]!.distinctCards);
            }
          }
        };
        sameBut(second);
        assert.deepEqual(await histories(), before);
        assert.equal(before[0]!.length + before[1]!.length, 6);
        const third = await store.recordBatch(batch, T0 + 10 * SECOND);
        sameBut(third);
        assert.deepEqual(third, second, "a second read after the redelivery sees the same numbers");
      }),
    );

    test(
      "PRC-1 PRC-2 SCL-2 a transaction id counts once per entity, even when it comes again with other content",
      withStore(async (store) => {
        const q = [window("customer", 3600), window("card", 3600)];
        const original = withCard(at(T0, { transactionId: "same", queries: q }), "card-a");
        const [first] = await store.recordBatch([original], T0);
        const changed = withCard(
          { ...original, amount: 5000, country: "US", eventTime: T0 + SECOND },
          "card-b",
        );
        const [again] = await store.recordBatch([changed], T0 + SECOND);
        assert.equal(again!.prior.customer!.count, 0, "the first content is not another entry");
        assert.equal(again!.windows[0]!.count, 1);
        assert.deepEqual(first!.windows[0], { count: 1, sum: 1000, distinctCards: 1 });
        assert.deepEqual(
          (await store.customerHistory("m1", "c1", T0 + SECOND)).map((e) => [
            e.transactionId,
            e.amount,
          ]),
          [["same", 1000]],
          "one entry, the first one recorded",
        );
        const [next] = await store.recordBatch(
          [withCard(at(T0 + 2 * SECOND, { queries: q }), "card-b")],
          T0 + 2 * SECOND,
        );
        assert.equal(next!.prior.customer!.count, 1);
        // Idempotency is per entity (each entity's keys are on their own, SCL-2): card-b never saw
        // "same" before its second delivery, so it holds that delivery's content.
        assert.deepEqual(next!.windows, [
          { count: 2, sum: 2000, distinctCards: 2 },
          { count: 2, sum: 6000, distinctCards: 1 },
        ]);
        const other = await store.recordBatch(
          [at(T0 + 3 * SECOND, { merchantId: "m2", transactionId: "same" })],
          T0 + 3 * SECOND,
        );
        assert.equal(other[0]!.prior.customer!.count, 0);
        assert.equal((await store.customerHistory("m2", "c1", T0 + 3 * SECOND)).length, 1);
      }),
    );

    test(
      "PRC-2 histories are per merchant, even when ids contain ':'",
      withStore(async (store) => {
        // Unencoded, both would be "<prefix>:h:a:customer:b:customer:c".
        const one = at(T0, { merchantId: "a", entities: { customer: "b:customer:c" } });
        const other = at(T0 + 1, {
          merchantId: "a:customer:b",
          entities: { customer: "c" },
          queries: [window("customer", 3600)],
        });
        const sameId = at(T0 + 2, { merchantId: "m2", entities: { customer: "b:customer:c" } });
        const [, r2, r3] = await store.recordBatch([one, other, sameId], T0 + 2);
        assert.equal(r2!.prior.customer!.count, 0);
        assert.equal(r2!.windows[0]!.count, 1);
        assert.equal(r3!.prior.customer!.count, 0);
        assert.deepEqual(
          (await store.customerHistory("a", "b:customer:c", T0 + 2)).map((e) => e.transactionId),
          [one.transactionId],
        );
      }),
    );

    test(
      "PRC-2 an entity the transaction lacks has no prior and zero windows",
      withStore(async (store) => {
        await store.recordBatch(
          [
            withCard(
              at(T0 - 1, { entities: { customer: "x", device: "d", ip: "198.51.100.1" } }),
              "k",
            ),
          ],
          T0,
        );
        const queries = [
          window("device", 3600),
          window("ip", 3600),
          window("card", 3600),
          window("customer", 3600),
        ];
        const [r] = await store.recordBatch([at(T0, { queries })], T0);
        assert.deepEqual(Object.keys(r!.prior), ["customer"]);
        const zero = { count: 0, sum: 0, distinctCards: 0 };
        assert.deepEqual(r!.windows, [zero, zero, zero, { count: 1, sum: 1000, distinctCards: 0 }]);
      }),
    );

    test(
      "PRC-2 order within a batch is kept: a later transaction sees the earlier ones",
      withStore(async (store) => {
        const q = [window("customer", 3600)];
        const batch = [
          at(T0, { queries: q }),
          at(T0 + 1, { queries: q, country: "US" }),
          at(T0 + 2, { queries: q }),
        ];
        const results = await store.recordBatch(batch, T0 + 2);
        assert.deepEqual(
          results.map((r) => r.windows[0]!.count),
          [1, 2, 3],
        );
        assert.deepEqual(
          results.map((r) => r.prior.customer!.count),
          [0, 1, 2],
        );
        assert.deepEqual(results[2]!.prior.customer!.last, { eventTime: T0 + 1, country: "US" });
      }),
    );

    test(
      "PRC-2 a transaction already older than 24 h is not stored yet counts in its own windows",
      withStore(async (store) => {
        const stale = at(T0 - DAY - 1, { queries: [window("customer", 60)] });
        const [r] = await store.recordBatch([stale], T0);
        assert.deepEqual(r!.windows, [{ count: 1, sum: 1000, distinctCards: 0 }]);
        assert.equal(r!.prior.customer!.count, 0);
        assert.deepEqual(await store.customerHistory("m1", "c1", T0), []);
      }),
    );

    test(
      "PRC-2 customerHistory lists the last 24 h oldest first",
      withStore(async (store) => {
        await store.recordBatch([at(T0 - DAY - 1)], T0 - DAY);
        const b = withCard(at(T0 - 5, { amount: 42, currency: "USD", country: "US" }), "tok|1:2");
        const a = at(T0 - 9, { country: undefined });
        await store.recordBatch([b, a, at(T0 + 1)], T0);
        assert.deepEqual(await store.customerHistory("m1", "c1", T0), [
          { transactionId: a.transactionId, eventTime: T0 - 9, amount: 1000, currency: "JPY" },
          {
            transactionId: b.transactionId,
            eventTime: T0 - 5,
            amount: 42,
            currency: "USD",
            country: "US",
            cardToken: "tok|1:2",
          },
        ]);
        assert.deepEqual(await store.customerHistory("m1", "nobody", T0), []);
      }),
    );

    test(
      "PRC-2 an invalid item fails its batch before anything is stored",
      withStore(async (store) => {
        await assert.rejects(
          store.recordBatch([at(T0), at(T0 + 1, { amount: 1.5 })], T0 + 1),
          /amount/,
        );
        await assert.rejects(
          store.recordBatch([at(T0, { queries: [window("customer", 0)] })], T0),
          /windowSeconds/,
        );
        assert.deepEqual(await store.customerHistory("m1", "c1", T0 + 1), []);
        assert.deepEqual(await store.recordBatch([], T0), []);
      }),
    );

    test(
      "REL-6 restore stores what recordBatch stores, once per transaction id, and answers nothing",
      withStore(async (store) => {
        const day = [0, 1, 2, 3].map((i) =>
          withCard(
            at(T0 + i * SECOND, { entities: { customer: "c1", device: "d1" } }),
            `k${i % 2}`,
          ),
        );
        const stale = at(T0 - DAY - 1, { entities: { customer: "c1" } });
        assert.equal(await store.restore([...day, stale], T0 + 10 * SECOND), undefined);
        // Replayed twice (a rebuild racing the processor, or run again): nothing counts twice.
        await store.restore(day.slice(1, 3), T0 + 10 * SECOND);
        const probeItem = withCard(
          at(T0 + 5 * SECOND, {
            entities: { customer: "c1", device: "d1" },
            queries: [window("customer", 60), window("device", 60)],
          }),
          "k9",
        );
        const [probe] = await store.recordBatch([probeItem], T0 + 10 * SECOND);
        assert.equal(probe!.prior.customer!.count, 4, "the day's four, not the stale one");
        assert.deepEqual(probe!.windows, [
          { count: 5, sum: 5000, distinctCards: 3 },
          { count: 5, sum: 5000, distinctCards: 3 },
        ]);
        assert.deepEqual(
          (await store.customerHistory("m1", "c1", T0 + 10 * SECOND)).map((e) => e.transactionId),
          [...day, probeItem].map((i) => i.transactionId),
        );
      }),
    );

    test(
      "OPS-1 ping resolves while open; after close the store refuses work",
      withStore(async (store) => {
        await store.ping();
        await store.close();
        await assert.rejects(store.ping());
        await store.close();
      }),
    );
  });
}
