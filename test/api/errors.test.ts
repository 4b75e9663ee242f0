import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ERROR_CATALOGUE } from "../../src/errors.ts";
import { wireTransaction } from "../support/fixtures.ts";
import { bearer, type Harness, startHarness } from "../support/harness.ts";

/** API.md "Errors": every code, its status and the JSON shape, over the real services. */
describe("API error catalogue (real PostgreSQL + Redis)", () => {
  let h: Harness;
  let key: string;
  before(async () => {
    h = await startHarness({ kind: "real", bodyLimitBytes: 64 * 1024 });
    key = await h.keyFor("japancart");
  });
  after(() => h.close());

  const post = (body: unknown, headers: Record<string, string> = bearer(key)) =>
    h.app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers,
      payload: typeof body === "string" ? body : JSON.stringify(body),
    });

  function assertError(
    res: { statusCode: number; json(): unknown },
    status: number,
    code: string,
    field?: string,
  ) {
    assert.equal(res.statusCode, status);
    const body = res.json() as { error: { code: string; message: string; field?: string } };
    assert.equal(body.error.code, code);
    assert.equal(ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE], status);
    assert.equal(typeof body.error.message, "string");
    if (field !== undefined) assert.equal(body.error.field, field);
  }

  test("ING-1 400 TXW_ERR_VALIDATION names the field, and nothing is stored", async () => {
    const tx = wireTransaction({ amount: 12.5 });
    const res = await post(tx);
    assertError(res, 400, "TXW_ERR_VALIDATION", "amount");
    assert.equal(
      (res.json() as { error: { message: string } }).error.message,
      "amount must be a positive integer",
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await h.ledger.getTransaction("japancart", tx.transactionId as string), null);
    assert.equal(h.stream.lag(), 0);
  });

  test("ING-1 400 for a body that is not valid JSON", async () => {
    assertError(await post("{not json"), 400, "TXW_ERR_VALIDATION");
  });

  test("ING-1 400 for an empty batch and an unknown envelope field", async () => {
    assertError(await post({ transactions: [] }), 400, "TXW_ERR_VALIDATION", "transactions");
    assertError(
      await post({ transactions: [wireTransaction()], extra: 1 }),
      400,
      "TXW_ERR_VALIDATION",
      "extra",
    );
  });

  test("ING-1 401 TXW_ERR_UNAUTHENTICATED without a key and with a bad key", async () => {
    assertError(
      await post(wireTransaction(), { "content-type": "application/json" }),
      401,
      "TXW_ERR_UNAUTHENTICATED",
    );
    assertError(
      await post(wireTransaction(), bearer("txw_not-a-key")),
      401,
      "TXW_ERR_UNAUTHENTICATED",
    );
    const res = await h.app.inject({
      method: "GET",
      url: "/v1/alerts",
      headers: { authorization: "Basic abc" },
    });
    assertError(res, 401, "TXW_ERR_UNAUTHENTICATED");
  });

  test("ING-1 403 TXW_ERR_FORBIDDEN for another merchant's transaction", async () => {
    assertError(
      await post(wireTransaction({ merchantId: "fastshop" })),
      403,
      "TXW_ERR_FORBIDDEN",
      "merchantId",
    );
  });

  test("QRY-1 404 TXW_ERR_NOT_FOUND for an unknown transaction, alert and route", async () => {
    const headers = bearer(key);
    assertError(
      await h.app.inject({ method: "GET", url: "/v1/transactions/nope", headers }),
      404,
      "TXW_ERR_NOT_FOUND",
    );
    assertError(
      await h.app.inject({
        method: "POST",
        url: "/v1/alerts/999999/close",
        headers,
        payload: "{}",
      }),
      404,
      "TXW_ERR_NOT_FOUND",
    );
    assertError(
      await h.app.inject({ method: "GET", url: "/v2/nothing" }),
      404,
      "TXW_ERR_NOT_FOUND",
    );
  });

  test("ING-1 413 TXW_ERR_PAYLOAD_TOO_LARGE for a body over the limit and a batch over 500", async () => {
    const big = wireTransaction({
      metadata: Object.fromEntries(
        Array.from({ length: 20 }, (_, i) => [`k${i}`, "x".repeat(256)]),
      ),
    });
    assertError(
      await post({ transactions: Array.from({ length: 20 }, () => big) }),
      413,
      "TXW_ERR_PAYLOAD_TOO_LARGE",
    );
    const small = { transactionId: "x" };
    assertError(
      await post({ transactions: Array.from({ length: 501 }, () => small) }),
      413,
      "TXW_ERR_PAYLOAD_TOO_LARGE",
      "transactions",
    );
  });

  test("ING-1 415 TXW_ERR_UNSUPPORTED_MEDIA_TYPE for a body that is not JSON", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers: { authorization: `Bearer ${key}`, "content-type": "text/plain" },
      payload: "amount=1",
    });
    assertError(res, 415, "TXW_ERR_UNSUPPORTED_MEDIA_TYPE");
    const form = await h.app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      payload: "amount=1",
    });
    assertError(form, 415, "TXW_ERR_UNSUPPORTED_MEDIA_TYPE");
  });

  test("QRY-1 400 for a bad alert filter names the field", async () => {
    const headers = bearer(key);
    assertError(
      await h.app.inject({ method: "GET", url: "/v1/alerts?status=maybe", headers }),
      400,
      "TXW_ERR_VALIDATION",
      "status",
    );
    assertError(
      await h.app.inject({ method: "GET", url: "/v1/alerts?from=yesterday", headers }),
      400,
      "TXW_ERR_VALIDATION",
      "from",
    );
    assertError(
      await h.app.inject({ method: "GET", url: "/v1/alerts?limit=0", headers }),
      400,
      "TXW_ERR_VALIDATION",
      "limit",
    );
    assertError(
      await h.app.inject({ method: "GET", url: "/v1/alerts?cursor=%%%", headers }),
      400,
      "TXW_ERR_VALIDATION",
      "cursor",
    );
  });
});

describe("API error catalogue: rate limit and dependencies", () => {
  test("ING-1 429 TXW_ERR_RATE_LIMITED per merchant key, with Retry-After", async () => {
    const h = await startHarness({ kind: "real", rateLimitPerMinute: 3, process: false });
    try {
      const key = await h.keyFor("japancart");
      const other = await h.keyFor("fastshop");
      const get = (k: string) =>
        h.app.inject({ method: "GET", url: "/v1/alerts", headers: bearer(k) });
      for (let i = 0; i < 3; i++) assert.equal((await get(key)).statusCode, 200);
      const limited = await get(key);
      assert.equal(limited.statusCode, 429);
      assert.equal(
        (limited.json() as { error: { code: string } }).error.code,
        "TXW_ERR_RATE_LIMITED",
      );
      assert.ok(Number(limited.headers["retry-after"]) > 0);
      assert.equal((await get(other)).statusCode, 200, "another merchant has its own budget");
      assert.equal(
        (await h.app.inject({ method: "GET", url: "/healthz" })).statusCode,
        200,
        "health is not limited",
      );
    } finally {
      await h.close();
    }
  });

  test("OPS-1 503 TXW_ERR_UNAVAILABLE when the history store is down, and readyz says which", async () => {
    const h = await startHarness({ kind: "real", process: false });
    const key = await h.keyFor("japancart");
    try {
      await h.history.close(); // the real Redis connection goes away
      // The customer's history lives only there: a 503 without internal text.
      const res = await h.app.inject({
        method: "GET",
        url: "/v1/customers/cust-42/history",
        headers: bearer(key),
      });
      assert.equal(res.statusCode, 503);
      assert.equal(res.headers["retry-after"], "2");
      const body = res.json() as { error: { code: string; message: string } };
      assert.equal(body.error.code, "TXW_ERR_UNAVAILABLE");
      assert.doesNotMatch(
        body.error.message,
        /Connection|ECONN|closed|Error:/i,
        "no internal text",
      );
      const ready = await h.app.inject({ method: "GET", url: "/readyz" });
      assert.equal(ready.statusCode, 503);
      assert.ok(ready.headers["retry-after"] !== undefined);
      assert.deepEqual((ready.json() as { checks: Record<string, string> }).checks, {
        stream: "ok",
        history: "unavailable",
        ledger: "ok",
        processing: "ok",
      });
      // Ingest needs only the stream (REL-3): accepted, its duplicate check left to the ledger.
      const ingest = await h.app.inject({
        method: "POST",
        url: "/v1/transactions",
        headers: bearer(key),
        payload: JSON.stringify(wireTransaction()),
      });
      assert.equal(ingest.statusCode, 202, ingest.body);
      assert.equal((ingest.json() as { deduplication?: string }).deduplication, "deferred");
      assert.equal(h.stream.lag(), 1, "on the stream");
    } finally {
      await h.close().catch(() => {});
    }
  });
});
