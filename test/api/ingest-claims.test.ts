import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Redis } from "ioredis";
import { decodeClaim, encodeClaim, seenKey } from "../../src/claims/index.ts";
import { wireTransaction } from "../support/fixtures.ts";
import { bearer, type Harness, startHarness } from "../support/harness.ts";
import { connectTestRedis } from "../support/services.ts";

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** ING-1: ingest claims never outlive the request that made them for nothing. */
describe("ingest claims (real PostgreSQL + Redis)", () => {
  let h: Harness;
  let key: string;
  let redis: Redis;
  before(async () => {
    h = await startHarness({ kind: "real" });
    key = await h.keyFor("japancart");
    redis = await connectTestRedis();
  });
  after(async () => {
    await redis.quit();
    await h.close();
  });

  const post = (body: unknown) =>
    h.app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers: bearer(key),
      payload: JSON.stringify(body),
    });
  const statusOf = async (body: unknown) => {
    const res = await post(body);
    return res.statusCode === 202 ? (res.json() as { status: string }).status : res.statusCode;
  };
  const idOf = (tx: Record<string, unknown>) => tx.transactionId as string;
  const claimKey = (id: string) => seenKey(h.redisPrefix!, "japancart", id);

  test("ING-1 REL-3 a claim call that fails part-way frees the claims it made; the items go on the stream, deduplication deferred", async () => {
    const [a, b] = [wireTransaction(), wireTransaction()];
    // SET ... NX GET fails on a key that is not a string: b's SET fails, a's succeeds.
    await redis.hset(claimKey(idOf(b)), "not", "a claim");
    try {
      const res = await post({ transactions: [a, b] });
      assert.equal(res.statusCode, 202, res.body);
      const body = res.json() as { results: { status: string; deduplication?: string }[] };
      assert.deepEqual(
        body.results.map((r) => [r.status, r.deduplication]),
        [
          ["accepted", "deferred"],
          ["accepted", "deferred"],
        ],
      );
      await waitUntil(async () => (await h.claims.claimOf("japancart", idOf(a))) === null);
      assert.equal(await redis.type(claimKey(idOf(b))), "hash", "what it did not claim stays");
    } finally {
      await redis.del(claimKey(idOf(b)));
    }
    for (const tx of [a, b]) await h.waitForDecision("japancart", idOf(tx));
    assert.equal(await statusOf(a), "duplicate", "the ledger holds it: the retry is no new one");
    assert.equal(await statusOf(b), "duplicate");
  });

  test("ING-1 the ledger check and the claims are sent at once, not one after the other", async () => {
    const tx = wireTransaction();
    const { ledger, claims } = h.deps;
    // Each call goes on only once the other has been made: in series neither order could.
    const called = { ledger: false, claims: false };
    const other = async (mine: keyof typeof called, theirs: keyof typeof called) => {
      called[mine] = true;
      for (let waited = 0; !called[theirs]; waited += 5) {
        if (waited >= 2_000) throw new Error(`${mine} went first, alone, for 2 s`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    try {
      h.deps.claims = Object.assign(Object.create(claims), {
        claimIds: async (...args: Parameters<typeof claims.claimIds>) => {
          await other("claims", "ledger");
          return claims.claimIds(...args);
        },
      });
      h.deps.ledger = Object.assign(Object.create(ledger), {
        existingIds: async (...args: Parameters<typeof ledger.existingIds>) => {
          await other("ledger", "claims");
          return ledger.existingIds(...args);
        },
      });
      const res = await post(tx);
      assert.equal(res.statusCode, 202, res.body);
      assert.equal((res.json() as { status: string }).status, "accepted");
    } finally {
      h.deps.claims = claims;
      h.deps.ledger = ledger;
    }
    await h.waitForDecision("japancart", idOf(tx));
  });

  test("ING-1 an id the ledger holds is a duplicate after its claim expired, and the claim made for it is released", async () => {
    const tx = wireTransaction();
    assert.equal(await statusOf(tx), "accepted");
    await h.waitForDecision("japancart", idOf(tx));
    await redis.del(claimKey(idOf(tx)));
    assert.equal(await statusOf(tx), "duplicate", "the ledger's answer wins");
    assert.equal(await h.claims.claimOf("japancart", idOf(tx)), null, "no claim left behind");
  });

  test("ING-1 REL-3 when the ledger cannot be asked, the item is accepted on the stream with its deduplication deferred, and its claim marks it", async () => {
    const tx = wireTransaction();
    const ledger = h.deps.ledger;
    try {
      h.deps.ledger = Object.assign(Object.create(ledger), {
        existingIds: async () => {
          throw new Error("ledger: connection lost");
        },
      });
      const res = await post(tx);
      assert.equal(res.statusCode, 202, res.body);
      assert.deepEqual(res.json(), {
        transactionId: idOf(tx),
        status: "accepted",
        deduplication: "deferred",
      });
      assert.equal(await statusOf(tx), "duplicate", "the claim, marked accepted, still answers");
    } finally {
      h.deps.ledger = ledger;
    }
    await h.waitForDecision("japancart", idOf(tx));
    assert.equal(await statusOf(tx), "duplicate");
  });

  test("ING-1 REL-3 when the ledger and the claims both fail, the item is accepted on the stream all the same, and decided once", async () => {
    const tx = wireTransaction();
    const { ledger, claims } = h.deps;
    try {
      h.deps.ledger = Object.assign(Object.create(ledger), {
        existingIds: async () => {
          throw new Error("ledger: connection lost");
        },
      });
      h.deps.claims = Object.assign(Object.create(claims), {
        claimIds: async () => {
          throw new Error("claim store: claiming ids: connection lost");
        },
      });
      for (let i = 0; i < 2; i++) {
        const res = await post(tx);
        assert.equal(res.statusCode, 202, res.body);
        assert.equal((res.json() as { deduplication?: string }).deduplication, "deferred");
      }
    } finally {
      h.deps.ledger = ledger;
      h.deps.claims = claims;
    }
    await h.waitForDecision("japancart", idOf(tx));
    assert.equal(
      await statusOf(tx),
      "duplicate",
      "the ledger keeps the first; the second is no new one",
    );
  });

  test("ING-1 a failed put releases only this request's claim: another request's claim on the id stays", async () => {
    const tx = wireTransaction();
    const stream = h.deps.stream;
    // The slow request's claim expired during its put and another request claimed the id.
    const other = encodeClaim({
      state: "accepting",
      receivedAt: new Date().toISOString(),
      nonce: "other-request",
    });
    try {
      h.deps.stream = Object.assign(Object.create(stream), {
        put: async () => {
          await h.claims.setClaims("japancart", [idOf(tx)], other, 60);
          throw new Error("stream down");
        },
      });
      assert.equal((await post(tx)).statusCode, 503);
    } finally {
      h.deps.stream = stream;
    }
    assert.equal(await h.claims.claimOf("japancart", idOf(tx)), other, "not deleted");
    assert.equal(await statusOf(tx), 409, "the other request's put is in flight");
    await h.claims.releaseClaims("japancart", [idOf(tx)], other);
    assert.equal(await statusOf(tx), "accepted");
    await h.waitForDecision("japancart", idOf(tx));
  });

  test("ING-1 when marking the claim accepted fails, the id is a duplicate as soon as the ledger holds it", async () => {
    const tx = wireTransaction();
    const claims = h.deps.claims;
    try {
      h.deps.claims = Object.assign(Object.create(claims), {
        setClaims: async () => {
          throw new Error("claim store: setting claims: connection lost");
        },
      });
      assert.equal(await statusOf(tx), "accepted", "the stream took it: accepted");
    } finally {
      h.deps.claims = claims;
    }
    const claim = await h.claims.claimOf("japancart", idOf(tx));
    assert.equal(decodeClaim(claim!).state, "accepting", "left as it was, not released");
    assert.ok(
      (await redis.ttl(claimKey(idOf(tx)))) <= 300,
      "it still expires as an accepting claim",
    );
    assert.match(h.logs(), /could not mark ingested ids accepted/);
    await h.waitForDecision("japancart", idOf(tx));
    assert.equal(await statusOf(tx), "duplicate");
    const get = await h.app.inject({
      method: "GET",
      url: `/v1/transactions/${idOf(tx)}`,
      headers: bearer(key),
    });
    assert.equal((get.json() as { status: string }).status, "decided");
  });
});
