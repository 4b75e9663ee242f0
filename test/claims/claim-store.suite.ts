import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { ClaimStore } from "../../src/claims/types.ts";

export interface ClaimStoreUnderTest {
  store: ClaimStore;
  /** Removes what the test stored and closes the store. */
  dispose(): Promise<void>;
}

/**
 * The ClaimStore contract (ING-1), run against every implementation: the Redis and the
 * in-memory stores must give the same answers to the same calls.
 */
export function claimStoreSuite(name: string, factory: () => Promise<ClaimStoreUnderTest>): void {
  const withStore = (fn: (store: ClaimStore) => Promise<void>) => async () => {
    const { store, dispose } = await factory();
    try {
      await fn(store);
    } finally {
      await dispose();
    }
  };

  describe(`${name} claim store contract`, () => {
    test(
      "ING-1 claimIds claims each id once per merchant and answers the claim already there",
      withStore(async (store) => {
        const first = await store.claimIds("m1", ["t1", "t:2"], "v1", 60);
        assert.deepEqual(
          first,
          new Map([
            ["t1", null],
            ["t:2", null],
          ]),
        );
        const second = await store.claimIds("m1", ["t1", "t3"], "v2", 60);
        assert.deepEqual(
          second,
          new Map([
            ["t1", "v1"],
            ["t3", null],
          ]),
        );
        assert.equal(await store.claimOf("m1", "t1"), "v1", "a failed claim changes nothing");
        assert.deepEqual(await store.claimIds("m2", ["t1"], "w", 60), new Map([["t1", null]]));
        assert.equal(await store.claimOf("m1", "nobody"), null);
        assert.deepEqual(await store.claimIds("m1", [], "v", 60), new Map());
        assert.deepEqual(
          await store.claimIds("m1", ["dup", "dup"], "d", 60),
          new Map([["dup", null]]),
          "an id given twice in one call is claimed by it",
        );
      }),
    );

    test(
      "ING-1 of concurrent claims of one id exactly one wins",
      withStore(async (store) => {
        const answers = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            store.claimIds("m1", ["race", `own-${i}`], `c${i}`, 60),
          ),
        );
        const winners = answers.filter((a) => a.get("race") === null);
        assert.equal(winners.length, 1);
        const winner = answers.indexOf(winners[0]!);
        assert.equal(await store.claimOf("m1", "race"), `c${winner}`);
        for (const a of answers) {
          if (a !== winners[0]) assert.equal(a.get("race"), `c${winner}`);
        }
        assert.ok(answers.every((a, i) => a.get(`own-${i}`) === null));
      }),
    );

    test(
      "ING-1 a released claim can be claimed again; setClaims replaces value and ttl",
      withStore(async (store) => {
        await store.claimIds("m1", ["a", "b"], "accepting", 60);
        await store.releaseClaims("m1", ["a"], "accepting");
        await store.releaseClaims("m1", [], "accepting");
        assert.equal(await store.claimOf("m1", "a"), null);
        assert.deepEqual(await store.claimIds("m1", ["a"], "again", 60), new Map([["a", null]]));
        await store.setClaims("m1", ["b", "c"], "accepted", 1);
        assert.equal(await store.claimOf("m1", "b"), "accepted");
        assert.equal(await store.claimOf("m1", "c"), "accepted");
        await sleep(1100);
        assert.equal(await store.claimOf("m1", "b"), null, "the new ttl applies");
        assert.equal(await store.claimOf("m1", "a"), "again");
      }),
    );

    test(
      "ING-1 releaseClaims is compare-and-delete: it frees only the claims still holding its value",
      withStore(async (store) => {
        await store.claimIds("m1", ["mine", "theirs", "marked"], "accepting r1", 60);
        // Another request's claim replaced this one's (after it expired), and one id was marked
        // accepted: a slow request releasing late must leave both alone.
        await store.releaseClaims("m1", ["theirs"], "accepting r1");
        await store.claimIds("m1", ["theirs"], "accepting r2", 60);
        await store.setClaims("m1", ["marked"], "accepted", 60);
        await store.releaseClaims("m1", ["mine", "theirs", "marked", "never"], "accepting r1");
        assert.equal(await store.claimOf("m1", "mine"), null, "its own claim is released");
        assert.equal(await store.claimOf("m1", "theirs"), "accepting r2");
        assert.equal(await store.claimOf("m1", "marked"), "accepted");
        assert.equal(await store.claimOf("m1", "never"), null);
        // Per merchant: the same id and value under another merchant is another claim.
        await store.claimIds("m2", ["theirs"], "accepting r2", 60);
        await store.releaseClaims("m1", ["theirs"], "accepting r2");
        assert.equal(await store.claimOf("m1", "theirs"), null);
        assert.equal(await store.claimOf("m2", "theirs"), "accepting r2");
      }),
    );

    test(
      "ING-1 a claim is forgotten after its ttl",
      withStore(async (store) => {
        await store.claimIds("m1", ["short"], "s", 1);
        await store.claimIds("m1", ["long"], "l", 60);
        await sleep(1100);
        assert.equal(await store.claimOf("m1", "short"), null);
        assert.equal(await store.claimOf("m1", "long"), "l");
        assert.deepEqual(
          await store.claimIds("m1", ["short"], "s2", 60),
          new Map([["short", null]]),
        );
        await assert.rejects(store.claimIds("m1", ["x"], "v", 0), /ttlSeconds/);
        await assert.rejects(store.setClaims("m1", ["x"], "v", 0), /ttlSeconds/);
      }),
    );
  });
}
