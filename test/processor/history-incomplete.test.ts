import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { AlertHub } from "../../src/alerts/hub.ts";
import { MemoryHistoryStore } from "../../src/history/index.ts";
import type { HistoryStore } from "../../src/history/types.ts";
import { openEmbeddedLedger, type SqlLedger } from "../../src/ledger/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import {
  HISTORY_INCOMPLETE_RULE,
  noteIncompleteHistory,
} from "../../src/processor/history-note.ts";
import { type ProcessorDeps, processBatch } from "../../src/processor/process-batch.ts";
import { defaultRuleset } from "../../src/rules/index.ts";
import { record } from "./process-batch.suite.ts";

/** A history that answers like a Redis store deciding before another process's rebuild ended. */
function incompleteHistory(inner: HistoryStore): HistoryStore {
  return Object.assign(Object.create(inner) as HistoryStore, {
    async recordBatch(...args: Parameters<HistoryStore["recordBatch"]>) {
      const results = await inner.recordBatch(...args);
      return results.map((r) => ({ ...r, incomplete: true as const }));
    },
  });
}

describe("decisions on an incomplete history (REL-6)", () => {
  let ledger: SqlLedger;
  let deps: ProcessorDeps;
  before(async () => {
    ledger = await openEmbeddedLedger();
    await ledger.migrate();
    deps = {
      history: incompleteHistory(new MemoryHistoryStore()),
      ledger,
      ruleset: () => defaultRuleset(),
      alerts: new AlertHub(),
      log: createLogger("silent"),
      source: "test",
    };
  });
  after(() => ledger.close());

  test("REL-6 the note is a reason of score 0: score and action stay the rules', and it raises no alert", async () => {
    const now = Date.now();
    // Five purchases of one card in a minute: the 5th trips card testing even on what the store
    // holds, so the decision is a review with one real alert beside the note.
    const burst = Array.from({ length: 5 }, (_, i) =>
      record({ customerId: "rel6-note" }, new Date(now - (5 - i) * 1000).toISOString()),
    );
    assert.deepEqual(await processBatch(burst, deps), { batchItemFailures: [] });
    const last = burst.at(-1)!.tx;
    const stored = await ledger.getTransaction(last.merchantId, last.transactionId);
    const decision = stored!.decision;
    assert.equal(decision.action, "review");
    assert.deepEqual(
      decision.reasons.map((r) => [r.rule, r.score]),
      [
        ["card-testing-card-10m", 50],
        [HISTORY_INCOMPLETE_RULE, 0],
      ],
    );
    assert.equal(decision.score, 50);
    const alerts = await ledger.listAlerts(
      last.merchantId,
      { customerId: "rel6-note" },
      { limit: 100 },
    );
    assert.ok(alerts.items.length > 0, "the card-testing alerts are raised");
    assert.ok(alerts.items.every((a) => a.rule !== HISTORY_INCOMPLETE_RULE));
    // Allowed transactions carry the note too, and raise nothing.
    const first = burst[0]!.tx;
    const allowed = (await ledger.getTransaction(first.merchantId, first.transactionId))!.decision;
    assert.equal(allowed.action, "allow");
    assert.deepEqual(
      allowed.reasons.map((r) => r.rule),
      [HISTORY_INCOMPLETE_RULE],
    );
  });

  test("REL-6 a complete history adds no note", () => {
    const verdict = { action: "allow" as const, score: 0, reasons: [] };
    assert.equal(noteIncompleteHistory(verdict, { prior: {}, windows: [] }), verdict);
  });
});
