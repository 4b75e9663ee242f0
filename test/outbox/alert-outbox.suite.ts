import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { webhookChannel } from "../../src/alerts/webhook-delivery.ts";
import type { SqlLedger } from "../../src/ledger/index.ts";
import type { Alert } from "../../src/ledger/types.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import {
  type AlertOutbox,
  type AlertOutboxOptions,
  startAlertOutbox,
} from "../../src/outbox/alert-outbox.ts";
import { alertDrafts, ledgerRecord, uniqueMerchant } from "../ledger/ledger.suite.ts";
import { AlertReceiver } from "../support/alert-receiver.ts";
import { logSink } from "../support/log-sink.ts";

/**
 * The alert outbox (REL-6) against a real ledger and a real HTTP receiver, run unchanged on
 * PostgreSQL and PGlite: delivery through an outage, dead letters, the lease between two
 * outboxes sharing a ledger, the cursor across a restart.
 */

/** A fresh, migrated ledger, and how the tests reach it as other processes would. */
export interface OutboxLedger {
  ledger: SqlLedger;
  /**
   * The same ledger through a connection of its own, as another process has it: closing it
   * is that process dying (its calls fail), the ledger itself stays.
   */
  another(): Promise<SqlLedger>;
  /** Closes `ledger` and opens it again from what it persisted, as after a restart. */
  reopen(): Promise<SqlLedger>;
  dispose(): Promise<void>;
}

export type OutboxLedgerFactory = () => Promise<OutboxLedger>;

/** Timings scaled down from the defaults so an outage of seconds stands for one of minutes. */
const FAST = {
  pollMs: 100,
  leaseMs: 4000,
  backoff: { baseMs: 100, maxMs: 800 },
  stopGraceMs: 500,
} satisfies Partial<AlertOutboxOptions>;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await pause(20);
  }
}

async function total(metric: { get(): Promise<{ values: { value: number }[] }> }) {
  return (await metric.get()).values.reduce((n, v) => n + v.value, 0);
}

/** Commits `n` transactions of one customer, one alert each; answers the alerts, in id order. */
export async function raise(ledger: SqlLedger, n: number, customerId = "cust-42") {
  const merchantId = uniqueMerchant();
  const records = Array.from({ length: n }, () => ledgerRecord({ merchantId, customerId }));
  const { alerts } = await ledger.commitBatch(records, records.flatMap(alertDrafts), []);
  assert.equal(alerts.length, n);
  return alerts.sort((a, b) => Number(a.id) - Number(b.id));
}

const ids = (alerts: Alert[]) => alerts.map((a) => a.id);

/** First arrivals are in commit order (ids only grow). */
function assertCommitOrder(received: string[]): void {
  for (let i = 1; i < received.length; i++) {
    assert.ok(
      Number(received[i]) > Number(received[i - 1]),
      `${received[i]} after ${received[i - 1]}`,
    );
  }
}

export function alertOutboxSuite(name: string, factory: OutboxLedgerFactory): void {
  describe(`alert outbox: ${name}`, () => {
    let opened: OutboxLedger;
    let receiver: AlertReceiver;
    const outboxes: AlertOutbox[] = [];
    const start = async (
      options: Partial<AlertOutboxOptions> & Pick<AlertOutboxOptions, "log">,
    ) => {
      const outbox = await startAlertOutbox({
        ledger: opened.ledger,
        channels: [webhookChannel({ url: receiver.url, timeoutMs: 1000, maxBatch: 20 })],
        ...FAST,
        ...options,
      });
      outboxes.push(outbox);
      return outbox;
    };

    beforeEach(async () => {
      opened = await factory();
      receiver = new AlertReceiver();
      await receiver.start();
    });
    afterEach(async () => {
      for (const outbox of outboxes.splice(0)) await outbox.stop();
      await receiver.stop();
      await opened.dispose();
    });

    test("REL-6 a receiver down for a while (port closed, then 503) loses nothing: every alert is delivered when it is back, in commit order, none dead-lettered, one log line down and one up", async () => {
      const { log, lines } = logSink("info");
      const metrics = createMetrics();
      const ledger = opened.ledger;
      const outbox = await start({ log, metrics });
      const raised = await raise(ledger, 10);
      await outbox.publish(raised);
      await until(() => receiver.takenIds().length === 10, 5000, "first alerts delivered");

      // Down: the port is closed while alerts keep being committed.
      await receiver.stop();
      for (let i = 0; i < 6; i++) {
        const more = await raise(ledger, 5);
        raised.push(...more);
        await outbox.publish(more);
        await pause(250);
      }
      // Up but failing: 503 for every request.
      receiver.answer = () => 503;
      await receiver.start();
      for (let i = 0; i < 4; i++) {
        const more = await raise(ledger, 5);
        raised.push(...more);
        await outbox.publish(more);
        await pause(250);
      }
      assert.equal(receiver.takenIds().length, 10, "nothing taken during the outage");
      await until(
        async () => (await total(metrics.alertsUndelivered)) === 50,
        3000,
        "the backlog gauge counts what waits",
      );
      const state = await ledger.alertChannelState("webhook");
      assert.equal(state?.undelivered, 50);

      receiver.answer = () => 204;
      await until(() => receiver.takenIds().length === raised.length, 10_000, "all delivered");
      const received = receiver.takenIds();
      assert.deepEqual(received, ids(raised), "every alert, once each, in commit order");
      assertCommitOrder(received);
      await until(
        async () => (await ledger.alertChannelState("webhook"))?.undelivered === 0,
        3000,
        "cursor at the end",
      );
      assert.deepEqual(await ledger.listAlertDeadLetters("webhook", 100), []);
      assert.equal(await total(metrics.alertDeadLetters), 0);
      assert.ok((await total(metrics.alertDeliveryFailures)) >= 2, "failed requests counted");
      await until(
        async () => (await total(metrics.alertsUndelivered)) === 0,
        3000,
        "the gauge back at 0",
      );
      assert.equal(await total(metrics.alertsDelivered), raised.length);

      const failing = lines().filter((l) => /channel is failing/.test(l.msg));
      const recovered = lines().filter((l) => /channel recovered/.test(l.msg));
      assert.equal(failing.length, 1, "one line when it starts failing, not one per retry");
      assert.equal(recovered.length, 1, "one line when it recovers");
      assert.equal(failing[0]?.channel, "webhook");
      const text = JSON.stringify(lines());
      assert.ok(!text.includes("s3cret-token"), "the webhook URL (and its token) is never logged");
    });

    test("REL-6 a receiver refusing alerts for good (400) dead-letters exactly those, with the reason, and moves on", async () => {
      const { log, lines } = logSink("info");
      const metrics = createMetrics();
      const ledger = opened.ledger;
      receiver.answer = (alerts) => (alerts.some((a) => a.customerId === "poison") ? 400 : 204);
      await ledger.openAlertChannel("webhook");
      const good1 = await raise(ledger, 3);
      const bad1 = await raise(ledger, 1, "poison");
      const good2 = await raise(ledger, 4);
      const bad2 = await raise(ledger, 2, "poison");
      const good3 = await raise(ledger, 2);
      const outbox = await start({ log, metrics });
      await outbox.publish(good3);
      const good = [...good1, ...good2, ...good3];
      await until(
        async () => (await ledger.alertChannelState("webhook"))?.undelivered === 0,
        5000,
        "the channel moved past everything",
      );
      assert.deepEqual(receiver.takenIds(), ids(good), "the others delivered, in order");
      const dead = await ledger.listAlertDeadLetters("webhook", 100);
      assert.deepEqual(dead.map((d) => d.alertId).sort(), ids([...bad1, ...bad2]).sort());
      for (const letter of dead) {
        assert.equal(letter.channel, "webhook");
        assert.equal(letter.reason, "webhook answered HTTP 400");
        // Sent in the batch, then alone.
        assert.equal(letter.attempts, 2);
        assert.match(letter.deadLetteredAt, /^\d{4}-\d\d-\d\dT/);
      }
      assert.equal(await total(metrics.alertDeadLetters), 3);
      assert.equal((await ledger.alertChannelState("webhook"))?.deadLetters, 3);
      assert.ok(lines().some((l) => /dead-lettered/.test(l.msg)));
      assert.equal(
        lines().filter((l) => /channel is failing/.test(l.msg)).length,
        0,
        "a refusal is an answer, not an outage",
      );
      await assert.rejects(
        ledger.db.query("UPDATE alert_dead_letters SET reason = 'x'"),
        /append-only/,
        "dead letters are append-only",
      );
    });

    test("REL-6 an alert past its max attempts or its max age is dead-lettered, and the channel moves on", async () => {
      const { log } = logSink("info");
      const ledger = opened.ledger;
      receiver.answer = () => 503;
      await ledger.openAlertChannel("webhook");
      const raised = await raise(ledger, 3);
      const outbox = await start({ log, maxAttempts: 3 });
      await outbox.publish(raised);
      await until(
        async () => (await ledger.alertChannelState("webhook"))?.undelivered === 0,
        10_000,
        "dead-lettered after 3 attempts",
      );
      const dead = await ledger.listAlertDeadLetters("webhook", 10);
      assert.deepEqual(dead.map((d) => d.alertId).sort(), ids(raised).sort());
      for (const letter of dead) {
        assert.equal(letter.attempts, 3);
        assert.equal(letter.reason, "gave up after 3 attempts: webhook answered HTTP 503");
      }
      await outbox.stop();

      await receiver.stop();
      const old = await raise(ledger, 2);
      const aged = await start({ log, maxAgeMs: 2000 });
      await aged.publish(old);
      await until(
        async () => (await ledger.alertChannelState("webhook"))?.undelivered === 0,
        10_000,
        "dead-lettered once past the max age",
      );
      const expired = (await ledger.listAlertDeadLetters("webhook", 10)).filter((d) =>
        ids(old).includes(d.alertId),
      );
      assert.equal(expired.length, 2);
      for (const letter of expired)
        assert.match(letter.reason, /^undelivered after \d+ s \(max age 2 s\)$/);
      assert.ok(
        expired.every((d) => d.attempts >= 1),
        "they were tried while they could be",
      );
    });

    test("REL-6 two outboxes on one ledger: one at a time delivers the channel (lease), every alert is delivered, and the other takes over when the first stops", async () => {
      const { log, lines } = logSink("info");
      const ledger = opened.ledger;
      const other = await opened.another();
      // Slow enough that two deliverers would overlap at the receiver.
      receiver.answer = () => ({ status: 204, delayMs: 25 });
      const first = await start({ log, owner: "task-a" });
      const second = await start({ log, owner: "task-b", ledger: other });
      const raised: Alert[] = [];
      for (let i = 0; i < 8; i++) {
        const more = await raise(ledger, 15);
        raised.push(...more);
        await first.publish(more);
        await second.publish(more);
        await pause(60);
      }
      await until(() => receiver.takenIds().length === raised.length, 10_000, "delivered");
      const holder = (await ledger.alertChannelState("webhook"))?.leaseOwner;
      assert.ok(holder === "task-a" || holder === "task-b", `held by ${holder}`);
      const [leaving, staying] = holder === "task-a" ? [first, second] : [second, first];

      // The holder stops (a deploy): it hands the lease over, the other carries on at once.
      await leaving.stop();
      for (let i = 0; i < 4; i++) {
        const more = await raise(ledger, 15);
        raised.push(...more);
        await staying.publish(more);
        await pause(60);
      }
      await until(() => receiver.takenIds().length === raised.length, 10_000, "all delivered");
      assert.equal(receiver.maxInFlight, 1, "never two requests at once");
      assert.deepEqual(receiver.takenIds(), ids(raised));
      assert.equal(receiver.taken.length, raised.length, "a clean hand-over delivers none twice");
      assert.equal((await ledger.alertChannelState("webhook"))?.leaseOwner, staying.owner);
      const took = lines().filter((l) => /this process delivers the channel/.test(l.msg));
      assert.equal(took.length, 2, "each took the channel once");
    });

    test("REL-6 an outbox whose process dies keeps its lease until it runs out; another then delivers from the cursor, at least once", async () => {
      const { log } = logSink("info");
      const dying = await opened.another();
      const ledger = opened.ledger;
      const first = await start({ log, owner: "task-a", ledger: dying, leaseMs: 3000 });
      const raised = await raise(ledger, 10);
      await first.publish(raised);
      await until(() => receiver.takenIds().length === 10, 5000, "delivered by the first");
      // The first process is gone: its connection with it, its lease left in the ledger.
      receiver.answer = () => ({ status: 204, delayMs: 10 });
      await dying.close();
      const second = await start({ log, owner: "task-b", leaseMs: 3000 });
      const more = await raise(ledger, 10);
      raised.push(...more);
      await second.publish(more);
      await pause(500);
      assert.equal(receiver.takenIds().length, 10, "nobody delivers while the lease runs");
      await until(() => receiver.takenIds().length === 20, 6000, "taken over once it ran out");
      assert.deepEqual(receiver.takenIds(), ids(raised));
      assert.equal((await ledger.alertChannelState("webhook"))?.leaseOwner, "task-b");
    });

    test("REL-6 the cursor survives a restart: the next outbox delivers what the last one had not, and nothing twice", async () => {
      const { log } = logSink("info");
      let ledger = opened.ledger;
      const first = await start({ log });
      const before = await raise(ledger, 12);
      await first.publish(before);
      await until(() => receiver.takenIds().length === 12, 5000, "first delivered");
      await first.stop();
      const whileStopped = await raise(ledger, 7);
      ledger = await opened.reopen();
      assert.equal((await ledger.alertChannelState("webhook"))?.undelivered, 7);
      const second = await start({ log, ledger });
      await until(() => receiver.takenIds().length === 19, 5000, "the rest delivered");
      await pause(300);
      assert.deepEqual(receiver.takenIds(), ids([...before, ...whileStopped]));
      assert.equal(receiver.taken.length, 19, "none twice");
      await second.stop();
    });

    test("REL-6 the lease on a channel's cursor: one holder at a time, taken over only once it ran out; a holder that lost it writes nothing; the cursor never moves back", async () => {
      const ledger = opened.ledger;
      await ledger.openAlertChannel("webhook");
      const alerts = await raise(ledger, 4);
      const [a1, a2, a3, a4] = ids(alerts);
      assert.equal(await ledger.leaseAlertChannel("webhook", "task-a", 600), "0");
      assert.equal(await ledger.leaseAlertChannel("webhook", "task-b", 600), null, "held");
      assert.equal(await ledger.advanceAlertChannel("webhook", "task-a", 600, a2!, []), true);
      assert.equal(await ledger.advanceAlertChannel("webhook", "task-b", 600, a4!, []), false);
      await pause(700);
      assert.equal(await ledger.leaseAlertChannel("webhook", "task-b", 10_000), a2, "ran out");
      const letter = { alertId: a3!, reason: "webhook answered HTTP 400", attempts: 1 };
      assert.equal(
        await ledger.advanceAlertChannel("webhook", "task-a", 600, a4!, [letter]),
        false,
        "the old holder is fenced off",
      );
      assert.deepEqual(await ledger.listAlertDeadLetters(undefined, 10), [], "nothing written");
      assert.equal(await ledger.advanceAlertChannel("webhook", "task-b", 10_000, a1!, []), false);
      assert.equal((await ledger.alertChannelState("webhook"))?.cursor, a2, "never backwards");
      assert.equal(
        await ledger.advanceAlertChannel("webhook", "task-b", 10_000, a4!, [letter]),
        true,
      );
      const state = await ledger.alertChannelState("webhook");
      assert.equal(state?.cursor, a4);
      assert.equal(state?.undelivered, 0);
      assert.equal(state?.leaseOwner, "task-b");
      assert.equal(state?.deadLetters, 1);
      await ledger.releaseAlertChannel("webhook", "task-b");
      assert.equal(await ledger.leaseAlertChannel("webhook", "task-a", 600), a4, "released");
      await assert.rejects(ledger.leaseAlertChannel("email" as "sns", "task-a", 600), /channel/);
    });

    test("REL-6 a channel starts at the alerts' tail: what was committed before it was first configured is not sent", async () => {
      const { log } = logSink("info");
      const ledger = opened.ledger;
      await raise(ledger, 5);
      const outbox = await start({ log });
      const after = await raise(ledger, 3);
      await outbox.publish(after);
      await until(() => receiver.takenIds().length === 3, 5000, "the new ones delivered");
      assert.deepEqual(receiver.takenIds(), ids(after));
    });
  });
}
