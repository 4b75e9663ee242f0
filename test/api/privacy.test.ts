import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TEST_PAN, wireTransaction } from "../support/fixtures.ts";
import { bearer, type Harness, startHarness } from "../support/harness.ts";

/** PRIV-1: a card number the client puts anywhere comes back in no answer and no log line. */
describe("card numbers in requests, answers and logs (real PostgreSQL + Redis)", () => {
  let h: Harness;
  let key: string;
  before(async () => {
    h = await startHarness({ kind: "real" });
    key = await h.keyFor("japancart");
  });
  after(() => h.close());

  const request = (method: "GET" | "POST", url: string, body?: unknown) =>
    h.app.inject({
      method,
      url,
      headers: bearer(key),
      ...(body !== undefined && { payload: JSON.stringify(body) }),
    });

  /** The card numbers these tests send, however they were separated or encoded. */
  const noCardDigits = (text: string, what: string) => {
    for (const sent of [
      TEST_PAN,
      "5555555555554444",
      "4111%20",
      ...["_", ".", ":", "-", " "].map((sep) => `4111${sep}1111`),
    ]) {
      assert.ok(!text.includes(sent), `${what} holds ${sent}: ${text}`);
    }
  };

  function assertError(res: { statusCode: number; body: string }, status: number, field?: string) {
    assert.equal(res.statusCode, status, res.body);
    const { error } = JSON.parse(res.body) as { error: { field?: string; message: string } };
    if (field !== undefined) assert.equal(error.field, field);
    noCardDigits(res.body, "the answer");
    return error;
  }

  test("PRIV-1 a card number as a key is masked in the 400's field and message", async () => {
    const unknownField = (field: string) => [field, `${field} is not a known field`];
    const cases: [unknown, string[]][] = [
      [{ ...wireTransaction(), [TEST_PAN]: 1 }, unknownField("[card number]")],
      [
        wireTransaction({ metadata: { [TEST_PAN]: 5 } }),
        ["metadata.[card number]", "metadata.[card number]: metadata values must be strings"],
      ],
      [
        wireTransaction({
          paymentMethod: { type: "card", card: { number: TEST_PAN, "5555555555554444": 1 } },
        }),
        unknownField("paymentMethod.card.[card number]"),
      ],
      [
        { transactions: [wireTransaction()], "4111-1111-1111-1111": 1 },
        unknownField("[card number]"),
      ],
    ];
    for (const [body, [field, message]] of cases) {
      const error = assertError(await request("POST", "/v1/transactions", body), 400, field);
      assert.equal(error.message, message);
    }
    const alertBody = { note: "ok", [TEST_PAN]: 1 };
    for (const action of ["acknowledge", "close"]) {
      const res = await request("POST", `/v1/alerts/1/${action}`, alertBody);
      assert.equal(
        assertError(res, 400, "[card number]").message,
        "[card number] is not a known field",
      );
    }
    assertError(await request("GET", `/v1/alerts?${TEST_PAN}=1`), 400, "[card number]");
    noCardDigits(h.logs(), "the logs");
  });

  test("PRIV-1 ING-1 ids written with . _ or : between the groups are refused, not stored", async () => {
    const ids = ["4111_1111_1111_1111", "4111.1111.1111.1111", "4111:1111:1111:1111"];
    for (const transactionId of ids) {
      const res = await request("POST", "/v1/transactions", wireTransaction({ transactionId }));
      assertError(res, 400, "transactionId");
      assert.equal(await h.ledger.getTransaction("japancart", transactionId), null);
    }
    const inMetadata = wireTransaction({ metadata: { a: "4111.1111.1111.1111" } });
    assertError(await request("POST", "/v1/transactions", inMetadata), 400, "metadata.a");
    assert.equal(h.stream.lag(), 0, "nothing reached the stream");
  });

  test("PRIV-1 a card number in the URL is in no 404 and is not in the request log", async () => {
    const urls = [
      `/v1/transactions/${TEST_PAN}`,
      "/v1/transactions/4111_1111_1111_1111",
      "/v1/transactions/4111%201111%201111%201111",
      `/v1/customers/${TEST_PAN}/history`,
      `/v1/alerts/${TEST_PAN}`,
      `/v1/alerts?customerId=${TEST_PAN}`,
      `/v1/nothing/${TEST_PAN}`,
    ];
    for (const url of urls) {
      const res = await request("GET", url);
      if (url.startsWith("/v1/alerts?")) assert.equal(res.statusCode, 200);
      else assertError(res, 404);
    }
    const unknown = assertError(await request("GET", "/v1/transactions/tx-never-sent-42"), 404);
    assert.ok(!unknown.message.includes("tx-never-sent-42"), "the 404 does not repeat the id");
    const logs = h.logs();
    noCardDigits(logs, "the logs");
    // SEC-5: the request log names the route's pattern, never the URL the client sent.
    const logged = logs
      .split("\n")
      .filter((line) => line.includes('"request completed"'))
      .map((line) => JSON.parse(line) as { url?: string; route?: string; req?: unknown });
    assert.ok(
      logged.every((req) => req.url === undefined && req.req === undefined),
      "no raw URL is logged",
    );
    assert.ok(logged.some((req) => req.route === "/v1/transactions/:transactionId"));
    assert.ok(!logs.includes("tx-never-sent-42"), "no id from a path is logged");
  });
});
