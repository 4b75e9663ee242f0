import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TEST_PAN, wireTransaction } from "../support/fixtures.ts";
import { bearer, type Harness, startHarness } from "../support/harness.ts";

describe("POST /v1/transactions (real PostgreSQL + Redis)", () => {
  let h: Harness;
  let key: string;
  before(async () => {
    h = await startHarness({ kind: "real" });
    key = await h.keyFor("japancart");
  });
  after(() => h.close());

  const post = (body: unknown) =>
    h.app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers: bearer(key),
      payload: JSON.stringify(body),
    });

  test("ING-1 one transaction is accepted with 202 and decided", async () => {
    const tx = wireTransaction();
    const res = await post(tx);
    assert.equal(res.statusCode, 202);
    assert.deepEqual(res.json(), { transactionId: tx.transactionId, status: "accepted" });
    const stored = await h.waitForDecision("japancart", tx.transactionId as string);
    assert.equal(stored.transaction.amount, 12800);
    assert.ok(["allow", "review", "block"].includes(stored.decision.action));
  });

  test("ING-1 a batch answers per item: accepted, duplicate, rejected with its error", async () => {
    const a = wireTransaction();
    const b = wireTransaction({ amount: "12800" });
    const c = wireTransaction({ merchantId: "fastshop" });
    const res = await post({ transactions: [a, b, a, c] });
    assert.equal(res.statusCode, 202);
    const body = res.json() as {
      accepted: number;
      duplicate: number;
      rejected: number;
      results: {
        transactionId?: string;
        status: string;
        error?: { code: string; field?: string };
      }[];
    };
    assert.deepEqual([body.accepted, body.duplicate, body.rejected], [1, 1, 2]);
    assert.deepEqual(
      body.results.map((r) => r.status),
      ["accepted", "rejected", "duplicate", "rejected"],
    );
    assert.equal(body.results[1]!.error!.code, "TXW_ERR_VALIDATION");
    assert.equal(body.results[1]!.error!.field, "transactions[1].amount");
    assert.equal(body.results[3]!.error!.code, "TXW_ERR_FORBIDDEN");
    await h.waitForDecision("japancart", a.transactionId as string);
    assert.equal(await h.ledger.getTransaction("japancart", b.transactionId as string), null);
  });

  test("ING-1 a transaction sent again is a duplicate, in flight and after it was decided", async () => {
    const tx = wireTransaction();
    assert.equal(((await post(tx)).json() as { status: string }).status, "accepted");
    assert.equal(((await post(tx)).json() as { status: string }).status, "duplicate");
    await h.waitForDecision("japancart", tx.transactionId as string);
    // Forget the ingest marks: the ledger alone still answers duplicate.
    const redisKeysGone = await post(tx);
    assert.equal((redisKeysGone.json() as { status: string }).status, "duplicate");
  });

  test("ING-1 PRC-1 concurrent POSTs of one transactionId: exactly one is accepted, the others are told duplicate or to retry", async () => {
    for (let round = 0; round < 3; round++) {
      const tx = wireTransaction();
      const answers = await Promise.all(Array.from({ length: 6 }, () => post(tx)));
      const outcomes = answers.map((res) =>
        res.statusCode === 202
          ? (res.json() as { status: string }).status
          : `${res.statusCode} ${(res.json() as { error: { code: string } }).error.code}`,
      );
      assert.equal(outcomes.filter((o) => o === "accepted").length, 1, outcomes.join(", "));
      for (const o of outcomes) {
        assert.ok(["accepted", "duplicate", "409 TXW_ERR_CONFLICT"].includes(o), o);
      }
      await h.waitForDecision("japancart", tx.transactionId as string);
      assert.equal(((await post(tx)).json() as { status: string }).status, "duplicate");
    }
  });

  test("ING-1 ING-2 a stream put that fails releases the claim, so the retry is accepted", async () => {
    const stream = h.deps.stream;
    const put = stream.put.bind(stream);
    const [whole, partial, ok] = [wireTransaction(), wireTransaction(), wireTransaction()];
    try {
      h.deps.stream = Object.assign(Object.create(stream), {
        put: async () => {
          throw new Error("stream down");
        },
      });
      assert.equal((await post(whole)).statusCode, 503);
      // Partial failure: the first record refused, the second taken.
      h.deps.stream = Object.assign(Object.create(stream), {
        put: async (records: Parameters<typeof put>[0]) => {
          await put(records.slice(1));
          return { failed: [0] };
        },
      });
      const batch = (await post({ transactions: [partial, ok] })).json() as {
        results: { status: string; error?: { code: string } }[];
      };
      assert.deepEqual(
        batch.results.map((r) => r.status),
        ["rejected", "accepted"],
      );
      assert.equal(batch.results[0]!.error!.code, "TXW_ERR_UNAVAILABLE");
    } finally {
      h.deps.stream = stream;
    }
    for (const tx of [whole, partial]) {
      const retry = await post(tx);
      assert.equal((retry.json() as { status: string }).status, "accepted");
      await h.waitForDecision("japancart", tx.transactionId as string);
    }
    assert.equal(((await post(ok)).json() as { status: string }).status, "duplicate");
  });

  test("PRIV-1 ING-1 a card number outside paymentMethod.card.number is a 400 naming the field, and nothing is stored", async () => {
    const tx = wireTransaction({
      paymentMethod: { type: "card", card: { token: `tok_${TEST_PAN}` } },
    });
    const res = await post(tx);
    assert.equal(res.statusCode, 400);
    const { error } = res.json() as { error: { code: string; field: string } };
    assert.equal(error.code, "TXW_ERR_VALIDATION");
    assert.equal(error.field, "paymentMethod.card.token");
    assert.ok(!res.body.includes(TEST_PAN));

    const inMetadata = wireTransaction({ metadata: { note: "4111 1111 1111 1111" } });
    const batch = await post({
      transactions: [inMetadata, wireTransaction({ transactionId: "4111-1111-1111-1111" })],
    });
    const body = batch.json() as {
      rejected: number;
      results: { transactionId?: string; error?: { field?: string } }[];
    };
    assert.equal(body.rejected, 2);
    assert.equal(body.results[0]!.error!.field, "transactions[0].metadata.note");
    assert.equal(body.results[1]!.error!.field, "transactions[1].transactionId");
    assert.equal(body.results[1]!.transactionId, undefined, "the id holding a PAN is not echoed");
    assert.ok(!batch.body.includes("1111 1111") && !batch.body.includes("1111-1111"));
    for (const id of [tx.transactionId, inMetadata.transactionId]) {
      assert.equal(await h.ledger.getTransaction("japancart", id as string), null);
    }
    assert.ok(!h.logs().includes(TEST_PAN), "no card number in the logs");
  });

  test("PRIV-1 the card number appears nowhere: not in the answer, the ledger row, or the logs", async () => {
    const tx = wireTransaction();
    await post(tx);
    const stored = await h.waitForDecision("japancart", tx.transactionId as string);
    assert.ok(!JSON.stringify(stored).includes(TEST_PAN));
    assert.equal(stored.transaction.paymentMethod.card?.last4, "1111");
    assert.equal(stored.transaction.paymentMethod.card?.bin, "411111");
    const res = await h.app.inject({
      method: "GET",
      url: `/v1/transactions/${tx.transactionId}`,
      headers: bearer(key),
    });
    assert.ok(!res.body.includes(TEST_PAN));
    // A rejected transaction with a card number in it must not leak it either.
    await post(wireTransaction({ amount: -5 }));
    assert.ok(h.logs().length > 0, "the monitor logged something");
    assert.ok(!h.logs().includes(TEST_PAN), "no card number in the logs");
    assert.ok(!h.logs().includes(key), "no API key in the logs");
  });
});
