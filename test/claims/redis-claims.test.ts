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
function storeOn(redis: Redis): { store: RedisClaimStore; dispose: () => Promise<void> } {
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
  return { store, dispose };
}

/** A store whose client talks to Redis through a proxy that counts commands and round trips. */
async function proxiedStore(): Promise<{
  proxy: RespProxy;
  store: RedisClaimStore;
  dispose: () => Promise<void>;
}> {
  const { proxy, redis } = await proxiedRedis();
  const { store, dispose } = storeOn(redis);
  return { proxy, store, dispose: () => dispose().finally(() => proxy.close()) };
}

claimStoreSuite("redis", async () => storeOn(await connectTestRedis()));

describe("redis claim store", () => {
  test("ING-1 a request's ids are claimed in one command and marked accepted in one", async () => {
    const { proxy, store, dispose } = await proxiedStore();
    try {
      const ids = Array.from({ length: 20 }, (_, i) => `tx-${i}`);
      await store.claimIds("m1", ids.slice(0, 5), "accepting r0", 60);
      proxy.reset();
      const held = await store.claimIds("m1", [...ids, "tx-3"], "accepting r1", 60);
      assert.deepEqual(proxy.commands, ["evalsha"], `commands: ${proxy.commands.join(",")}`);
      assert.equal(proxy.roundTrips, 1);
      assert.deepEqual(
        [...held],
        ids.map((id, i) => [id, i < 5 ? "accepting r0" : null]),
        "each id answers what it held, the repeated one its first answer",
      );
      proxy.reset();
      await store.setClaims("m1", ids, "accepted", 120);
      // The first call of a script on a connection carries it (EVAL), later ones its hash.
      assert.deepEqual(proxy.commands, ["eval"]);
      assert.equal(proxy.roundTrips, 1);
      for (const id of ids) assert.equal(await store.claimOf("m1", id), "accepted");
    } finally {
      await dispose();
    }
  });
});
