import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { RedisHistoryStore } from "../../src/history/index.ts";
import { openEmbeddedLedger, type SqlLedger } from "../../src/ledger/index.ts";
import type { Ledger } from "../../src/ledger/types.ts";
import { processBatch } from "../../src/processor/process-batch.ts";
import { historyRebuildFrom } from "../../src/runtime/history-rebuild.ts";
import { TEST_PAN } from "../support/fixtures.ts";
import { connectTestRedis, deleteKeys, uniqueName } from "../support/services.ts";
import { poisonDeps, quarantinedCount } from "./poison-support.ts";
import { record } from "./process-batch.suite.ts";

/** What the ledger's scan could raise: a SQLSTATE of a class refusalOf reads as a refusal. */
function pgIntegrityError(): Error {
  return Object.assign(new Error('duplicate key value violates unique constraint "tx_pkey"'), {
    name: "DatabaseError",
    code: "23505",
    detail: `Failing row contains (c-1, ${TEST_PAN}, 203.0.113.7, device-9).`,
  });
}

/** A Redis reply that, raised by the record's own script call, would be a refusal. */
function scriptReplyError(): Error {
  const error = new Error("ERR user_script:3: attempt to compare nil with number");
  error.name = "ReplyError";
  return error;
}

/**
 * REL-5 with REL-6: while the history's marker is missing, a rebuild that fails fails every
 * batch the same way. Whatever the rebuild met, it is no record's fault: the batch is handed back
 * whole, and nothing is quarantined.
 */
describe("a failed history rebuild quarantines nothing (real Redis, embedded ledger)", () => {
  let ledger: SqlLedger;
  const prefixes: string[] = [];
  const stores: RedisHistoryStore[] = [];
  before(async () => {
    ledger = await openEmbeddedLedger({});
    await ledger.migrate();
  });
  after(async () => {
    for (const store of stores) await store.close().catch(() => undefined);
    const admin = await connectTestRedis();
    try {
      for (const prefix of prefixes) await deleteKeys(admin, `${prefix}:`);
    } finally {
      await admin.quit();
    }
    await ledger.close();
  });

  for (const [what, failure] of [
    ["a pg 23505 from the ledger's scan", pgIntegrityError],
    ["a Redis script error while restoring", scriptReplyError],
  ] as const) {
    test(`REL-5 a rebuild failing with ${what}: the batch is handed back, nothing quarantined`, async () => {
      const prefix = uniqueName("txwtest");
      prefixes.push(prefix);
      const p = poisonDeps(ledger, `rebuild-${prefixes.length}`);
      const failing: Pick<Ledger, "scanHistory"> = {
        // biome-ignore lint/correctness/useYield: it fails before its first row
        async *scanHistory() {
          throw failure();
        },
      };
      const rebuild = historyRebuildFrom(failing, { log: p.deps.log, store: "redis" });
      const store = new RedisHistoryStore(await connectTestRedis(), prefix, undefined, {
        rebuild,
      });
      stores.push(store);
      const deps = { ...p.deps, history: store };
      const batch = Array.from({ length: 4 }, () => record({ customerId: `c-${prefix}` }));
      for (let delivery = 0; delivery < 2; delivery++) {
        const result = await processBatch(batch, deps);
        assert.deepEqual(
          result.batchItemFailures.map((f) => f.itemIdentifier),
          batch.map((r) => r.sequenceNumber),
          "handed back whole, for redelivery",
        );
      }
      assert.equal(await quarantinedCount(p.metrics, "refused"), 0);
      const source = `rebuild-${prefixes.length}`;
      assert.deepEqual(
        (await ledger.listQuarantine(1000)).filter((q) => q.source === source),
        [],
      );
      assert.equal(
        p.lines().filter((l) => l.msg.startsWith("stream record quarantined")).length,
        0,
      );
      assert.equal(
        p.lines().filter((l) => l.msg.startsWith("history replay from the ledger failed")).length,
        2,
      );
      // SEC-5: the driver's detail (the failing row's values) stays out of the log.
      assert.ok(!p.text().includes(TEST_PAN), "no card number in the log");
      assert.ok(!p.text().includes("203.0.113.7"), "no IP address in the log");
    });
  }
});
