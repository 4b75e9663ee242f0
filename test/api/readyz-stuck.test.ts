import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { AlertHub } from "../../src/alerts/hub.ts";
import { MemoryClaimStore } from "../../src/claims/index.ts";
import { MemoryHistoryStore } from "../../src/history/index.ts";
import type { HistoryStore } from "../../src/history/types.ts";
import { openEmbeddedLedger, type SqlLedger } from "../../src/ledger/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { defaultRuleset } from "../../src/rules/index.ts";
import { type Pipeline, startPipeline } from "../../src/runtime/pipeline.ts";
import { LocalLogStream } from "../../src/stream/index.ts";
import { partitionOf } from "../../src/stream/partition.ts";
import { record } from "../processor/process-batch.suite.ts";

interface Readiness {
  status: string;
  checks: Record<string, string>;
  dependencies: Record<string, string>;
  stuck: { partition: string; oldestAgeSeconds: number; records?: number }[];
  error?: { code: string; message: string };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * REL-5 through the wiring `txwatch start` uses (startPipeline): a history store that fails
 * every call while `down`, so the processor cannot get past its partition.
 */
describe("readiness with a stuck partition (embedded)", () => {
  let ledger: SqlLedger;
  let stream: LocalLogStream;
  let pipeline: Pipeline;
  let down = true;
  before(async () => {
    ledger = await openEmbeddedLedger({});
    await ledger.migrate();
    const memory = new MemoryHistoryStore();
    const history: HistoryStore = Object.create(memory);
    history.recordBatch = async (items, now) => {
      if (down) throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
      return memory.recordBatch(items, now);
    };
    stream = new LocalLogStream({
      partitions: 2,
      stuckAfterMs: 300,
      retry: { baseMs: 20, maxMs: 50 },
    });
    const hub = new AlertHub();
    const ruleset = defaultRuleset();
    pipeline = await startPipeline(
      {
        ledger,
        history,
        claims: new MemoryClaimStore(),
        stream,
        tokenKey: Buffer.alloc(32, 1),
        hub,
        alerts: hub,
        metrics: createMetrics(),
        log: createLogger("silent", new Writable({ write: (_c, _e, done) => done() })),
        ruleset,
        source: "local",
      },
      { rateLimitPerMinute: 10_000, bodyLimitBytes: 1 << 20, batchSize: 50, idleMs: 10 },
    );
  });
  after(async () => {
    await pipeline.stop();
    await stream.close();
    await ledger.close();
  });

  async function readyz(): Promise<{ status: number; body: Readiness }> {
    const res = await pipeline.app.inject({ method: "GET", url: "/readyz" });
    return { status: res.statusCode, body: res.json() as Readiness };
  }

  async function gauge(name: string, partition: string): Promise<number | undefined> {
    const res = await pipeline.app.inject({ method: "GET", url: "/metrics" });
    const line = res.body
      .split("\n")
      .find((l) => l.startsWith(`${name}{partition="${partition}"} `));
    return line === undefined ? undefined : Number(line.split(" ")[1]);
  }

  test("REL-5 /readyz answers 503 naming a partition stuck past the threshold, the gauges show its backlog, and it is ready again once the partition moves", async () => {
    assert.equal((await readyz()).status, 200);
    const batch = Array.from({ length: 4 }, () => record({ customerId: "c-stuck" }));
    await stream.put(batch.map((r) => ({ partitionKey: r.partitionKey, data: r.data })));
    const partition = String(partitionOf("c-stuck", 2));

    let answer = await readyz();
    const deadline = Date.now() + 5000;
    while (answer.status === 200 && Date.now() < deadline) {
      await sleep(50);
      answer = await readyz();
    }
    assert.equal(answer.status, 503);
    assert.equal(answer.body.status, "not_ready");
    assert.equal(answer.body.checks.processing, "stuck");
    assert.deepEqual(answer.body.dependencies, { ledger: "up", history: "up", stream: "up" });
    assert.equal(answer.body.error?.code, "TXW_ERR_UNAVAILABLE");
    assert.match(answer.body.error!.message, new RegExp(`partition ${partition} stuck`));
    assert.equal(answer.body.stuck.length, 1);
    assert.equal(answer.body.stuck[0]!.partition, partition);
    assert.equal(answer.body.stuck[0]!.records, 4);
    assert.equal(await gauge("txwatch_stream_lag_records", partition), 4);
    assert.ok((await gauge("txwatch_stream_oldest_age_seconds", partition))! >= 0.3);

    down = false;
    const recovered = Date.now() + 5000;
    while ((await readyz()).status !== 200 && Date.now() < recovered) await sleep(20);
    const ready = await readyz();
    assert.equal(ready.status, 200);
    assert.equal(ready.body.checks.processing, "ok");
    assert.deepEqual(ready.body.stuck, []);
    for (const r of batch) assert.ok(await ledger.getTransaction("japancart", r.tx.transactionId));
    while (stream.lag() > 0 && Date.now() < recovered) await sleep(10);
    assert.equal(await gauge("txwatch_stream_lag_records", partition), 0);
    assert.equal(await gauge("txwatch_stream_oldest_age_seconds", partition), 0);
  });
});
