import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { Redis } from "ioredis";
import {
  claimNonce,
  encodeClaim,
  MemoryClaimStore,
  OWNER_LIVENESS_MS,
  RedisClaimStore,
} from "../../src/claims/index.ts";
import { connectTestRedis, deleteKeys, uniqueName } from "../support/services.ts";

const accepting = (owner: string) =>
  encodeClaim({
    state: "accepting",
    receivedAt: new Date().toISOString(),
    nonce: claimNonce(),
    owner,
  });
const accepted = encodeClaim({ state: "accepted", receivedAt: new Date().toISOString() });

/** REL-4: claims of a monitor that died are taken over within seconds, never a live one's. */
describe("ingest claim takeover (real Redis)", () => {
  const prefix = uniqueName("txwtest");
  const clients: Redis[] = [];
  const stores: RedisClaimStore[] = [];
  /** One monitor process: its own connection and owner id, all on one key prefix. */
  const monitor = async (ownerId?: string) => {
    const redis = await connectTestRedis();
    const store = new RedisClaimStore(redis, prefix, {
      ...(ownerId !== undefined && { ownerId }),
    });
    clients.push(redis);
    stores.push(store);
    return { redis, store };
  };
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

  test("REL-4 a dead owner's claims are taken over within 5 s, a live one's never; the dead owner back cannot mark them", async () => {
    const a = await monitor();
    const b = await monitor();
    const ids = ["t1", "t2", "t3"];
    const valueA = accepting(a.store.ownerId);
    assert.deepEqual(
      await a.store.claimIds("m1", ids, valueA, 300),
      new Map(ids.map((id) => [id, null])),
    );
    const valueB = accepting(b.store.ownerId);
    // A lives (its liveness is refreshed every second): B is told "held", past A's liveness ttl.
    const livesUntil = Date.now() + OWNER_LIVENESS_MS + 500;
    while (Date.now() < livesUntil) {
      const held = await b.store.claimIds("m1", ids, valueB, 300);
      assert.deepEqual(held, new Map(ids.map((id) => [id, valueA])), "a live owner's claims hold");
      await new Promise((r) => setTimeout(r, 250));
    }

    // kill -9: the connection drops, nothing is released, the liveness refresh stops.
    a.redis.disconnect();
    const died = Date.now();
    let first: Map<string, string | null> | undefined;
    let took: Map<string, string | null> | undefined;
    while (Date.now() - died < 5000) {
      const held = await b.store.claimIds("m1", ids, valueB, 300);
      first ??= held;
      if ([...held.values()].every((v) => v === null)) {
        took = held;
        break;
      }
      assert.deepEqual(held, new Map(ids.map((id) => [id, valueA])), "all or none, not another");
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(took !== undefined, "B claims the dead owner's ids within 5 s of its death");
    assert.deepEqual(first, new Map(ids.map((id) => [id, valueA])), "not before A's mark lapses");
    for (const id of ids) assert.equal(await b.store.claimOf("m1", id), valueB);

    // A comes back (a stalled process, same owner id): its claims are B's now.
    const back = await monitor(a.store.ownerId);
    await back.store.setClaims("m1", ids, accepted, 3600, valueA);
    await back.store.releaseClaims("m1", ids, valueA);
    assert.deepEqual(
      await back.store.claimIds("m1", ids, valueA, 300),
      new Map(ids.map((id) => [id, valueB])),
    );
    for (const id of ids) assert.equal(await b.store.claimOf("m1", id), valueB, "A marks nothing");

    // B marks them, compare-and-set on its own claim; an id without a claim is marked too.
    await b.store.setClaims("m1", [...ids, "t4"], accepted, 3600, valueB);
    for (const id of [...ids, "t4"]) assert.equal(await b.store.claimOf("m1", id), accepted);
    // An accepted mark is never taken over.
    assert.deepEqual(
      await back.store.claimIds("m1", ["t1"], valueA, 300),
      new Map([["t1", accepted]]),
    );
  });

  test("REL-4 an owner that stops in order frees its claims for its successor at once", async () => {
    const a = await monitor();
    const b = await monitor();
    const valueA = accepting(a.store.ownerId);
    await a.store.claimIds("m1", ["s1"], valueA, 300);
    // Claims without an owner (older versions) are held until their ttl, as before.
    await a.store.claimIds("m1", ["s2"], "accepting 2026-01-01T00:00:00.000Z n0", 300);
    await a.store.close();
    const valueB = accepting(b.store.ownerId);
    assert.deepEqual(
      await b.store.claimIds("m1", ["s1", "s2"], valueB, 300),
      new Map([
        ["s1", null],
        ["s2", "accepting 2026-01-01T00:00:00.000Z n0"],
      ]),
    );
  });
});

describe("ingest claim takeover (in-memory store)", () => {
  test("REL-4 a claim of another owner (a previous start's) is taken over, one's own never", async () => {
    const store = new MemoryClaimStore();
    const previous = accepting("previous-start");
    const own = accepting(store.ownerId);
    await store.setClaims("m1", ["p"], previous, 300);
    assert.deepEqual(
      await store.claimIds("m1", ["p", "o"], own, 300),
      new Map([
        ["p", null],
        ["o", null],
      ]),
    );
    const other = accepting(store.ownerId);
    assert.deepEqual(await store.claimIds("m1", ["p"], other, 300), new Map([["p", own]]));
    // Marks are compare-and-set: the predecessor's late mark leaves this claim alone.
    await store.setClaims("m1", ["p"], accepted, 3600, previous);
    assert.equal(await store.claimOf("m1", "p"), own);
    await store.setClaims("m1", ["p", "none"], accepted, 3600, own);
    assert.equal(await store.claimOf("m1", "p"), accepted);
    assert.equal(await store.claimOf("m1", "none"), accepted);
    await store.close();
  });
});
