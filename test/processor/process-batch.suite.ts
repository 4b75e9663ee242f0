import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { AlertHub } from "../../src/alerts/hub.ts";
import type { HistoryStore } from "../../src/history/types.ts";
import type { Ledger } from "../../src/ledger/types.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { historyItemOf } from "../../src/processor/history-item.ts";
import { type ProcessorDeps, processBatch } from "../../src/processor/process-batch.ts";
import { defaultRuleset } from "../../src/rules/index.ts";
import type { ConsumedRecord } from "../../src/stream/types.ts";
import { parseTransactionInput } from "../../src/transaction/schema.ts";
import { tokenizeTransaction } from "../../src/transaction/tokenize.ts";
import type { StreamEnvelope } from "../../src/transaction/types.ts";
import { TEST_PAN, wireTransaction } from "../support/fixtures.ts";

export interface Stores {
  ledger: Ledger;
  history: HistoryStore;
  close(): Promise<void>;
}

let seq = 0;
const KEY = Buffer.alloc(32, 3);

export function record(
  overrides: Record<string, unknown> = {},
  receivedAt = new Date().toISOString(),
): ConsumedRecord & { tx: StreamEnvelope["tx"] } {
  const parsed = parseTransactionInput(wireTransaction(overrides));
  if (!parsed.ok) throw parsed.error;
  const tx = tokenizeTransaction(parsed.value, KEY);
  const envelope: StreamEnvelope = { v: 1, receivedAt, tx };
  seq++;
  return {
    sequenceNumber: String(seq).padStart(20, "0"),
    partitionKey: tx.customerId,
    data: Buffer.from(JSON.stringify(envelope)),
    tx,
  };
}

function raw(text: string): ConsumedRecord {
  seq++;
  return {
    sequenceNumber: String(seq).padStart(20, "0"),
    partitionKey: "cust-x",
    data: Buffer.from(text),
  };
}

/** One suite, run against the real services and against the embedded defaults. */
export function processBatchSuite(name: string, open: () => Promise<Stores>): void {
  describe(`processBatch (${name})`, () => {
    let stores: Stores;
    let logs: string[];
    let deps: ProcessorDeps;
    before(async () => {
      stores = await open();
      await stores.ledger.migrate();
      logs = [];
      const sink = new Writable({
        write: (c, _e, done) => {
          logs.push(String(c));
          done();
        },
      });
      const ruleset = defaultRuleset();
      deps = {
        history: stores.history,
        ledger: stores.ledger,
        ruleset: () => ruleset,
        alerts: new AlertHub(),
        log: createLogger("debug", sink),
        source: "test",
      };
    });
    after(() => stores.close());

    async function countFor(merchantId: string, ids: string[]) {
      return (await stores.ledger.existingIds(merchantId, ids)).size;
    }

    test("PRC-1 a batch processed twice leaves the ledger and the aggregates unchanged", async () => {
      const batch = [
        record({ customerId: "c-twice" }),
        record({ customerId: "c-twice", amount: 5000 }),
        record({ customerId: "c-other" }),
      ];
      const now = Date.now();
      assert.deepEqual(await processBatch(batch, deps), { batchItemFailures: [] });
      const decisions = await Promise.all(
        batch.map((r) => stores.ledger.getTransaction("japancart", r.tx.transactionId)),
      );
      const historyBefore = await stores.history.customerHistory(
        "japancart",
        "c-twice",
        now + 1000,
      );
      assert.equal(historyBefore.length, 2);

      assert.deepEqual(await processBatch(batch, deps), { batchItemFailures: [] });
      const again = await Promise.all(
        batch.map((r) => stores.ledger.getTransaction("japancart", r.tx.transactionId)),
      );
      assert.deepEqual(again, decisions, "ledger rows unchanged");
      assert.deepEqual(
        await stores.history.customerHistory("japancart", "c-twice", now + 1000),
        historyBefore,
        "history unchanged",
      );
      const verification = await stores.ledger.verifyChain();
      assert.ok(verification.ok);
    });

    test("PRC-1 a crash between history update and ledger commit, then redelivery, loses nothing and double-counts nothing", async () => {
      const batch = Array.from({ length: 5 }, () => record({ customerId: "c-crash", amount: 700 }));
      const crashing: Ledger = Object.create(stores.ledger);
      crashing.commitBatch = async () => {
        throw new Error("process died before the ledger commit");
      };
      const failed = await processBatch(batch, { ...deps, ledger: crashing });
      assert.deepEqual(
        failed.batchItemFailures.map((f) => f.itemIdentifier),
        batch.map((r) => r.sequenceNumber),
        "every record handed back",
      );
      assert.equal(
        await countFor(
          "japancart",
          batch.map((r) => r.tx.transactionId),
        ),
        0,
        "nothing half-written",
      );

      assert.deepEqual(await processBatch(batch, deps), { batchItemFailures: [] });
      assert.equal(
        await countFor(
          "japancart",
          batch.map((r) => r.tx.transactionId),
        ),
        5,
        "every transaction once",
      );
      const history = await stores.history.customerHistory(
        "japancart",
        "c-crash",
        Date.now() + 1000,
      );
      assert.equal(history.length, 5, "history counts each transaction once");
      // Re-recording the last transaction (idempotent) shows what its window holds: five, not ten.
      const env = JSON.parse(batch[4]!.data.toString()) as StreamEnvelope;
      const [probe] = await stores.history.recordBatch(
        [historyItemOf(env, [{ entity: "customer", windowSeconds: 3600 }])],
        Date.now(),
      );
      assert.equal(probe!.windows[0]!.count, 5);
    });

    test("PRC-1 per-customer order is kept: a later transaction sees the earlier ones of its batch", async () => {
      const card = { type: "card", card: { number: "4000056655665556" } };
      const batch = Array.from({ length: 8 }, () =>
        record({ customerId: "c-order", amount: 100, paymentMethod: card }),
      );
      await processBatch(batch, deps);
      const first = await stores.ledger.getTransaction("japancart", batch[0]!.tx.transactionId);
      const last = await stores.ledger.getTransaction("japancart", batch[7]!.tx.transactionId);
      assert.equal(first!.decision.action, "allow", "the first small charge is ordinary");
      assert.notEqual(
        last!.decision.action,
        "allow",
        "the eighth charge on one card within a minute is flagged",
      );
      assert.ok(last!.decision.reasons.length > 0);
    });

    test("PRC-1 PRIV-1 malformed records are quarantined with their reason, card numbers masked", async () => {
      const good = record({ customerId: "c-q" });
      const leaked = JSON.stringify({
        v: 1,
        receivedAt: new Date().toISOString(),
        tx: wireTransaction(),
      });
      const batch = [
        raw("{not json"),
        raw(
          JSON.stringify({
            v: 1,
            receivedAt: new Date().toISOString(),
            tx: { ...good.tx, transactionId: "q-1", amount: -3 },
          }),
        ),
        raw(leaked),
        good,
      ];
      const result = await processBatch(batch, deps);
      assert.deepEqual(result, { batchItemFailures: [] });
      assert.ok(await stores.ledger.getTransaction("japancart", good.tx.transactionId));
      const quarantined = await stores.ledger.listQuarantine(100);
      const mine = quarantined.filter((q) =>
        batch.slice(0, 3).some((r) => r.sequenceNumber === q.sequenceNumber),
      );
      assert.equal(mine.length, 3);
      const reasons = mine.map((q) => q.reason).join(" | ");
      assert.match(reasons, /not valid JSON/);
      assert.match(reasons, /amount must be a positive integer/);
      assert.match(reasons, /number/);
      assert.ok(!JSON.stringify(quarantined).includes(TEST_PAN), "the PAN is masked in quarantine");
      await processBatch(batch, deps);
      assert.equal(
        (await stores.ledger.listQuarantine(1000)).filter((q) =>
          batch.some((r) => r.sequenceNumber === q.sequenceNumber),
        ).length,
        3,
        "quarantine is idempotent too",
      );
      assert.ok(!logs.join("").includes(TEST_PAN), "no card number in the logs");
    });

    test("PRC-1 a record PostgreSQL could not store (NUL bytes) is quarantined, never a poison pill", async () => {
      const good = record({ customerId: "c-nul" });
      const env = JSON.parse(good.data.toString()) as StreamEnvelope;
      const poisoned = raw(
        JSON.stringify({
          ...env,
          tx: {
            ...env.tx,
            transactionId: "nul-1",
            customerId: "c\u0000x",
            metadata: { k: "\u0000" },
          },
        }),
      );
      const result = await processBatch([poisoned, good], deps);
      assert.deepEqual(result, { batchItemFailures: [] });
      assert.ok(await stores.ledger.getTransaction("japancart", good.tx.transactionId));
      const q = (await stores.ledger.listQuarantine(1000)).find(
        (r) => r.sequenceNumber === poisoned.sequenceNumber,
      );
      assert.match(q!.reason, /NUL/);
    });

    test("PRC-1 PRC-4 a record whose occurredAt the ledger cannot store (year 10000 in UTC) is quarantined, never a poison pill", async () => {
      const good = record({ customerId: "c-y10k" });
      const env = JSON.parse(good.data.toString()) as StreamEnvelope;
      const poisoned = raw(
        JSON.stringify({
          ...env,
          tx: { ...env.tx, transactionId: "y10k-1", occurredAt: "9999-12-31T23:59:59-23:59" },
        }),
      );
      const result = await processBatch([poisoned, good], deps);
      assert.deepEqual(result, { batchItemFailures: [] });
      assert.ok(await stores.ledger.getTransaction("japancart", good.tx.transactionId));
      assert.equal(await stores.ledger.getTransaction("japancart", "y10k-1"), null);
      const q = (await stores.ledger.listQuarantine(1000)).find(
        (r) => r.sequenceNumber === poisoned.sequenceNumber,
      );
      assert.match(q!.reason, /occurredAt/);
    });

    test("PRC-1 a dependency failure hands every record back for redelivery", async () => {
      const batch = [record({ customerId: "c-down" }), record({ customerId: "c-down" })];
      const broken: HistoryStore = Object.create(stores.history);
      broken.recordBatch = async () => {
        throw new Error("ECONNREFUSED");
      };
      const result = await processBatch(batch, { ...deps, history: broken });
      assert.equal(result.batchItemFailures.length, 2);
      assert.equal(
        await countFor(
          "japancart",
          batch.map((r) => r.tx.transactionId),
        ),
        0,
      );
    });
  });
}
