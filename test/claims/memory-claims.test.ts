import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryClaimStore } from "../../src/claims/index.ts";
import { claimStoreSuite } from "./claim-store.suite.ts";

claimStoreSuite("memory", async () => {
  const store = new MemoryClaimStore();
  return { store, dispose: () => store.close() };
});

describe("memory claim store", () => {
  test("ING-1 claims follow the injected clock and expired ones are forgotten", async () => {
    let clock = 1_000_000;
    const store = new MemoryClaimStore({ clock: () => clock });
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
