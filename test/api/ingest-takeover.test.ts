import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { Redis } from "ioredis";
import { type IngestResult, ingest } from "../../src/api/ingest.ts";
import type { ApiDeps } from "../../src/api/types.ts";
import { RedisClaimStore } from "../../src/claims/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import type { StreamRecord } from "../../src/stream/types.ts";
import { wireTransaction } from "../support/fixtures.ts";
import { connectTestRedis, deleteKeys, uniqueName } from "../support/services.ts";

/**
 * REL-4 end to end: two monitors' ingest on one Redis prefix. The first dies (kill -9) with a
 * batch's put in flight; the client's retry of that batch, sent to the second, is accepted
 * within seconds instead of being told to retry for the claim ttl.
 */
describe("ingest after a monitor died mid-put (real Redis)", () => {
  const prefix = uniqueName("txwtest");
  const clients: Redis[] = [];
  const stores: RedisClaimStore[] = [];
  after(async () => {
    const admin = await connectTestRedis();
    try {
      await deleteKeys(admin, `${prefix}:`);
    } finally {
      await admin.quit();
      for (const store of stores) await store.close().catch(() => undefined);
      for (const redis of clients) redis.disconnect();
    }
  });

  /** A monitor's ingest dependencies: its own Redis connection (and owner), a shared prefix. */
  const monitor = async (put: (records: StreamRecord[]) => Promise<{ failed: number[] }>) => {
    const redis = await connectTestRedis();
    const claims = new RedisClaimStore(redis, prefix);
    clients.push(redis);
    stores.push(claims);
    const deps = {
      ledger: { existingIds: async () => new Set<string>() },
      claims,
      stream: { put },
      tokenKey: Buffer.alloc(32, 1),
      log: createLogger("silent"),
    } as unknown as ApiDeps;
    return { redis, deps };
  };

  test("REL-4 an honest retry after a monitor's crash is accepted within 5 s, not 409 for 5 min", async () => {
    const a = await monitor(() => new Promise(() => {})); // the put never returns: A dies in it
    const put: StreamRecord[] = [];
    const b = await monitor(async (records) => {
      put.push(...records);
      return { failed: [] };
    });
    const batch = Array.from({ length: 20 }, () => wireTransaction());
    const send = (deps: ApiDeps) => ingest(deps, "japancart", batch, (i) => `transactions[${i}]`);
    void send(a.deps);
    const claimed = async () => {
      for (const tx of batch) {
        if ((await b.deps.claims.claimOf("japancart", tx.transactionId as string)) === null)
          return false;
      }
      return true;
    };
    for (let i = 0; i < 100 && !(await claimed()); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }

    // While A lives, its batch is in flight: the retry is told to retry.
    const during = await send(b.deps);
    assert.ok(
      during.every((r) => r.error?.code === "TXW_ERR_CONFLICT"),
      JSON.stringify(during[0]),
    );

    a.redis.disconnect(); // kill -9
    const died = Date.now();
    let answers: IngestResult[] = during;
    let conflicts = 0;
    while (Date.now() - died < 5000) {
      answers = await send(b.deps);
      if (answers.every((r) => r.status === "accepted")) break;
      conflicts++;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(
      answers.map((r) => r.status),
      batch.map(() => "accepted"),
      "accepted within 5 s of the crash",
    );
    assert.ok(conflicts > 0, "not before A's liveness lapsed");
    assert.equal(put.length, batch.length, "B put the batch once");
    // And from then on the retry is a duplicate.
    const again = await send(b.deps);
    assert.ok(again.every((r) => r.status === "duplicate"));
  });
});
