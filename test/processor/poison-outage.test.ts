import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openPostgresLedger, type SqlLedger } from "../../src/ledger/index.ts";
import { processBatch } from "../../src/processor/process-batch.ts";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.ts";
import { ledgerOrder, poisonDeps, quarantinedCount, REFUSE_POISON } from "./poison-support.ts";
import { record } from "./process-batch.suite.ts";

/**
 * REL-5 on a PostgreSQL cluster of this test's own, stopped while a batch holding a record the
 * database refuses for good is processed: an outage must never be mistaken for a refusal.
 */
describe("poison records during a PostgreSQL outage (private cluster)", () => {
  let server: PrivatePostgres;
  let ledger: SqlLedger;
  before(async () => {
    server = await startPrivatePostgres();
    ledger = await openPostgresLedger({
      connectionString: server.url,
      schema: "txw_poison",
      pool: { connectionTimeoutMillis: 2000 },
    });
    await ledger.migrate();
    await ledger.db.exec(REFUSE_POISON);
    // The cluster commits asynchronously and halts as a crash would: make the trigger durable.
    await ledger.db.query("CHECKPOINT");
  });
  after(async () => {
    await ledger?.close().catch(() => {});
    await server?.stop();
  });

  test("REL-5 connections refused: every record is handed back, nothing quarantined, one error line for the run of failures; after it the refused record is quarantined and the rest committed", async () => {
    const p = poisonDeps(ledger);
    const batch = Array.from({ length: 6 }, (_, i) =>
      record({ customerId: "c-outage", ...(i === 2 && { transactionId: "poison-9" }) }),
    );
    await server.halt();
    for (let retry = 0; retry < 3; retry++) {
      const result = await processBatch(batch, p.deps);
      assert.deepEqual(
        result.batchItemFailures.map((f) => f.itemIdentifier),
        batch.map((r) => r.sequenceNumber),
        "handed back whole, for redelivery",
      );
    }
    assert.equal(await quarantinedCount(p.metrics, "refused"), 0);
    const failedLines = p.lines().filter((l) => l.msg.startsWith("batch failed;"));
    assert.equal(failedLines.length, 1, "one error line for three failed tries");
    assert.equal(failedLines[0]!.level, 50);

    await server.resume();
    assert.deepEqual(await processBatch(batch, p.deps), { batchItemFailures: [] });
    const recovered = p.lines().filter((l) => l.msg.startsWith("batches succeed again"));
    assert.equal(recovered.length, 1);
    assert.equal(recovered[0]!.retries, 3);
    const quarantined = await ledger.listQuarantine(100);
    assert.deepEqual(
      quarantined.map((q) => q.sequenceNumber),
      [batch[2]!.sequenceNumber],
      "only the refused record, once the database answered",
    );
    assert.deepEqual(
      await ledgerOrder(ledger, "japancart", "c-outage"),
      batch.filter((_, i) => i !== 2).map((r) => r.tx.transactionId),
    );
  });
});
