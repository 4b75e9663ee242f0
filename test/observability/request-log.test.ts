import assert from "node:assert/strict";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { alwaysReviewRuleset, TEST_PAN, wireTransaction } from "../support/fixtures.ts";
import { bearer, type Harness, startHarness } from "../support/harness.ts";
import type { LoggedLine } from "../support/log-sink.ts";
import { waitFor } from "../support/wait.ts";

/** The fields every line carries whatever it says (pino's and the logger's base). */
const BASE = new Set(["level", "time", "service", "msg", "reqId"]);
const INFO = 30;
const DEBUG = 20;

function ownFields(line: LoggedLine): Record<string, unknown> {
  return Object.fromEntries(Object.entries(line).filter(([k]) => !BASE.has(k)));
}

/** OPS-4: what the monitor says about each request and each decision, and its HTTP metrics. */
describe("request and decision logs, HTTP and process metrics (embedded)", () => {
  let h: Harness;
  let key: string;
  let seen = 0;

  before(async () => {
    h = await startHarness({ kind: "embedded", ruleset: alwaysReviewRuleset() });
    key = await h.keyFor("japancart");
  });
  after(() => h.close());

  /** The lines logged since the last call. */
  function newLines(): LoggedLine[] {
    const text = h.logs();
    const fresh = text.slice(seen);
    seen = text.length;
    return fresh
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as LoggedLine);
  }

  /** Sends one request and returns the request lines it logged (exactly one is expected). */
  async function requestLines(
    method: "GET" | "POST",
    url: string,
    options: { headers?: Record<string, string>; payload?: unknown } = {},
  ) {
    newLines();
    const res = await h.app.inject({
      method,
      url,
      ...(options.headers !== undefined && { headers: options.headers }),
      ...(options.payload !== undefined && { payload: JSON.stringify(options.payload) }),
    });
    const lines = newLines().filter((l) => "route" in l || /request/.test(l.msg));
    return { res, lines };
  }

  test("OPS-4 one JSON line per request at info: method, route pattern, status, duration, merchant", async () => {
    const tx = wireTransaction();
    const posted = await requestLines("POST", "/v1/transactions", {
      headers: bearer(key),
      payload: tx,
    });
    assert.equal(posted.res.statusCode, 202, posted.res.body);
    assert.equal(posted.lines.length, 1, JSON.stringify(posted.lines));
    const line = posted.lines[0]!;
    assert.equal(line.level, INFO);
    assert.equal(line.msg, "request completed");
    assert.equal(typeof line.reqId, "string");
    const { durationMs, ...rest } = ownFields(line);
    assert.ok(typeof durationMs === "number" && durationMs >= 0, `durationMs ${durationMs}`);
    assert.deepEqual(rest, {
      method: "POST",
      route: "/v1/transactions",
      status: 202,
      merchant: "japancart",
    });

    const unknown = await requestLines("GET", "/v1/transactions/tx-never-sent-7", {
      headers: bearer(key),
    });
    assert.equal(unknown.lines.length, 1);
    const { durationMs: _d, ...notFound } = ownFields(unknown.lines[0]!);
    assert.deepEqual(notFound, {
      method: "GET",
      route: "/v1/transactions/:transactionId",
      status: 404,
      merchant: "japancart",
      code: "TXW_ERR_NOT_FOUND",
    });
    assert.ok(!h.logs().includes("tx-never-sent-7"), "the route pattern, never the path's id");
    assert.ok(!h.logs().includes("incoming request"), "Fastify's first line is gone");
  });

  test("OPS-4 a 403 logs its code, route and merchant; a 401 its code and no merchant", async () => {
    const forbidden = await requestLines("POST", "/v1/transactions", {
      headers: bearer(key),
      payload: wireTransaction({ merchantId: "fastshop" }),
    });
    assert.equal(forbidden.res.statusCode, 403);
    assert.equal(forbidden.lines.length, 1);
    assert.equal(forbidden.lines[0]!.level, INFO);
    assert.deepEqual(
      { ...ownFields(forbidden.lines[0]!), durationMs: 0 },
      {
        method: "POST",
        route: "/v1/transactions",
        status: 403,
        merchant: "japancart",
        code: "TXW_ERR_FORBIDDEN",
        durationMs: 0,
      },
    );
    assert.ok(!h.logs().includes(TEST_PAN), "the body's card number is in no line");

    const unauthenticated = await requestLines("GET", "/v1/alerts", {
      headers: { authorization: "Bearer txw_nope" },
    });
    assert.equal(unauthenticated.res.statusCode, 401);
    assert.equal(unauthenticated.lines.length, 1);
    const line = ownFields(unauthenticated.lines[0]!);
    assert.equal(line.code, "TXW_ERR_UNAUTHENTICATED");
    assert.equal(line.route, "/v1/alerts");
    assert.equal("merchant" in line, false);
    assert.ok(!h.logs().includes("txw_nope"), "no key in the log");
  });

  test("OPS-4 probes are logged at debug", async () => {
    for (const url of ["/healthz", "/readyz", "/metrics", "/openapi.json"]) {
      const { res, lines } = await requestLines("GET", url);
      assert.equal(res.statusCode, 200, url);
      assert.equal(lines.length, 1, url);
      assert.equal(lines[0]!.level, DEBUG, url);
      assert.equal(lines[0]!.route, url);
      assert.equal(lines[0]!.status, 200);
    }
  });

  test("OPS-4 a path no route serves is route unmatched, the path in no line", async () => {
    const cases = [
      { url: "/v1/nothing/secret-path-1", status: 404, code: "TXW_ERR_NOT_FOUND" },
      // Served with GET only: the not-found handler answers 405.
      { url: "/v1/alerts/secret-path-2/acknowledge", status: 405, method: "GET" as const },
      // Refused by the router before any hook (frameworkErrors).
      { url: "/v1/transactions/%zz-secret-path-3", status: 400, code: "TXW_ERR_VALIDATION" },
    ];
    for (const c of cases) {
      const { res, lines } = await requestLines(c.method ?? "GET", c.url, {
        headers: bearer(key),
      });
      assert.equal(res.statusCode, c.status, `${c.url} ${res.body}`);
      assert.equal(lines.length, 1, `${c.url}: ${JSON.stringify(lines)}`);
      assert.equal(lines[0]!.route, "unmatched", c.url);
      assert.equal(lines[0]!.status, c.status);
      if (c.code !== undefined) assert.equal(lines[0]!.code, c.code);
    }
    assert.doesNotMatch(h.logs(), /secret-path/);
  });

  test("OPS-4 an event stream the client closes is one line when it closes, with its duration", async () => {
    await h.app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = h.app.server.address() as AddressInfo;
    newLines();
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port, path: "/v1/alerts/stream", headers: bearer(key) },
        (res) => {
          // Connected (the first comment arrived): the client leaves a moment later.
          res.once("data", () => setTimeout(() => req.destroy(), 100));
          res.once("close", resolve);
        },
      );
      req.once("error", () => {});
      req.once("close", () => resolve());
      setTimeout(() => reject(new Error("the stream did not close")), 5000);
      req.end();
    });
    const line = await waitFor(
      "the stream's line",
      async () => newLines().find((l) => l.route === "/v1/alerts/stream"),
      5000,
    );
    assert.equal(line.level, INFO);
    assert.equal(line.status, 200);
    assert.equal(line.merchant, "japancart");
    assert.equal(line.closedByClient, true);
    assert.ok((line.durationMs as number) >= 90, `durationMs ${line.durationMs}`);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(
      newLines().filter((l) => l.route === "/v1/alerts/stream").length,
      0,
      "one line, not two",
    );
  });

  test("OPS-4 HTTP request count and duration by method, route pattern and status; unknown paths are one label", async () => {
    for (let i = 0; i < 30; i++) {
      await h.app.inject({ method: "GET", url: `/random-${i}/${i * 7}` });
    }
    await h.app.inject({ method: "GET", url: "/v1/transactions/tx-none", headers: bearer(key) });
    const metrics = await h.deps.metrics.registry.getMetricsAsJSON();
    const requests = metrics.find((m) => m.name === "txwatch_http_requests_total");
    const duration = metrics.find((m) => m.name === "txwatch_http_request_duration_seconds");
    assert.ok(requests && duration, "both are exported");
    const series = requests.values.map((v) => v.labels as Record<string, string>);
    assert.ok(
      series.some(
        (l) =>
          l.method === "GET" && l.route === "/v1/transactions/:transactionId" && l.status === "404",
      ),
    );
    const unmatched = requests.values.filter(
      (v) =>
        v.labels.route === "unmatched" && v.labels.status === "404" && v.labels.method === "GET",
    );
    assert.equal(unmatched.length, 1, "every unknown path counts under one label set");
    assert.ok((unmatched[0]!.value as number) >= 30);
    const routes = new Set(series.map((l) => l.route));
    for (const route of routes) {
      assert.ok(route === "unmatched" || !/random|tx-none/.test(String(route)), String(route));
    }
    const buckets = duration.values.filter(
      (v) =>
        v.labels.route === "/v1/transactions/:transactionId" &&
        v.labels.status === "404" &&
        v.labels.le === "+Inf",
    );
    assert.equal(buckets.length, 1);
    assert.ok((buckets[0]!.value as number) >= 1);
  });

  test("OPS-4 process metrics carry prom-client's conventional names, unprefixed", async () => {
    const res = await h.app.inject({ method: "GET", url: "/metrics" });
    const names = new Set(
      res.body
        .split("\n")
        .filter((l) => l.startsWith("# TYPE "))
        .map((l) => l.split(" ")[2]),
    );
    for (const name of [
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_seconds",
      "nodejs_eventloop_lag_p99_seconds",
      "nodejs_heap_size_used_bytes",
    ]) {
      assert.ok(names.has(name), name);
    }
    assert.doesNotMatch(res.body, /txwatch_process_/);
  });

  test("OPS-4 each decision at debug and each alert at info, with ids and no card data", async () => {
    newLines();
    const tx = wireTransaction();
    const posted = await h.app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers: bearer(key),
      payload: JSON.stringify(tx),
    });
    assert.equal(posted.statusCode, 202, posted.body);
    const id = tx.transactionId as string;
    const stored = await h.waitForDecision("japancart", id);
    const lines: LoggedLine[] = [];
    const alertLine = await waitFor(
      "the alert's line",
      async () => {
        lines.push(...newLines());
        return lines.find((l) => l.msg === "alert raised" && l.transactionId === id);
      },
      5000,
    );
    const decided = lines.filter((l) => l.msg === "transaction decided" && l.transactionId === id);
    assert.equal(decided.length, 1);
    assert.equal(decided[0]!.level, DEBUG);
    assert.deepEqual(ownFields(decided[0]!), {
      merchant: "japancart",
      transactionId: id,
      action: "review",
      score: stored.decision.score,
      rules: ["any-amount"],
    });
    const alert = (await h.ledger.listAlerts("japancart", {}, { limit: 100 })).items.find(
      (a) => a.transactionId === id,
    );
    assert.ok(alert, "the alert is stored");
    assert.equal(alertLine.level, INFO);
    assert.deepEqual(ownFields(alertLine), {
      merchant: "japancart",
      transactionId: id,
      rule: "any-amount",
      action: "review",
      alertId: alert.id,
    });
    const text = JSON.stringify([...decided, alertLine]);
    assert.ok(!text.includes(TEST_PAN) && !text.includes("1111"), "no card number");
    assert.doesNotMatch(text, /card|token|bin|last4/i, "no card field at all");
  });
});
