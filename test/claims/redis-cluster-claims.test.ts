import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { claimNonce, encodeClaim, RedisClaimStore, seenKey } from "../../src/claims/index.ts";
import { type RedisClusterUnderTest, startRedisCluster } from "../support/redis-cluster.ts";
import { uniqueName } from "../support/services.ts";
import { claimStoreSuite } from "./claim-store.suite.ts";

const accepting = (owner: string) =>
  encodeClaim({
    state: "accepting",
    receivedAt: new Date().toISOString(),
    nonce: claimNonce(),
    owner,
  });

/**
 * SCL-2: the Redis claim store on a real Redis Cluster of this file's own (three primaries,
 * test/support/redis-cluster.ts), through ioredis's Cluster client: the same contract as on one
 * Redis, with a request's ids spread over every primary. The cluster is thrown away at the end,
 * so nothing is deleted key by key.
 */
describe("SCL-2 ingest claims on a three-primary Redis Cluster", () => {
  let cluster: RedisClusterUnderTest;

  before(async () => {
    cluster = await startRedisCluster();
  });

  after(async () => {
    await cluster?.stop();
  });

  /** A store on a client of its own, under a fresh prefix. */
  const monitor = (prefix: string) => {
    const client = cluster.connect();
    const store = new RedisClaimStore(client, prefix);
    return { client, store };
  };

  claimStoreSuite("redis cluster", async () => {
    const { client, store } = monitor(uniqueName("txwtest"));
    return {
      store,
      dispose: async () => {
        try {
          await store.close();
        } finally {
          client.disconnect();
        }
      },
    };
  });

  test("SCL-2 a request's ids are claimed, marked and released across all three primaries", async () => {
    const prefix = uniqueName("txwtest");
    const { client, store } = monitor(prefix);
    try {
      const ids = Array.from({ length: 30 }, (_, i) => `tx-${i}`);
      const slots = await Promise.all(
        ids.map((id) => client.cluster("KEYSLOT", seenKey(prefix, "m1", id)) as Promise<number>),
      );
      const primaries = new Set(slots.map((slot) => (slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2)));
      assert.equal(primaries.size, 3, "the ids' claims live on every primary");

      const value = accepting(store.ownerId);
      assert.deepEqual(
        await store.claimIds("m1", ids, value, 60),
        new Map(ids.map((id) => [id, null])),
      );
      const accepted = encodeClaim({ state: "accepted", receivedAt: new Date().toISOString() });
      await store.setClaims("m1", ids.slice(0, 10), accepted, 60, value);
      await store.releaseClaims("m1", ids, value);
      for (const [i, id] of ids.entries()) {
        assert.equal(await store.claimOf("m1", id), i < 10 ? accepted : null);
      }
    } finally {
      await store.close();
      client.disconnect();
    }
  });

  test("SCL-2 REL-4 a live owner's claims hold; once it is gone they are taken over, its mark in another slot than them", async () => {
    const prefix = uniqueName("txwtest");
    const a = monitor(prefix);
    const b = monitor(prefix);
    try {
      const ids = ["t1", "t2", "t3", "t4", "t5", "t6"];
      const keys = [
        `${prefix}:owner:${a.store.ownerId}`,
        ...ids.map((id) => seenKey(prefix, "m1", id)),
      ];
      const slots = await Promise.all(
        keys.map((key) => a.client.cluster("KEYSLOT", key) as Promise<number>),
      );
      assert.ok(
        slots.slice(1).some((slot) => slot !== slots[0]),
        "no script could read the owner's mark and these claims together",
      );
      const valueA = accepting(a.store.ownerId);
      await a.store.claimIds("m1", ids, valueA, 300);
      const valueB = accepting(b.store.ownerId);
      assert.deepEqual(
        await b.store.claimIds("m1", ids, valueB, 300),
        new Map(ids.map((id) => [id, valueA])),
        "a live owner's claims hold",
      );
      // Stopped in order (its liveness mark dropped), as a dead owner's mark lapses.
      await a.store.close();
      assert.deepEqual(
        await b.store.claimIds("m1", ids, valueB, 300),
        new Map(ids.map((id) => [id, null])),
      );
      for (const id of ids) assert.equal(await b.store.claimOf("m1", id), valueB);
      // The owner back (same id, a stalled process) marks nothing of what B took over.
      const back = new RedisClaimStore(a.client, prefix, { ownerId: a.store.ownerId });
      await back.setClaims("m1", ids, "accepted", 3600, valueA);
      for (const id of ids) assert.equal(await b.store.claimOf("m1", id), valueB);
      await back.close();
    } finally {
      await b.store.close();
      a.client.disconnect();
      b.client.disconnect();
    }
  });
});
