import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryClaimStore } from "../../src/claims/index.ts";
import { MemoryHistoryStore } from "../../src/history/index.ts";
import type { HistoryRebuild } from "../../src/history/rebuild.ts";
import type { HistoryItem } from "../../src/history/types.ts";
import { historyItem as at, DAY, SECOND, T0, window, withCard } from "./history-fixtures.ts";

/** A rebuild that replays `ledger` once `open()` is called, recording its events. */
function gatedRebuild(ledger: HistoryItem[], fail = 0) {
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const seen = { replays: 0, rebuilt: [] as number[], failed: 0 };
  const rebuild: HistoryRebuild = {
    async replay(into, now) {
      seen.replays++;
      await gate;
      if (seen.replays <= fail) throw new Error("the ledger cannot be read");
      await into.restore(ledger, now);
      return ledger.length;
    },
    events: { rebuilt: (n) => seen.rebuilt.push(n), failed: () => seen.failed++ },
  };
  return { rebuild, seen, open: () => open() };
}

import { historyStoreSuite } from "./history-store.suite.ts";

historyStoreSuite("memory", async () => {
  const store = new MemoryHistoryStore();
  return { store, dispose: () => store.close() };
});
// The script's steps in memory, aggregates kept for every entity: held to the same bounds.
historyStoreSuite(
  "memory with aggregates",
  async () => {
    const store = new MemoryHistoryStore({ aggregateFrom: 1 });
    return { store, dispose: () => store.close() };
  },
  { busy: true },
);

describe("memory history store", () => {
  test("PRC-2 memory stays bounded: empty keys are dropped on write and by the sweep", async () => {
    const store = new MemoryHistoryStore();
    const items = Array.from({ length: 50 }, (_, i) =>
      at(T0, { entities: { customer: `c${i}`, ip: `10.0.0.${i}` } }),
    );
    await store.recordBatch(items, T0);
    assert.equal(store.size, 100);
    // A stale transaction leaves no empty key behind.
    await store.recordBatch([at(T0 - 2 * DAY, { entities: { customer: "stale" } })], T0);
    assert.equal(store.size, 100);
    assert.equal(store.sweep(T0 + DAY - 1), 0);
    assert.equal(store.sweep(T0 + DAY + 1), 100);
    assert.equal(store.size, 0);
  });

  test("PRC-2 recordBatch sweeps untouched keys once a minute of the time it is given", async () => {
    const store = new MemoryHistoryStore();
    await store.recordBatch([at(T0, { entities: { customer: "idle" } })], T0);
    await store.recordBatch(
      [at(T0 + DAY + 30 * SECOND, { entities: { customer: "busy" } })],
      T0 + DAY + 30 * SECOND,
    );
    assert.equal(store.size, 1, "idle has aged out and the sweep (due: a day passed) dropped it");
    const [r] = await store.recordBatch(
      [at(T0 + DAY + 31 * SECOND, { queries: [window("customer", 60)] })],
      T0 + DAY + 31 * SECOND,
    );
    assert.equal(r!.windows[0]!.count, 1);
  });

  test("REL-6 with a rebuild, decisions wait for the whole day while ingest claims do not", async () => {
    const ledger = Array.from({ length: 7 }, (_, i) => withCard(at(T0 + i * SECOND), "card-1"));
    const { rebuild, seen, open } = gatedRebuild(ledger);
    const store = new MemoryHistoryStore({ rebuild });
    const complete = store.whenComplete(T0 + 10 * SECOND);
    const order: string[] = [];
    const decided = store
      .recordBatch(
        [withCard(at(T0 + 8 * SECOND, { queries: [window("card", 60)] }), "card-1")],
        T0 + 10 * SECOND,
      )
      .then((r) => {
        order.push("decided");
        return r;
      });
    const listed = store.customerHistory("m1", "c1", T0 + 10 * SECOND).then((h) => {
      order.push("listed");
      return h;
    });
    // The API's claims, kept beside the history as the embedded runtime keeps them, answer at once.
    const claims = new MemoryClaimStore();
    assert.deepEqual(await claims.claimIds("m1", ["x"], "accepting", 60), new Map([["x", null]]));
    order.push("claimed");
    open();
    order.push("rebuild released");
    await complete;
    const [result] = await decided;
    assert.equal(result!.windows[0]!.count, 8, "the 7 replayed and this one");
    const ids = (await listed).map((e) => e.transactionId);
    for (const item of ledger) assert.ok(ids.includes(item.transactionId), "the API waits too");
    assert.deepEqual(order.slice(0, 2), ["claimed", "rebuild released"]);
    assert.deepEqual(seen, { replays: 1, rebuilt: [7], failed: 0 });
    await store.close();
  });

  test("REL-6 a rebuild that failed is reported, fails the batch and runs again on the next", async () => {
    const ledger = [withCard(at(T0), "card-2")];
    const { rebuild, seen, open } = gatedRebuild(ledger, 1);
    open();
    const store = new MemoryHistoryStore({ rebuild });
    await assert.rejects(store.recordBatch([at(T0 + 1)], T0 + 1), /the ledger cannot be read/);
    assert.equal(seen.failed, 1);
    const [r] = await store.recordBatch(
      [at(T0 + 2, { queries: [window("customer", 60)] })],
      T0 + 2,
    );
    assert.equal(
      r!.windows[0]!.count,
      2,
      "the replayed entry and this one: the failed batch recorded nothing",
    );
    assert.deepEqual(seen.rebuilt, [1]);
    await store.close();
  });

  test("REL-6 closing during a rebuild stops it without reporting a failure", async () => {
    const { rebuild, seen, open } = gatedRebuild([at(T0)]);
    const store = new MemoryHistoryStore({ rebuild });
    const complete = store.whenComplete(T0);
    const closed = store.close();
    open();
    await closed;
    await assert.rejects(complete, /closed/);
    assert.equal(seen.failed, 0);
  });
});
