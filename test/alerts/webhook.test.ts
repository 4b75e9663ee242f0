import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { AlertHub } from "../../src/alerts/hub.ts";
import { fanOut } from "../../src/alerts/publisher.ts";
import { webhookPublisher } from "../../src/alerts/webhook.ts";
import { postAlerts } from "../../src/alerts/webhook-delivery.ts";
import { RedisHistoryStore } from "../../src/history/index.ts";
import { openPostgresLedger, type SqlLedger } from "../../src/ledger/index.ts";
import type { Alert } from "../../src/ledger/types.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics, type Metrics } from "../../src/observability/metrics.ts";
import { processBatch } from "../../src/processor/process-batch.ts";
import { parseRuleset } from "../../src/rules/index.ts";
import { record } from "../processor/process-batch.suite.ts";
import {
  connectTestRedis,
  DATABASE_URL,
  deleteKeys,
  dropSchema,
  uniqueName,
} from "../support/services.ts";

let nextId = 0;
function alert(overrides: Partial<Alert> = {}): Alert {
  nextId++;
  return {
    id: String(nextId),
    merchantId: "japancart",
    transactionId: `tx-${nextId}`,
    customerId: "cust-1",
    rule: "card-testing-card-10m",
    action: "review",
    score: 50,
    detail: "card made 6 transactions in 10m (limit 4)",
    status: "open",
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    notes: [],
    ...overrides,
  };
}

type Handler = (body: { alerts: Alert[] }, res: ServerResponse) => void;

/** A real local HTTP server whose behaviour each test sets; it records every body it got. */
class HookServer {
  received: { alerts: Alert[] }[] = [];
  handler: Handler = (_body, res) => res.writeHead(204).end();
  url = "";
  private server: Server | null = null;

  async start(): Promise<void> {
    const server = createServer((req: IncomingMessage, res) => {
      let text = "";
      req.on("data", (c) => (text += c));
      req.on("end", () => this.handler(JSON.parse(text) as { alerts: Alert[] }, res));
    });
    this.server = server;
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  }

  ids(): string[] {
    return this.received.flatMap((b) => b.alerts.map((a) => a.id));
  }

  close(): Promise<void> {
    this.server!.closeAllConnections();
    return new Promise((r) => this.server!.close(() => r()));
  }
}

async function counter(metric: { get(): Promise<{ values: { value: number }[] }> }) {
  return (await metric.get()).values.reduce((n, v) => n + v.value, 0);
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function logSink() {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { log: createLogger("info", sink), text: () => chunks.join("") };
}

/** PRC-5: one delivery to a real local HTTP server, with bounded retries. */
describe("webhook delivery", () => {
  const hook = new HookServer();
  let failuresLeft = 0;
  let status = 204;
  before(async () => {
    await hook.start();
    hook.handler = (body, res) => {
      if (failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(503).end();
        return;
      }
      hook.received.push(body);
      res.writeHead(status).end();
    };
  });
  after(() => hook.close());

  test("PRC-5 new alerts are POSTed as { alerts: [...] }, after transient failures", async () => {
    hook.received.length = 0;
    failuresLeft = 2;
    const a = alert();
    await postAlerts([a], { url: hook.url, attempts: 3 });
    assert.deepEqual(hook.received, [{ alerts: [a] }]);
  });

  test("PRC-5 a webhook that keeps failing is reported, not retried forever", async () => {
    hook.received.length = 0;
    failuresLeft = 10;
    await assert.rejects(postAlerts([alert()], { url: hook.url, attempts: 2 }), /503/);
    failuresLeft = 0;
  });

  test("PRC-5 a 4xx is final: no retry", async () => {
    hook.received.length = 0;
    status = 400;
    await assert.rejects(postAlerts([alert()], { url: hook.url, attempts: 3 }), /400/);
    assert.equal(hook.received.length, 1, "sent once");
    status = 204;
  });
});

/** PRC-5: the webhook delivers from a bounded background queue, never inside the batch. */
describe("webhook publisher (background queue)", () => {
  const hook = new HookServer();
  let metrics: Metrics;
  before(() => hook.start());
  after(() => hook.close());

  test("PRC-5 a slow webhook does not hold up processing: the batch commits at once, the alert arrives later", async () => {
    const schema = uniqueName("txw_test");
    const prefix = uniqueName("txwtest");
    const ledger: SqlLedger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    const redis = await connectTestRedis();
    const history = new RedisHistoryStore(redis, prefix);
    const SLOW_MS = 3000;
    hook.received.length = 0;
    hook.handler = (body, res) =>
      setTimeout(() => {
        hook.received.push(body);
        res.writeHead(204).end();
      }, SLOW_MS);
    metrics = createMetrics();
    const { log } = logSink();
    const webhook = webhookPublisher({ url: hook.url, timeoutMs: 10_000, log, metrics });
    try {
      await ledger.migrate();
      // Every transaction is reviewed, so each raises an alert.
      const ruleset = parseRuleset(
        JSON.stringify({
          name: "always-review",
          thresholds: { review: 10, block: 90 },
          rules: [{ id: "any-amount", kind: "high_amount", minAmount: { "*": 1 }, score: 20 }],
        }),
        "json",
      );
      const records = [record({ customerId: "wh-1" }), record({ customerId: "wh-2" })];
      const started = Date.now();
      const response = await processBatch(records, {
        history,
        ledger,
        ruleset: () => ruleset,
        alerts: fanOut([new AlertHub(), webhook]),
        log,
        metrics,
        source: "local",
      });
      const elapsed = Date.now() - started;
      assert.deepEqual(response.batchItemFailures, []);
      const stored = await ledger.listAlerts("japancart", { customerId: "wh-1" }, { limit: 10 });
      assert.equal(stored.items.length, 1, "the alert is committed");
      assert.ok(elapsed < SLOW_MS / 2, `the batch took ${elapsed} ms with a ${SLOW_MS} ms webhook`);
      assert.equal(hook.received.length, 0, "the webhook has not answered yet");
      await until(() => hook.received.length > 0, SLOW_MS + 3000);
      assert.deepEqual(hook.received.flatMap((b) => b.alerts.map((a) => a.customerId)).sort(), [
        "wh-1",
        "wh-2",
      ]);
      assert.equal(await counter(metrics.alertPublishFailures), 0);
    } finally {
      await webhook.close(1000);
      await history.close();
      await ledger.close();
      await dropSchema(schema);
      const cleanup = await connectTestRedis();
      await deleteKeys(cleanup, prefix);
      cleanup.disconnect();
    }
  });

  test("PRC-5 the queue is bounded: when full the oldest alerts are dropped, counted and logged", async () => {
    hook.received.length = 0;
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    hook.handler = (body, res) => {
      void held.then(() => {
        hook.received.push(body);
        res.writeHead(204).end();
      });
    };
    metrics = createMetrics();
    const logs = logSink();
    const webhook = webhookPublisher({
      url: hook.url,
      capacity: 5,
      maxBatch: 2,
      timeoutMs: 10_000,
      log: logs.log,
      metrics,
    });
    const first = alert();
    await webhook.publish([first]);
    await until(() => webhook.queued() === 0, 1000); // in flight, held by the server
    const burst = Array.from({ length: 9 }, () => alert());
    await webhook.publish(burst);
    assert.equal(webhook.queued(), 5);
    assert.equal(await counter(metrics.alertWebhookDropped), 4);
    assert.equal(await counter(metrics.alertWebhookQueued), 5);
    assert.match(logs.text(), /webhook alerts dropped: the queue is full/);
    assert.ok(
      !logs.text().includes(hook.url),
      "the webhook URL (it may carry a token) is not logged",
    );
    release();
    assert.equal(await webhook.flush(5000), true);
    assert.deepEqual(hook.ids(), [first.id, ...burst.slice(4).map((a) => a.id)]);
    assert.equal(await counter(metrics.alertWebhookQueued), 0);
    await webhook.close();
  });

  test("PRC-5 a request that hangs times out and counts as a failed delivery", async () => {
    hook.received.length = 0;
    hook.handler = () => {}; // never answers
    metrics = createMetrics();
    const logs = logSink();
    const webhook = webhookPublisher({
      url: hook.url,
      timeoutMs: 200,
      attempts: 1,
      log: logs.log,
      metrics,
    });
    const started = Date.now();
    await webhook.publish([alert(), alert()]);
    assert.ok(Date.now() - started < 100, "publish does not wait for the webhook");
    assert.equal(await webhook.flush(3000), true);
    assert.ok(Date.now() - started < 2000);
    assert.equal(await counter(metrics.alertPublishFailures), 2);
    assert.match(logs.text(), /webhook delivery failed/);
    await webhook.close();
  });

  test("PRC-5 close flushes what is queued, and gives up after its cap", async () => {
    hook.received.length = 0;
    hook.handler = (body, res) => {
      hook.received.push(body);
      res.writeHead(204).end();
    };
    metrics = createMetrics();
    const webhook = webhookPublisher({ url: hook.url, maxBatch: 2, metrics });
    const alerts = Array.from({ length: 5 }, () => alert());
    await webhook.publish(alerts);
    await webhook.close(5000);
    assert.deepEqual(
      hook.ids(),
      alerts.map((a) => a.id),
    );
    await webhook.publish([alert()]);
    assert.equal(await counter(metrics.alertWebhookDropped), 1, "nothing is taken after close");

    hook.handler = () => {}; // never answers
    const stuck = createMetrics();
    const logs = logSink();
    const slow = webhookPublisher({
      url: hook.url,
      maxBatch: 2,
      timeoutMs: 60_000,
      log: logs.log,
      metrics: stuck,
    });
    await slow.publish(Array.from({ length: 5 }, () => alert()));
    const started = Date.now();
    await slow.close(300);
    assert.ok(Date.now() - started < 1500, "close is capped");
    assert.equal(await counter(stuck.alertWebhookDropped), 5, "in flight and queued are counted");
    assert.match(logs.text(), /the process stopped before they were delivered/);
  });
});
