import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type pg from "pg";
import { webhookChannel } from "../../src/alerts/webhook-delivery.ts";
import {
  grantApplicationRole,
  openPostgresLedger,
  type SqlLedger,
} from "../../src/ledger/index.ts";
import { startAlertOutbox } from "../../src/outbox/alert-outbox.ts";
import { PgProxy } from "../api/pg-proxy.ts";
import { AlertReceiver } from "../support/alert-receiver.ts";
import { logSink } from "../support/log-sink.ts";
import { asSuperuser, DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";
import { alertOutboxSuite, raise, until } from "./alert-outbox.suite.ts";

/**
 * The alert outbox on the machine's PostgreSQL (REL-6). Each ledger gets its own schema;
 * "another process" is a second pool on that schema, as a second API task has.
 */
async function open(schema: string, options: pg.PoolConfig = {}): Promise<SqlLedger> {
  return openPostgresLedger({
    connectionString: DATABASE_URL,
    pool: { connectionTimeoutMillis: 5000, max: 4, ...options },
    schema,
  });
}

alertOutboxSuite("PostgreSQL", async () => {
  const schema = uniqueName("txw_outbox_test");
  const opened: SqlLedger[] = [];
  let ledger = await open(schema);
  opened.push(ledger);
  await ledger.migrate();
  return {
    get ledger() {
      return ledger;
    },
    async another() {
      const other = await open(schema);
      opened.push(other);
      return other;
    },
    async reopen() {
      await ledger.close();
      ledger = await open(schema);
      opened.push(ledger);
      return ledger;
    },
    async dispose() {
      for (const l of opened) await l.close();
      await dropSchema(schema);
    },
  };
});

describe("alert outbox: the application role (PostgreSQL)", () => {
  const role = uniqueName("txwatch_app_test");
  const schema = uniqueName("txw_outbox_role");
  const opened: SqlLedger[] = [];
  after(async () => {
    for (const l of opened.reverse()) await l.close();
    await dropSchema(schema);
    await asSuperuser(`DROP ROLE IF EXISTS ${role}`);
  });

  test("REL-6 AWS-3 the application role moves a channel's cursor and lease and records dead letters, but cannot rewrite either", async () => {
    await asSuperuser(`CREATE ROLE ${role} NOLOGIN`);
    const owner = await open(schema);
    opened.push(owner);
    await owner.migrate();
    await grantApplicationRole(owner.db, role);
    const app = await open(schema, { options: `-c role=${role}` });
    opened.push(app);

    await app.openAlertChannel("webhook");
    const alerts = await raise(app, 3);
    assert.equal(await app.leaseAlertChannel("webhook", "task-a", 10_000), "0");
    assert.equal(
      await app.advanceAlertChannel("webhook", "task-a", 10_000, alerts[2]!.id, [
        { alertId: alerts[1]!.id, reason: "webhook answered HTTP 400", attempts: 2 },
      ]),
      true,
    );
    assert.equal((await app.alertChannelState("webhook"))?.cursor, alerts[2]!.id);
    await app.releaseAlertChannel("webhook", "task-a");
    for (const sql of [
      "UPDATE alert_delivery SET channel = 'sns'",
      "DELETE FROM alert_delivery",
      "UPDATE alert_dead_letters SET reason = 'x'",
      "DELETE FROM alert_dead_letters",
      "TRUNCATE alert_dead_letters",
    ]) {
      await assert.rejects(app.db.query(sql), /permission denied|append-only/, sql);
    }
    assert.equal((await app.listAlertDeadLetters("webhook", 10)).length, 1);
  });
});

describe("alert outbox: the ledger connection lost (PostgreSQL)", () => {
  const schema = uniqueName("txw_outbox_outage");
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    await dropSchema(schema);
  });

  test("REL-2 REL-6 the outbox survives losing its ledger: one log line down, one up, and every alert committed meanwhile is delivered once it is back", async () => {
    const processor = await open(schema);
    cleanups.push(() => processor.close());
    await processor.migrate();
    const target = new URL(DATABASE_URL);
    const proxy = new PgProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const through = new URL(DATABASE_URL);
    through.hostname = "127.0.0.1";
    through.port = String(await proxy.listen());
    cleanups.push(() => proxy.close());
    const ledger = await openPostgresLedger({
      connectionString: through.toString(),
      pool: { connectionTimeoutMillis: 1000, max: 2 },
      schema,
    });
    cleanups.push(() => ledger.close());
    const receiver = new AlertReceiver();
    await receiver.start();
    cleanups.push(() => receiver.stop());
    const { log, lines } = logSink("info");
    const outbox = await startAlertOutbox({
      ledger,
      channels: [webhookChannel({ url: receiver.url, timeoutMs: 1000 })],
      log,
      pollMs: 100,
      leaseMs: 4000,
      backoff: { baseMs: 100, maxMs: 500 },
    });
    cleanups.push(() => outbox.stop());
    const raised = await raise(processor, 5);
    await until(() => receiver.takenIds().length === 5, 5000, "delivered before the outage");

    proxy.cut();
    for (let i = 0; i < 4; i++) {
      raised.push(...(await raise(processor, 5)));
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(receiver.takenIds().length, 5);
    proxy.restore();
    await until(() => receiver.takenIds().length === 25, 10_000, "delivered after the outage");
    assert.deepEqual(
      receiver.takenIds(),
      raised.map((a) => a.id),
    );
    const count = (pattern: RegExp) => lines().filter((l) => pattern.test(l.msg)).length;
    // Logged as the round that delivered them ends.
    await until(() => count(/the ledger answers again/) > 0, 2000, "the recovery logged");
    assert.equal(count(/cannot read or move/), 1);
    assert.equal(count(/the ledger answers again/), 1);
  });
});
