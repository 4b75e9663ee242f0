import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryHistoryStore } from "../../src/history/index.ts";
import { historyItem as at, DAY, SECOND, T0, window } from "./history-fixtures.ts";
import { historyStoreSuite } from "./history-store.suite.ts";

historyStoreSuite("memory", async () => {
  const store = new MemoryHistoryStore();
  return { store, dispose: () => store.close() };
});

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

  test("ING-1 claims follow the injected clock and expired ones are forgotten", async () => {
    let clock = 1_000_000;
    const store = new MemoryHistoryStore({ clock: () => clock });
    await store.claimIds("m1", ["a"], "v", 10);
    clock += 9_999;
    assert.equal(await store.claimOf("m1", "a"), "v");
    assert.deepEqual(await store.claimIds("m1", ["a"], "w", 10), new Map([["a", "v"]]));
    clock += 1;
    assert.equal(await store.claimOf("m1", "a"), null);
    assert.deepEqual(await store.claimIds("m1", ["a"], "w", 10), new Map([["a", null]]));
    // setClaims refreshes the ttl, as SET ... EX does.
    await store.setClaims("m1", ["b"], "x", 10);
    clock += 5_000;
    await store.setClaims("m1", ["b"], "x", 10);
    clock += 9_000;
    assert.equal(await store.claimOf("m1", "b"), "x");
  });
});
