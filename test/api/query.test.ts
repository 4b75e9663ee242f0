import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PENDING_WAIT_MS } from "../../src/api/routes/transactions.ts";
import type { Alert } from "../../src/ledger/types.ts";
import { wireTransaction } from "../support/fixtures.ts";
import { bearer, type Harness, startHarness } from "../support/harness.ts";

/** Card testing: many charges on one card in minutes; the default ruleset must raise alerts. */
function cardTestingBurst(customerId: string, n: number) {
  const card = { type: "card", card: { number: "5105105105105100" } };
  return Array.from({ length: n }, () =>
    wireTransaction({ customerId, amount: 100, paymentMethod: card }),
  );
}

describe("query API and alerts (real PostgreSQL + Redis)", () => {
  let h: Harness;
  let key: string;
  let otherKey: string;
  before(async () => {
    h = await startHarness({ kind: "real" });
    key = await h.keyFor("japancart");
    otherKey = await h.keyFor("fastshop");
  });
  after(() => h.close());

  const get = (url: string, k = key) => h.app.inject({ method: "GET", url, headers: bearer(k) });

  test("QRY-1 GET a transaction returns its decision with reasons and ruleset version", async () => {
    const tx = wireTransaction();
    await h.app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers: bearer(key),
      payload: JSON.stringify(tx),
    });
    await h.waitForDecision("japancart", tx.transactionId as string);
    const res = await get(`/v1/transactions/${tx.transactionId}`);
    assert.equal(res.statusCode, 200);
    const body = res.json() as Record<string, unknown> & { decision: Record<string, unknown> };
    assert.equal(body.transactionId, tx.transactionId);
    assert.equal(body.status, "decided");
    assert.deepEqual(Object.keys(body.decision).sort(), [
      "action",
      "decidedAt",
      "reasons",
      "rulesetVersion",
      "score",
    ]);
    assert.match(String(body.decision.rulesetVersion), /^rs-[0-9a-f]{12}$/);
    assert.equal(
      (await get(`/v1/transactions/${tx.transactionId}`, otherKey)).statusCode,
      404,
      "another merchant cannot read it",
    );
  });

  test("PRC-5 QRY-1 a fraud burst raises alerts: listed, filtered, paginated, acknowledged, closed", async () => {
    const events: Alert[] = [];
    const unsubscribe = h.hub.subscribe("japancart", (a) => events.push(a));
    const burst = cardTestingBurst("cust-burst", 8);
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers: bearer(key),
      payload: JSON.stringify({ transactions: burst }),
    });
    assert.equal((res.json() as { accepted: number }).accepted, 8);
    for (const tx of burst) await h.waitForDecision("japancart", tx.transactionId as string);
    unsubscribe();
    const last = await h.ledger.getTransaction("japancart", burst[7]!.transactionId as string);
    assert.notEqual(last!.decision.action, "allow", "the burst's last charge is flagged");

    const list = await get("/v1/alerts?customerId=cust-burst&status=open");
    assert.equal(list.statusCode, 200);
    const { alerts } = list.json() as { alerts: Alert[]; nextCursor: string | null };
    assert.ok(alerts.length > 0);
    assert.ok(alerts.every((a) => a.customerId === "cust-burst" && a.status === "open"));
    assert.equal(
      events.length,
      (await h.ledger.listAlerts("japancart", { customerId: "cust-burst" }, { limit: 500 })).items
        .length,
      "each stored alert was published once",
    );

    // pagination: pages of 1 cover every alert exactly once
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { alerts: Alert[]; nextCursor: string | null } = (
        await get(
          `/v1/alerts?customerId=cust-burst&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        )
      ).json();
      seen.push(...page.alerts.map((a) => a.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    assert.equal(new Set(seen).size, alerts.length);
    assert.equal(seen.length, alerts.length);

    const rule = alerts[0]!.rule;
    const byRule = (
      await get(`/v1/alerts?rule=${encodeURIComponent(rule)}&customerId=cust-burst`)
    ).json() as { alerts: Alert[] };
    assert.ok(byRule.alerts.length > 0 && byRule.alerts.every((a) => a.rule === rule));
    assert.equal(
      ((await get("/v1/alerts?customerId=cust-burst", otherKey)).json() as { alerts: Alert[] })
        .alerts.length,
      0,
    );

    const id = alerts[0]!.id;
    const post = (action: string, body?: unknown) =>
      h.app.inject({
        method: "POST",
        url: `/v1/alerts/${id}/${action}`,
        headers: bearer(key),
        ...(body !== undefined && { payload: JSON.stringify(body) }),
      });
    const ack = await post("acknowledge", { note: "looking" });
    assert.equal(ack.statusCode, 200);
    assert.equal((ack.json() as Alert).status, "acknowledged");
    const closed = await post("close", { note: "confirmed fraud" });
    assert.equal((closed.json() as Alert).status, "closed");
    assert.deepEqual(
      (closed.json() as Alert).notes.map((n) => n.note),
      ["looking", "confirmed fraud"],
    );
    const conflict = await post("acknowledge");
    assert.equal(conflict.statusCode, 409);
    assert.equal((conflict.json() as { error: { code: string } }).error.code, "TXW_ERR_CONFLICT");
    const badNote = await post("close", { note: 5 });
    assert.equal(badNote.statusCode, 400);
    assert.equal((badNote.json() as { error: { field: string } }).error.field, "note");
    assert.equal(
      (await get(`/v1/alerts?status=closed&customerId=cust-burst`)).json().alerts.length,
      1,
    );
  });

  test("QRY-1 customer history shows the last 24 h as the rules saw them", async () => {
    const txs = [
      wireTransaction({ customerId: "cust-hist", amount: 1000 }),
      wireTransaction({ customerId: "cust-hist", amount: 2500 }),
    ];
    await h.app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers: bearer(key),
      payload: JSON.stringify({ transactions: txs }),
    });
    for (const tx of txs) await h.waitForDecision("japancart", tx.transactionId as string);
    const res = await get("/v1/customers/cust-hist/history");
    assert.equal(res.statusCode, 200);
    const body = res.json() as {
      count: number;
      totals: Record<string, number>;
      transactions: { transactionId: string }[];
    };
    assert.equal(body.count, 2);
    assert.deepEqual(body.totals, { JPY: 3500 });
    assert.deepEqual(
      body.transactions.map((t) => t.transactionId),
      txs.map((t) => t.transactionId),
    );
    assert.equal(
      ((await get("/v1/customers/cust-hist/history", otherKey)).json() as { count: number }).count,
      0,
    );
  });

  test("QRY-1 regulatory export streams the period's transactions as NDJSON", async () => {
    const tx = wireTransaction({
      occurredAt: "2026-03-15T10:00:00+09:00",
      customerId: "cust-export",
    });
    await h.app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers: bearer(key),
      payload: JSON.stringify(tx),
    });
    await h.waitForDecision("japancart", tx.transactionId as string);
    const res = await get(
      "/v1/exports/transactions?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z",
    );
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /application\/x-ndjson/);
    const rows = res.body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { transactionId: string; decision: unknown });
    assert.deepEqual(
      rows.map((r) => r.transactionId),
      [tx.transactionId],
    );
    assert.ok(rows[0]!.decision);
    const bad = await get("/v1/exports/transactions?from=2026-03-01T00:00:00Z");
    assert.equal(bad.statusCode, 400);
    assert.equal((bad.json() as { error: { field: string } }).error.field, "to");
  });

  test("OPS-1 healthz, readyz and Prometheus metrics need no key", async () => {
    assert.deepEqual((await h.app.inject({ method: "GET", url: "/healthz" })).json(), {
      status: "ok",
    });
    const ready = await h.app.inject({ method: "GET", url: "/readyz" });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual((ready.json() as { checks: unknown }).checks, {
      stream: "ok",
      history: "ok",
      ledger: "ok",
      processing: "ok",
    });
    const metrics = await h.app.inject({ method: "GET", url: "/metrics" });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.body, /txwatch_ingested_transactions_total\{status="accepted"\} \d+/);
    assert.match(metrics.body, /txwatch_decisions_total\{action="allow"\} \d+/);
    assert.match(metrics.body, /txwatch_ingest_to_decision_seconds_bucket/);
  });
});

describe("a transaction accepted but not yet decided (real PostgreSQL + Redis)", () => {
  let h: Harness;
  let key: string;
  before(async () => {
    // No consumer: what is accepted stays on the stream, undecided.
    h = await startHarness({ kind: "real", process: false });
    key = await h.keyFor("japancart");
  });
  after(() => h.close());

  test("QRY-1 GET an accepted, undecided transaction is 200 pending with what is known, not 404, after waiting for the decision", async () => {
    const tx = wireTransaction();
    const before = Date.now();
    const posted = await h.app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers: bearer(key),
      payload: JSON.stringify(tx),
    });
    assert.equal(posted.statusCode, 202);
    const asked = Date.now();
    const res = await h.app.inject({
      method: "GET",
      url: `/v1/transactions/${tx.transactionId}`,
      headers: bearer(key),
    });
    assert.ok(Date.now() - asked >= PENDING_WAIT_MS, "it waited for the decision first");
    assert.equal(res.statusCode, 200);
    const body = res.json() as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), [
      "merchantId",
      "receivedAt",
      "status",
      "transactionId",
    ]);
    assert.equal(body.status, "pending");
    assert.equal(body.transactionId, tx.transactionId);
    assert.equal(body.merchantId, "japancart");
    assert.ok(Date.parse(body.receivedAt as string) >= before - 1000);
    assert.equal("decision" in body, false, "API.md: the decision only once processed");

    const other = await h.keyFor("fastshop");
    const foreign = await h.app.inject({
      method: "GET",
      url: `/v1/transactions/${tx.transactionId}`,
      headers: bearer(other),
    });
    assert.equal(foreign.statusCode, 404, "another merchant does not see it");
    const unknown = await h.app.inject({
      method: "GET",
      url: "/v1/transactions/never-sent",
      headers: bearer(key),
    });
    assert.equal(unknown.statusCode, 404);
  });
});

for (const kind of ["real", "embedded"] as const)
  describe(`GET right after POST (${kind})`, () => {
    let h: Harness;
    let key: string;
    before(async () => {
      h = await startHarness({ kind });
      key = await h.keyFor("demo");
    });
    after(() => h.close());

    test(`QRY-1 a GET sent as soon as the POST is answered returns the decision in one call (${kind})`, async () => {
      for (let i = 0; i < 3; i++) {
        const tx = wireTransaction({ merchantId: "demo" });
        const posted = await h.app.inject({
          method: "POST",
          url: "/v1/transactions",
          headers: bearer(key),
          payload: JSON.stringify(tx),
        });
        assert.equal(posted.statusCode, 202);
        const res = await h.app.inject({
          method: "GET",
          url: `/v1/transactions/${tx.transactionId}`,
          headers: bearer(key),
        });
        assert.equal(res.statusCode, 200);
        const body = res.json() as { status: string; decision?: { action: string } };
        assert.equal(body.status, "decided", res.body);
        assert.ok(["allow", "review", "block"].includes(body.decision!.action));
      }
    });
  });
