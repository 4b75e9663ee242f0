import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Registry } from "prom-client";
import { openEmbeddedLedger, openPostgresLedger, type SqlLedger } from "../../src/ledger/index.ts";
import { registerStreamGauges } from "../../src/observability/stream-gauges.ts";
import { processBatch } from "../../src/processor/process-batch.ts";
import { LocalLogStream } from "../../src/stream/index.ts";
import { TEST_PAN } from "../support/fixtures.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";
import {
  ledgerOrder,
  type PoisonDeps,
  poisonDeps,
  quarantinedCount,
  REFUSE_POISON,
} from "./poison-support.ts";
import { record } from "./process-batch.suite.ts";

const waitUntil = async (what: string, check: () => Promise<boolean> | boolean) => {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

interface Opened {
  ledger: SqlLedger;
  close(): Promise<void>;
}

/** REL-5 against a ledger whose database refuses `poison-*` transactions for good. */
function poisonSuite(name: string, open: () => Promise<Opened>): void {
  describe(`poison records (${name})`, () => {
    let opened: Opened;
    let ledger: SqlLedger;
    let p: PoisonDeps;
    before(async () => {
      opened = await open();
      ledger = opened.ledger;
      await ledger.migrate();
      await ledger.db.exec(REFUSE_POISON);
    });
    after(() => opened.close());

    test("REL-5 a record the database refuses for good mid-batch is quarantined with its reason; every other is committed once, in order", async () => {
      p = poisonDeps(ledger);
      const customer = `c-poison-${name.length}`;
      const batch = Array.from({ length: 9 }, (_, i) =>
        record(
          i === 4 ? { customerId: customer, transactionId: "poison-1" } : { customerId: customer },
        ),
      );
      const poison = batch[4]!;
      assert.deepEqual(await processBatch(batch, p.deps), { batchItemFailures: [] });

      const expected = batch.filter((r) => r !== poison).map((r) => r.tx.transactionId);
      assert.deepEqual(await ledgerOrder(ledger, "japancart", customer), expected);
      assert.equal(await ledger.getTransaction("japancart", "poison-1"), null);
      const rows = (await ledger.listQuarantine(1000)).filter(
        (q) => q.sequenceNumber === poison.sequenceNumber,
      );
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.source, "test");
      assert.match(rows[0]!.reason, /^SQLSTATE P0001: transaction poison-1 is refused for good/);
      assert.ok(
        rows[0]!.payload.includes('"transactionId":"poison-1"'),
        "the record kept as evidence",
      );
      assert.ok(!JSON.stringify(rows).includes(TEST_PAN), "no card number in quarantine");

      // The operator's alert: one error line naming the record, no payload; the counter.
      const alerts = p.lines().filter((l) => l.msg.startsWith("stream record quarantined"));
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0]!.level, 50);
      assert.equal(alerts[0]!.sequenceNumber, poison.sequenceNumber);
      assert.equal(alerts[0]!.source, "test");
      assert.equal(alerts[0]!.kind, "refused");
      assert.match(String(alerts[0]!.reason), /P0001/);
      assert.ok(!("payload" in alerts[0]!), "no payload in the log");
      assert.ok(!p.text().includes(TEST_PAN), "no card number in the log");
      assert.equal(await quarantinedCount(p.metrics, "refused"), 1);
      assert.equal(
        p.lines().filter((l) => l.msg.startsWith("batch failed")).length,
        0,
        "a refusal got past is no batch failure",
      );

      // Redelivered after the partial success: nothing changes.
      assert.deepEqual(await processBatch(batch, p.deps), { batchItemFailures: [] });
      assert.deepEqual(await ledgerOrder(ledger, "japancart", customer), expected);
      assert.equal(
        (await ledger.listQuarantine(1000)).filter(
          (q) => q.sequenceNumber === poison.sequenceNumber,
        ).length,
        1,
      );
      assert.equal(await quarantinedCount(p.metrics, "refused"), 1, "counted once");
      assert.ok((await ledger.verifyChain()).ok);
    });

    test("REL-5 the partition goes on: the records behind a refused one are committed once, in order, and the lag gauges read the backlog, then 0", async () => {
      p = poisonDeps(ledger, "local");
      const stream = new LocalLogStream({ partitions: 1 });
      const registry = new Registry();
      registerStreamGauges(registry, () => stream.progress());
      const customer = `c-behind-${name.length}`;
      const records = Array.from({ length: 25 }, (_, i) =>
        record({
          customerId: customer,
          ...(i === 3 && { transactionId: "poison-2" }),
          ...(i === 17 && { transactionId: "poison-3" }),
        }),
      );
      await stream.put(records.map((r) => ({ partitionKey: r.partitionKey, data: r.data })));
      await new Promise((r) => setTimeout(r, 30));

      const gauges = await registry.getMetricsAsJSON();
      const lag = gauges.find((m) => m.name === "txwatch_stream_lag_records")!;
      const age = gauges.find((m) => m.name === "txwatch_stream_oldest_age_seconds")!;
      assert.deepEqual(lag.values, [{ labels: { partition: "0" }, value: 25 }]);
      assert.ok(age.values[0]!.value > 0, "the backlog's oldest record has an age");

      const consumer = stream.consume((batch) => processBatch(batch, p.deps), {
        batchSize: 10,
        idleMs: 10,
      });
      try {
        await waitUntil("the backlog handled", () => stream.lag() === 0);
      } finally {
        await consumer.stop();
        await stream.close();
      }
      const expected = records.filter((_, i) => i !== 3 && i !== 17).map((r) => r.tx.transactionId);
      assert.deepEqual(await ledgerOrder(ledger, "japancart", customer), expected);
      const reasons = (await ledger.listQuarantine(1000))
        .filter((q) => q.source.startsWith(`local:${stream.instanceId}:`))
        .map((q) => q.reason)
        .sort();
      assert.equal(reasons.length, 2);
      assert.match(reasons[0]!, /poison-2/);
      assert.match(reasons[1]!, /poison-3/);
      assert.equal(await quarantinedCount(p.metrics, "refused"), 2);

      const drained = await registry.getMetricsAsJSON();
      for (const name of ["txwatch_stream_lag_records", "txwatch_stream_oldest_age_seconds"]) {
        assert.deepEqual(
          drained.find((m) => m.name === name)!.values,
          [{ labels: { partition: "0" }, value: 0 }],
          name,
        );
      }
    });
  });
}

poisonSuite("embedded PGlite", async () => {
  const ledger = await openEmbeddedLedger({});
  return { ledger, close: () => ledger.close() };
});

poisonSuite("real PostgreSQL", async () => {
  const schema = uniqueName("txw_test");
  const ledger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
  return {
    ledger,
    async close() {
      await ledger.close();
      await dropSchema(schema);
    },
  };
});
