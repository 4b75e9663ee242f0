import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiError, ValidationError } from "../../src/errors.ts";
import {
  formatSummary,
  LABELS,
  planTraffic,
  runSimulation,
  type SimulationOptions,
} from "../../src/simulate/index.ts";
import { isRfc3339WithOffset } from "../../src/transaction/schema.ts";
import type { Action } from "../../src/transaction/types.ts";
import { freePort } from "../support/loopback.ts";
import { fakeMonitor } from "./fake-monitor.ts";

const base: SimulationOptions = {
  url: "http://monitor.test",
  apiKey: "txw_test_key",
  merchantId: "demo",
  currency: "JPY",
  rate: 50,
  durationSeconds: 1,
  seed: 7,
  decisionWaitSeconds: 0,
};

describe("simulate runSimulation", () => {
  test("OPS-2 a 2 s run at 50 tx/s sends about 100 transactions, paced, then stops", async () => {
    const monitor = fakeMonitor();
    const progress: number[] = [];
    const started = performance.now();
    const summary = await runSimulation(
      { ...base, durationSeconds: 2, runId: "pace" },
      { fetch: monitor.fetch, onProgress: (sent) => progress.push(sent) },
    );
    const elapsed = performance.now() - started;
    const sent = monitor.sent();
    assert.ok(sent.length >= 95 && sent.length <= 100, `sent ${sent.length}`);
    assert.equal(summary.sent, sent.length);
    assert.equal(summary.accepted, sent.length);
    assert.ok(elapsed >= 1800 && elapsed < 3000, `took ${elapsed} ms`);
    // Paced, not dumped: ticks at 0, 0.5 and 1 s carry about half of it before 1.25 s.
    const early = monitor.posts.filter((p) => p.at < 1250).flatMap((p) => p.transactions).length;
    assert.ok(early >= 40 && early <= 62, `${early} before 1.25 s`);
    assert.ok(monitor.posts.every((p) => p.transactions.length <= 50));
    assert.ok(monitor.posts.every((p) => p.headers.authorization === "Bearer txw_test_key"));
    assert.ok(monitor.posts.every((p) => p.headers["content-type"] === "application/json"));
    assert.equal(new Set(sent.map((t) => t.transactionId)).size, sent.length, "unique ids");
    assert.ok(sent.every((t) => t.transactionId.startsWith("pace-")));
    for (const t of sent) {
      const occurredAt = String(t.occurredAt);
      assert.ok(isRfc3339WithOffset(occurredAt) && occurredAt.endsWith("+09:00"), occurredAt);
      assert.ok(Date.parse(occurredAt) <= Date.now() + 1000);
    }
    assert.equal(progress.at(-1), sent.length);
    assert.ok(progress.every((v, i) => i === 0 || v >= progress[i - 1]!));
  });

  test("OPS-2 sending stops at the duration even when the monitor is slower than the rate", async () => {
    const monitor = fakeMonitor({ latencyMs: 400 });
    const started = performance.now();
    const summary = await runSimulation(
      { ...base, rate: 200, durationSeconds: 1, batchSize: 5, concurrency: 1 },
      { fetch: monitor.fetch },
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1900, `took ${elapsed} ms`);
    assert.equal(summary.planned, 200);
    assert.ok(summary.sent < 50, `sent ${summary.sent}`);
    assert.equal(summary.sent, monitor.sent().length);
  });

  test("OPS-2 a 429 is retried after its Retry-After with the same transactions", async () => {
    const monitor = fakeMonitor({
      postReply: (call) =>
        call === 0 ? { status: 429, headers: { "retry-after": "1" } } : undefined,
    });
    const summary = await runSimulation(
      { ...base, rate: 5, durationSeconds: 0.2 },
      { fetch: monitor.fetch },
    );
    const [refused, retried] = monitor.posts;
    assert.equal(refused?.status, 429);
    assert.deepEqual(
      retried?.transactions.map((t) => t.transactionId),
      refused?.transactions.map((t) => t.transactionId),
    );
    assert.ok(retried!.at - refused!.at >= 950, `retried after ${retried!.at - refused!.at} ms`);
    assert.equal(summary.rejected, 0);
    assert.equal(summary.accepted, summary.sent);
  });

  test("OPS-2 503 is retried a bounded number of times, then the batch counts as rejected", async () => {
    const monitor = fakeMonitor({
      postReply: () => ({ status: 503, headers: { "retry-after": "0" } }),
    });
    const summary = await runSimulation(
      { ...base, rate: 10, durationSeconds: 0.1, maxRetries: 2 },
      { fetch: monitor.fetch },
    );
    assert.equal(summary.sent, 1);
    assert.equal(monitor.posts.length, 3);
    assert.equal(summary.rejected, 1);
    assert.deepEqual(
      summary.rejections.map((r) => r.code),
      ["TXW_ERR_UNAVAILABLE"],
    );
  });

  // Decisions by amount, and not processed on the first look, like a real pipeline.
  const actionOf = (amount: number): Action =>
    amount >= 200_000 ? "block" : amount < 500 ? "review" : "allow";

  async function scriptedRun(exports: boolean) {
    const options: SimulationOptions = {
      ...base,
      rate: 200,
      durationSeconds: 1,
      fraudRatio: 0.3,
      runId: "counts",
      decisionWaitSeconds: 5,
      pollIntervalMs: 20,
    };
    const monitor = fakeMonitor({
      exports,
      itemStatus: (_tx, i) => (i % 37 === 5 ? "rejected" : i % 41 === 7 ? "duplicate" : "accepted"),
      decide: (tx, look) => (look === 0 ? undefined : actionOf(tx.amount)),
    });
    const summary = await runSimulation(options, { fetch: monitor.fetch });
    const planned = [
      ...planTraffic({
        seed: 7,
        currency: "JPY",
        merchantId: "demo",
        namespace: "counts",
        total: 200,
        fraudRatio: 0.3,
      }),
    ];
    const sent = monitor.sent();
    assert.equal(sent.length, 200);
    const rows = LABELS.map((label) => {
      const mine = sent
        .map((tx, i) => ({ tx, i, planned: planned[i]! }))
        .filter((x) => x.planned.label === label);
      assert.ok(
        mine.every((x) => x.planned.body.amount === x.tx.amount),
        "ids follow the plan",
      );
      const accepted = mine.filter((x) => x.i % 37 !== 5);
      const count = (a: Action) => accepted.filter((x) => actionOf(x.tx.amount) === a).length;
      return {
        label,
        sent: mine.length,
        accepted: accepted.length,
        rejected: mine.length - accepted.length,
        decided: accepted.length,
        allow: count("allow"),
        review: count("review"),
        block: count("block"),
      };
    });
    assert.deepEqual(
      summary.labels.map(({ label, sent, accepted, rejected, decided, allow, review, block }) => ({
        label,
        sent,
        accepted,
        rejected,
        decided,
        allow,
        review,
        block,
      })),
      rows,
    );
    assert.ok(rows.filter((r) => r.label !== "normal").some((r) => r.sent > 0));
    assert.equal(summary.undecided, 0);
    assert.equal(summary.decided, summary.accepted);
    assert.deepEqual(
      summary.rejections.map((r) => r.code),
      ["TXW_ERR_VALIDATION"],
    );
    assert.deepEqual(summary.decisionLatencyMs, { p50: 20, p95: 20 });
    const normal = summary.labels.find((l) => l.label === "normal")!;
    assert.equal(normal.flaggedPct, (100 * (normal.review + normal.block)) / normal.decided);
    return { monitor, summary, planned };
  }

  test("OPS-2 the summary counts what a scripted monitor decided, per label (bulk export)", async () => {
    const { monitor, summary, planned } = await scriptedRun(true);
    assert.ok(monitor.exports.length >= 2, "read in bulk, again until all are in");
    // Only steps backdated beyond the live window are asked for one by one.
    const backdated = new Set(
      monitor
        .sent()
        .filter((_, i) => planned[i]!.offsetMs < -2 * 60_000)
        .map((tx) => tx.transactionId),
    );
    assert.ok(backdated.size > 0 && backdated.size < summary.accepted);
    assert.ok(
      [...monitor.gets.keys()].every((id) => backdated.has(id)),
      "live ones come in bulk",
    );
  });

  test("OPS-2 without the export, each decision is read by id: 404 first, then the decision", async () => {
    const { monitor, summary } = await scriptedRun(false);
    assert.equal(monitor.gets.size, summary.accepted);
    assert.ok([...monitor.gets.values()].every((n) => n === 2));
  });

  test("OPS-2 decisions still missing when the wait ends are reported as undecided", async () => {
    const monitor = fakeMonitor({ decide: () => undefined });
    const started = performance.now();
    const summary = await runSimulation(
      { ...base, rate: 20, durationSeconds: 0.2, decisionWaitSeconds: 0.5, pollIntervalMs: 100 },
      { fetch: monitor.fetch },
    );
    assert.ok(performance.now() - started < 1500);
    assert.equal(summary.decided, 0);
    assert.equal(summary.undecided, summary.accepted);
  });

  test("OPS-2 formatSummary shows every label and ends with the operator's line", async () => {
    const monitor = fakeMonitor({
      decide: (tx) => (tx.amount >= 100_000 || tx.amount < 500 ? "review" : "allow"),
    });
    const summary = await runSimulation(
      {
        ...base,
        rate: 300,
        durationSeconds: 1,
        fraudRatio: 0.3,
        decisionWaitSeconds: 5,
        pollIntervalMs: 20,
      },
      { fetch: monitor.fetch },
    );
    const text = formatSummary(summary);
    for (const label of LABELS) assert.match(text, new RegExp(`^${label} `, "m"));
    const lines = text.trimEnd().split("\n");
    assert.match(
      lines.at(-1)!,
      /^normal traffic allowed: [<>]?\d+(\.\d)?% · patterns flagged: card_testing [<>]?\d+(\.\d)?%/,
    );
    for (const name of LABELS.slice(1)) assert.match(lines.at(-1)!, new RegExp(`${name} [<>]?\\d`));
    // The two percentages are explained, and each pattern names the rules that fired on it.
    assert.match(
      text,
      /^flagged: the share of a label's decided transactions reviewed or blocked/m,
    );
    assert.match(
      text,
      /^bursts \(one injected pattern each\), those with at least one transaction flagged/m,
    );
    const fired = lines.slice(lines.indexOf("rules that fired:") + 1, -2);
    const cardTesting = summary.labels.find((l) => l.label === "card_testing")!;
    assert.ok(cardTesting.review > 0);
    assert.deepEqual(cardTesting.rules, [{ rule: "scripted-review", count: cardTesting.review }]);
    assert.ok(
      fired.some((l) => /^ {2}card_testing +scripted-review \d+$/.test(l)),
      fired.join("\n"),
    );
    // Aligned: every table row is as wide as the header.
    const header = lines.findIndex((l) => l.startsWith("label"));
    const table = lines.slice(header, header + LABELS.length + 2);
    assert.ok(
      table.every((l) => l.length === table[0]!.length),
      table.join("\n"),
    );
  });

  test("OPS-2 a refused API key stops the run with the monitor's reason", async () => {
    const monitor = fakeMonitor({ status: 401 });
    await assert.rejects(
      runSimulation(base, { fetch: monitor.fetch }),
      (e: unknown) =>
        e instanceof ApiError && e.code === "TXW_ERR_UNAUTHENTICATED" && /401/.test(e.message),
    );
  });

  test("OPS-2 an address where nothing answers ends the run with one line saying so, not a summary", async () => {
    const port = await freePort();
    await assert.rejects(
      runSimulation({ ...base, url: `http://127.0.0.1:${port}`, maxRetries: 1 }),
      (e: unknown) =>
        e instanceof Error &&
        e.message ===
          `cannot reach the monitor at http://127.0.0.1:${port} (ECONNREFUSED); is it running?`,
    );
  });

  test("OPS-2 an abort stops sending and waiting; the summary says so", async () => {
    const monitor = fakeMonitor({ decide: () => undefined });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = performance.now();
    const summary = await runSimulation(
      { ...base, rate: 50, durationSeconds: 10, decisionWaitSeconds: 30 },
      { fetch: monitor.fetch, signal: controller.signal },
    );
    assert.ok(performance.now() - started < 1500);
    assert.equal(summary.aborted, true);
    assert.ok(summary.sent > 0 && summary.sent < 100);
  });

  test("OPS-2 bad options are refused naming the field", async () => {
    const cases: [Partial<SimulationOptions>, string][] = [
      [{ currency: "USD" as "JPY" }, "currency"],
      [{ rate: 0 }, "rate"],
      [{ durationSeconds: Number.NaN }, "durationSeconds"],
      [{ batchSize: 501 }, "batchSize"],
      [{ fraudRatio: 2 }, "fraudRatio"],
      [{ url: "monitor.test" }, "url"],
      [{ runId: "has space" }, "runId"],
    ];
    for (const [patch, field] of cases) {
      await assert.rejects(
        runSimulation({ ...base, ...patch }, { fetch: fakeMonitor().fetch }),
        (e: unknown) => e instanceof ValidationError && e.field === field,
        field,
      );
    }
  });
});
