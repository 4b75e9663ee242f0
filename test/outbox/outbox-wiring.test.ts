import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "../../src/config.ts";
import { type Monitor, startMonitor } from "../../src/runtime/monitor.ts";
import { AlertReceiver } from "../support/alert-receiver.ts";
import { wireTransaction } from "../support/fixtures.ts";
import { logSink } from "../support/log-sink.ts";
import { until } from "./alert-outbox.suite.ts";

/**
 * The local monitor with ALERT_WEBHOOK_URL (REL-6): the webhook is delivered by the outbox from
 * the embedded ledger on disk, woken by the processor after each commit; a slow receiver never
 * holds up processing, and what a stopped monitor had not delivered goes out after its restart.
 */
describe("txwatch start with a webhook: the alert outbox", () => {
  let dir: string;
  const receiver = new AlertReceiver();
  let monitor: Monitor | undefined;
  let key: string;

  const start = async () => {
    const { log } = logSink("info");
    monitor = await startMonitor(
      loadConfig({
        TXWATCH_DATA_DIR: dir,
        PORT: "0",
        TXWATCH_RULESET: join(dir, "always-review.json"),
        ALERT_WEBHOOK_URL: receiver.url,
      }),
      log,
    );
    key = monitor.firstApiKey ?? key;
    return monitor;
  };

  const ingest = async (customerId: string, n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const tx = wireTransaction({ merchantId: "demo", customerId });
      const res = await fetch(`${monitor!.url}/v1/transactions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(tx),
      });
      assert.equal(res.status, 202);
      ids.push(tx.transactionId as string);
    }
    return ids;
  };

  const transactionsAlerted = () => receiver.taken.map((a) => a.transactionId);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "txwatch-outbox-"));
    // Every transaction is reviewed, so each raises one alert.
    writeFileSync(
      join(dir, "always-review.json"),
      JSON.stringify({
        name: "always-review",
        thresholds: { review: 10, block: 90 },
        rules: [{ id: "any-amount", kind: "high_amount", minAmount: { "*": 1 }, score: 20 }],
      }),
    );
    await receiver.start();
    await start();
  });
  after(async () => {
    await monitor?.close();
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("REL-6 PRC-5 an alert reaches the webhook from the ledger soon after its commit, and a slow receiver does not hold up processing", async () => {
    const first = await ingest("cust-a", 1);
    await until(() => transactionsAlerted().includes(first[0]!), 5000, "first alert delivered");

    receiver.answer = () => ({ status: 204, delayMs: 3000 });
    const slow = await ingest("cust-b", 2);
    const ledger = monitor!.runtime.ledger;
    const started = Date.now();
    for (const id of slow) {
      await until(
        async () => (await ledger.getTransaction("demo", id)) !== null,
        2500,
        "decided while the webhook is busy",
      );
    }
    assert.ok(Date.now() - started < 2500);
    await until(
      () => slow.every((id) => transactionsAlerted().includes(id)),
      10_000,
      "the slow receiver got them",
    );
    receiver.answer = () => 204;
  });

  test("REL-6 what a stopped monitor had not delivered (its receiver down) goes out after the restart, and nothing twice", async () => {
    await receiver.stop();
    const pending = await ingest("cust-c", 3);
    const ledger = monitor!.runtime.ledger;
    await until(
      async () => (await ledger.alertChannelState("webhook"))?.undelivered === 3,
      5000,
      "the three alerts committed and waiting",
    );
    await monitor!.close();
    monitor = undefined;
    const before = receiver.taken.length;
    await receiver.start();
    await start();
    await until(
      () => pending.every((id) => transactionsAlerted().includes(id)),
      10_000,
      "delivered after the restart",
    );
    assert.deepEqual(
      receiver.taken.slice(before).map((a) => a.transactionId),
      pending,
      "only what was pending, in commit order",
    );
  });
});
