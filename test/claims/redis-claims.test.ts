import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Redis } from "ioredis";
import { RedisClaimStore } from "../../src/claims/index.ts";
import { proxiedRedis, type RespProxy } from "../history/resp-proxy.ts";
import { connectTestRedis, deleteKeys, uniqueName } from "../support/services.ts";
import { claimStoreSuite } from "./claim-store.suite.ts";

/**
 * A store on `redis` under a fresh prefix; dispose closes it, deletes its keys and drops the
 * client. Real Redis (REDIS_URL or 127.0.0.1:6379): unreachable Redis fails, never skips.
 */
function storeOn(redis: Redis): {
  store: RedisClaimStore;
  prefix: string;
  dispose: () => Promise<void>;
} {
  const prefix = uniqueName("txwtest");
  const store = new RedisClaimStore(redis, prefix);
  const dispose = async () => {
    try {
      await store.close();
      await deleteKeys(redis, `${prefix}:`);
    } finally {
      redis.disconnect();
    }
  };
  return { store, prefix, dispose };
}

/** A store whose client talks to Redis through a proxy that counts commands and round trips. */
async function proxiedStore(): Promise<{
  proxy: RespProxy;
  store: RedisClaimStore;
  prefix: string;
  dispose: () => Promise<void>;
}> {
  const { proxy, redis } = await proxiedRedis();
  const { store, prefix, dispose } = storeOn(redis);
  return { proxy, store, prefix, dispose: () => dispose().finally(() => proxy.close()) };
}

claimStoreSuite("redis", async () => storeOn(await connectTestRedis()));

describe("redis claim store", () => {
  test("ING-1 a request's ids are claimed in one round trip and marked accepted in one", async () => {
    const { proxy, store, dispose } = await proxiedStore();
    try {
      const ids = Array.from({ length: 20 }, (_, i) => `tx-${i}`);
      await store.claimIds("m1", ids.slice(0, 5), "accepting r0", 60);
      proxy.reset();
      const held = await store.claimIds("m1", [...ids, "tx-3"], "accepting r1", 60);
      // One command per id (each its own key, so its own hash slot: SCL-2), and the refresh of
      // this owner's liveness mark, all in one pipeline.
      assert.deepEqual(proxy.commands, Array(21).fill("set"), proxy.commands.join(","));
      assert.equal(proxy.roundTrips, 1);
      assert.deepEqual(
        [...held],
        ids.map((id, i) => [id, i < 5 ? "accepting r0" : null]),
        "each id answers what it held, the repeated one its first answer",
      );
      proxy.reset();
      await store.setClaims("m1", ids, "accepted", 120);
      assert.deepEqual(proxy.commands, Array(20).fill("set"));
      assert.equal(proxy.roundTrips, 1);
      for (const id of ids) assert.equal(await store.claimOf("m1", id), "accepted");
      proxy.reset();
      // Compare-and-set: a one-key script per id. The first call of a script on a connection
      // carries it (EVAL), later ones its hash.
      await store.setClaims("m1", ids, "accepted again", 120, "accepted");
      assert.deepEqual(proxy.commands, ["eval", ...Array(19).fill("evalsha")]);
      assert.equal(proxy.roundTrips, 1);
      proxy.reset();
      await store.releaseClaims("m1", ids, "accepted again");
      assert.deepEqual(proxy.commands, ["eval", ...Array(19).fill("evalsha")]);
      assert.equal(proxy.roundTrips, 1);
    } finally {
      await dispose();
    }
  });

  test("REL-4 ids held by another owner cost one more round trip to read its liveness, and one more to take them over", async () => {
    const { proxy, store, prefix, dispose } = await proxiedStore();
    try {
      const owned = (owner: string) => `accepting 2026-01-01T00:00:00.000Z n-${owner} ${owner}`;
      await store.claimIds("m1", ["warm"], owned(store.ownerId), 60);
      // A live owner (its mark is there) and a dead one (none): two ids each.
      await store.setClaims("m1", ["l1", "l2"], owned("live"), 60);
      await store.setClaims("m1", ["d1", "d2"], owned("dead"), 60);
      const raw = await connectTestRedis();
      try {
        await raw.set(`${prefix}:owner:live`, "1", "PX", 60_000);
      } finally {
        raw.disconnect();
      }
      proxy.reset();
      const mine = owned(store.ownerId);
      const held = await store.claimIds("m1", ["l1", "l2", "d1", "d2", "new"], mine, 60);
      assert.deepEqual(
        [...held],
        [
          ["l1", owned("live")],
          ["l2", owned("live")],
          ["d1", null],
          ["d2", null],
          ["new", null],
        ],
      );
      assert.equal(proxy.roundTrips, 3);
      assert.deepEqual(proxy.commands, [
        ...Array(6).fill("set"),
        "exists",
        "exists",
        "eval",
        "evalsha",
      ]);
      assert.equal(await store.claimOf("m1", "d1"), mine);
    } finally {
      await dispose();
    }
  });
});
