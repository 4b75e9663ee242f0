import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { OPENAPI_PATH } from "../../src/api/contract/openapi.ts";
import {
  alertPageSchema,
  alertSchema,
  errorResponses,
  exportedTransactionSchema,
} from "../../src/api/contract/schemas.ts";
import type { ErrorCode } from "../../src/errors.ts";
import { TEST_PAN, wireTransaction } from "../support/fixtures.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { type Checked, type Prism, startPrism, throughPrism } from "../support/prism.ts";

/**
 * OPS-3: an independent, maintained contract validator (Stoplight Prism, as a proxy) between
 * these requests and the service checks every answer against the OpenAPI document the service
 * serves: status, headers and body. Each route is driven with its successes and its errors.
 */

const MERCHANT = "japancart";
/** Small enough that a batch the document allows is over it (413). */
const BODY_LIMIT = 256 * 1024;

async function listen(h: Harness): Promise<string> {
  await h.app.listen({ port: 0, host: "127.0.0.1" });
  return `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
}

const auth = (key: string, extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${key}`,
  ...extra,
});

const post = (key: string, body: unknown): RequestInit => ({
  method: "POST",
  headers: auth(key, { "content-type": "application/json" }),
  body: JSON.stringify(body),
});

/** Prism found nothing wrong with the answer, and it has this status. */
function conforms(r: Checked, status: number, what: string): void {
  assert.deepEqual(r.violations, [], `${what}: ${r.status} ${r.text}`);
  assert.equal(r.status, status, `${what}: ${r.text}`);
}

function isError(r: Checked, code: ErrorCode, field?: string): void {
  const body = JSON.parse(r.text) as { error: { code: string; field?: string } };
  assert.equal(body.error.code, code, r.text);
  if (field !== undefined) assert.equal(body.error.field, field, r.text);
}

/** Card testing: many small charges on one card; the default ruleset raises alerts. */
const cardTestingBurst = (customerId: string, n: number) =>
  Array.from({ length: n }, () =>
    wireTransaction({
      customerId,
      amount: 100,
      paymentMethod: { type: "card", card: { number: "5105105105105100" } },
    }),
  );

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("OPS-3 live answers checked against the OpenAPI document by Prism", () => {
  /** Processes what it accepts: decisions, history, alerts. Behind Prism with --errors. */
  let main: Harness;
  let mainUrl: string;
  let mainOpen = true;
  let strict: Prism;
  /** Processes nothing (pending transactions, outages). Behind Prism without --errors. */
  let idle: Harness;
  let idleUrl: string;
  let lenient: Prism;
  let key: string;
  let idleKey: string;
  /** An alert stream through Prism, open until the server stops (its answer ends then). */
  let held: Promise<Checked> | undefined;

  before(async () => {
    [main, idle] = await Promise.all([
      startHarness({ kind: "embedded", bodyLimitBytes: BODY_LIMIT }),
      startHarness({ kind: "embedded", process: false }),
    ]);
    [key, idleKey] = await Promise.all([main.keyFor(MERCHANT), idle.keyFor(MERCHANT)]);
    [mainUrl, idleUrl] = await Promise.all([listen(main), listen(idle)]);
    // The document as the service serves it (docs/openapi.json is checked equal to it).
    [strict, lenient] = await Promise.all([
      startPrism(`${mainUrl}${OPENAPI_PATH}`, mainUrl, { errors: true }),
      startPrism(`${idleUrl}${OPENAPI_PATH}`, idleUrl, { errors: false }),
    ]);
  });
  after(async () => {
    await Promise.all([strict?.stop(), lenient?.stop()]);
    if (mainOpen) await main?.close();
    await idle?.close();
  });

  const via = (path: string, init?: RequestInit) => throughPrism(strict, path, init);

  test("OPS-3 ingest: accepted, duplicate, a batch answered per item, 400 naming the field, 403, 413", async () => {
    const tx = wireTransaction();
    const accepted = await via("/v1/transactions", post(key, tx));
    conforms(accepted, 202, "one transaction");
    assert.equal(JSON.parse(accepted.text).status, "accepted");
    const again = await via("/v1/transactions", post(key, tx));
    conforms(again, 202, "the same again");
    assert.equal(JSON.parse(again.text).status, "duplicate");

    const badCard = wireTransaction({
      paymentMethod: { type: "card", card: { number: "4111111111111112" } },
    });
    const invalid = await via("/v1/transactions", post(key, badCard));
    conforms(invalid, 400, "a card number failing Luhn");
    isError(invalid, "TXW_ERR_VALIDATION", "paymentMethod.card.number");

    const foreign = await via("/v1/transactions", post(key, wireTransaction({ merchantId: "x" })));
    conforms(foreign, 403, "another merchant's transaction");
    isError(foreign, "TXW_ERR_FORBIDDEN", "merchantId");

    const batch = await via(
      "/v1/transactions",
      post(key, { transactions: [wireTransaction(), badCard, tx] }),
    );
    conforms(batch, 202, "a batch");
    const answer = JSON.parse(batch.text);
    assert.deepEqual([answer.accepted, answer.duplicate, answer.rejected], [1, 1, 1]);
    assert.equal(answer.results[1].error.field, "transactions[1].paymentMethod.card.number");

    const metadata = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [`k${i}`, "v".repeat(256)]),
    );
    const large = Array.from({ length: 60 }, () => wireTransaction({ metadata }));
    const tooLarge = await via("/v1/transactions", post(key, { transactions: large }));
    conforms(tooLarge, 413, "a batch over the body limit");
    isError(tooLarge, "TXW_ERR_PAYLOAD_TOO_LARGE");

    // A decided transaction, its customer's history and the export (NDJSON) hold it.
    await main.waitForDecision(MERCHANT, tx.transactionId as string);
    const got = await via(`/v1/transactions/${tx.transactionId}`, { headers: auth(key) });
    conforms(got, 200, "a decided transaction");
    assert.equal(JSON.parse(got.text).status, "decided");
    const history = await via("/v1/customers/cust-42/history", { headers: auth(key) });
    conforms(history, 200, "a customer's history");
    assert.ok(JSON.parse(history.text).count >= 1);
    const hour = 3600_000;
    const period = `from=${new Date(Date.now() - hour).toISOString()}&to=${new Date(Date.now() + hour).toISOString()}`;
    const exported = await via(`/v1/exports/transactions?${period}`, { headers: auth(key) });
    conforms(exported, 200, "the export");
    assert.match(exported.headers.get("content-type")!, /^application\/x-ndjson/);
    const lines = exported.text.trim().split("\n");
    assert.ok(lines.length >= 1);
    // The document can only call the NDJSON body text: each line is checked with its schema.
    for (const line of lines) exportedTransactionSchema.parse(JSON.parse(line));
  });

  test("OPS-3 reads and errors: 404 without the id, 400 naming a parameter, 401 with WWW-Authenticate, probes, metrics, the document", async () => {
    const unknown = await via("/v1/transactions/tx-never-sent", { headers: auth(key) });
    conforms(unknown, 404, "an unknown transaction");
    assert.ok(!unknown.text.includes("tx-never-sent"));
    const backwards = await via(
      "/v1/exports/transactions?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
      { headers: auth(key) },
    );
    conforms(backwards, 400, "an export period that ends before it starts");
    isError(backwards, "TXW_ERR_VALIDATION", "to");
    const badKey = await via("/v1/alerts", { headers: auth("txw_not-a-key") });
    conforms(badKey, 401, "an unknown key");
    assert.match(badKey.headers.get("www-authenticate")!, /^Bearer /);
    for (const path of ["/healthz", "/readyz", "/metrics", OPENAPI_PATH]) {
      conforms(await via(path), 200, path);
    }
  });

  test("OPS-3 alerts: the stream, 429 past the streams per key, a fraud burst's alerts listed, paged, read, acknowledged, closed, 409, 404", async () => {
    held = via("/v1/alerts/stream", { headers: auth(key, { accept: "text/event-stream" }) });
    await until("the stream through Prism", () => main.hub.subscriberCount() === 1);
    const direct = Array.from({ length: 4 }, () => new AbortController());
    for (const c of direct) {
      const res = await fetch(`${mainUrl}/v1/alerts/stream`, {
        headers: auth(key),
        signal: c.signal,
      });
      assert.equal(res.status, 200);
    }
    const sixth = await via("/v1/alerts/stream", { headers: auth(key) });
    conforms(sixth, 429, "a 6th alert stream of one key");
    isError(sixth, "TXW_ERR_RATE_LIMITED");
    for (const c of direct) c.abort();

    const burst = cardTestingBurst("cust-burst", 8);
    conforms(await via("/v1/transactions", post(key, { transactions: burst })), 202, "a burst");
    for (const t of burst) await main.waitForDecision(MERCHANT, t.transactionId as string);

    const first = await via("/v1/alerts?customerId=cust-burst&status=open&limit=1", {
      headers: auth(key),
    });
    conforms(first, 200, "a page of alerts");
    const page = alertPageSchema.parse(JSON.parse(first.text));
    assert.equal(page.alerts.length, 1);
    assert.ok(page.nextCursor !== null, "more than one alert");
    const next = await via(
      `/v1/alerts?customerId=cust-burst&limit=1&cursor=${encodeURIComponent(page.nextCursor)}`,
      { headers: auth(key) },
    );
    conforms(next, 200, "the next page");

    const id = page.alerts[0]!.id;
    conforms(await via(`/v1/alerts/${id}`, { headers: auth(key) }), 200, "an alert");
    const carded = await via(
      `/v1/alerts/${id}/acknowledge`,
      post(key, { note: `card ${TEST_PAN}` }),
    );
    conforms(carded, 400, "a note holding a card number");
    isError(carded, "TXW_ERR_VALIDATION", "note");
    const acknowledged = await via(`/v1/alerts/${id}/acknowledge`, post(key, { note: "on it" }));
    conforms(acknowledged, 200, "acknowledge with a note");
    assert.equal(JSON.parse(acknowledged.text).notes[0].note, "on it");
    const closed = await via(`/v1/alerts/${id}/close`, { method: "POST", headers: auth(key) });
    conforms(closed, 200, "close without a body");
    assert.equal(JSON.parse(closed.text).status, "closed");
    const conflict = await via(`/v1/alerts/${id}/acknowledge`, post(key, {}));
    conforms(conflict, 409, "acknowledging a closed alert");
    isError(conflict, "TXW_ERR_CONFLICT");
    const missing = await via("/v1/alerts/999999999/close", post(key, {}));
    conforms(missing, 404, "an unknown alert");
  });

  test("OPS-3 429 with Retry-After once a client address failed authentication too often", async () => {
    let last: Checked | undefined;
    for (let i = 0; i < 25; i++) {
      last = await via("/v1/alerts", { headers: auth(`txw_wrong-${i}`) });
      if (last.status === 429) break;
      conforms(last, 401, "an unknown key");
    }
    conforms(last!, 429, "too many failed authentications");
    isError(last!, "TXW_ERR_RATE_LIMITED");
    assert.match(last!.headers.get("retry-after")!, /^\d+$/);
  });

  test("OPS-3 the alert stream, checked whole when the server stops: text/event-stream with the burst's alerts", async () => {
    assert.ok(held, "the stream was opened");
    mainOpen = false;
    await main.close();
    const stream = await held;
    conforms(stream, 200, "the alert stream");
    assert.match(stream.headers.get("content-type")!, /^text\/event-stream/);
    const events = stream.text.split("\n\n").filter((e) => e.includes("event: alert"));
    assert.ok(events.length >= 1, stream.text);
    for (const event of events) {
      const data = /^data: (.*)$/m.exec(event)![1]!;
      const alert = alertSchema.parse(JSON.parse(data));
      assert.match(event, new RegExp(`^id: ${alert.id}$`, "m"));
    }
  });

  // ---- requests that break the document on purpose: Prism forwards them, and checks answers.

  const loose = (path: string, init?: RequestInit) => throughPrism(lenient, path, init);

  test("OPS-3 requests outside the document are answered within it: 400 naming the field, 401, 413, 414, 415", async () => {
    const { amount: _, ...noAmount } = wireTransaction();
    const missing = await loose("/v1/transactions", post(idleKey, noAmount));
    conforms(missing, 400, "a transaction without an amount");
    isError(missing, "TXW_ERR_VALIDATION", "amount");
    const text = await loose("/v1/transactions", {
      method: "POST",
      headers: auth(idleKey, { "content-type": "text/plain" }),
      body: "hello",
    });
    conforms(text, 415, "a text body");
    isError(text, "TXW_ERR_UNSUPPORTED_MEDIA_TYPE");
    const many = await loose(
      "/v1/transactions",
      post(idleKey, { transactions: Array.from({ length: 501 }, () => wireTransaction()) }),
    );
    conforms(many, 413, "a batch of 501");
    isError(many, "TXW_ERR_PAYLOAD_TOO_LARGE", "transactions");
    const long = await loose(`/v1/transactions/${"a".repeat(129)}`, { headers: auth(idleKey) });
    conforms(long, 414, "a path segment over 128 characters");
    for (const [query, field] of [
      ["limit=0", "limit"],
      ["status=bogus", "status"],
      ["from=yesterday", "from"],
    ]) {
      const r = await loose(`/v1/alerts?${query}`, { headers: auth(idleKey) });
      conforms(r, 400, query!);
      isError(r, "TXW_ERR_VALIDATION", field);
    }
    const anonymous = await loose("/v1/alerts");
    conforms(anonymous, 401, "no key");
    assert.equal(anonymous.headers.get("www-authenticate"), 'Bearer realm="txwatch"');
  });

  test("OPS-3 a transaction accepted and not decided yet is 200 pending", async () => {
    const tx = wireTransaction();
    conforms(await loose("/v1/transactions", post(idleKey, tx)), 202, "accepted");
    const pending = await loose(`/v1/transactions/${tx.transactionId}`, {
      headers: auth(idleKey),
    });
    conforms(pending, 200, "a pending transaction");
    assert.equal(JSON.parse(pending.text).status, "pending");
  });

  test("OPS-3 a dependency down: 503 with Retry-After, and /readyz names it", async () => {
    const { history, stream } = idle.deps;
    const down = () => Promise.reject(new Error("connection refused"));
    Object.assign(history, { customerHistory: down });
    Object.assign(stream, { ping: down });
    try {
      const r = await loose("/v1/customers/cust-42/history", { headers: auth(idleKey) });
      conforms(r, 503, "the history store down");
      isError(r, "TXW_ERR_UNAVAILABLE");
      assert.match(r.headers.get("retry-after")!, /^\d+$/);
      const ready = await loose("/readyz");
      conforms(ready, 503, "not ready");
      assert.equal(JSON.parse(ready.text).status, "not_ready");
    } finally {
      delete (history as unknown as Record<string, unknown>).customerHistory;
      delete (stream as unknown as Record<string, unknown>).ping;
    }
  });

  test("OPS-3 answers no proxy can carry (no route, another method, a header block too large) have the catalogue's shape", async () => {
    const none = await fetch(`${idleUrl}/v1/nothing-here`);
    assert.equal(none.status, 404);
    errorResponses.TXW_ERR_NOT_FOUND.parse(await none.json());
    const other = await fetch(`${idleUrl}/v1/transactions`, { method: "DELETE" });
    assert.equal(other.status, 405);
    assert.equal(other.headers.get("allow"), "POST");
    errorResponses.TXW_ERR_METHOD_NOT_ALLOWED.parse(await other.json());
    const { status, body } = await new Promise<{ status: number; body: string }>(
      (resolve, reject) => {
        const req = httpRequest(`${idleUrl}/healthz`, { headers: { "x-big": "a".repeat(17_000) } });
        req.on("response", (res) => {
          let text = "";
          res.on("data", (d) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode!, body: text }));
        });
        req.on("error", reject);
        req.end();
      },
    );
    assert.equal(status, 431);
    errorResponses.TXW_ERR_HEADERS_TOO_LARGE.parse(JSON.parse(body));
  });
});
