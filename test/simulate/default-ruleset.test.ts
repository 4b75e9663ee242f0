import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryHistoryStore } from "../../src/history/index.ts";
import { historyItemOf } from "../../src/processor/history-item.ts";
import { defaultRuleset } from "../../src/rules/index.ts";
import {
  type Currency,
  formatWithOffset,
  PATTERN_NAMES,
  PROFILES,
  planTraffic,
  summarize,
  type TxRecord,
} from "../../src/simulate/index.ts";
import { parseTransactionInput } from "../../src/transaction/schema.ts";
import { tokenizeTransaction } from "../../src/transaction/tokenize.ts";
import type { StreamEnvelope } from "../../src/transaction/types.ts";

/**
 * The simulator's traffic through the real decision path (schema, tokenization, 24 h history,
 * default ruleset) without a server: the patterns must be caught for what they are and normal
 * traffic must stay allowed. The end-to-end test repeats this over HTTP.
 */
async function decideAll(currency: Currency, total: number, rate: number) {
  const ruleset = defaultRuleset();
  const history = new MemoryHistoryStore();
  const profile = PROFILES[currency];
  const key = Buffer.alloc(32, 3);
  let now = Date.parse("2026-11-21T00:00:00.000Z");
  const records: TxRecord[] = [];
  const reasons = new Map<string, Set<string>>();
  let seq = 0;
  for (const planned of planTraffic({
    seed: 11,
    currency,
    merchantId: "demo",
    namespace: "cov",
    total,
    fraudRatio: 0.05,
  })) {
    now += Math.round(1000 / rate);
    const input = {
      transactionId: `cov-${++seq}`,
      occurredAt: formatWithOffset(
        now + planned.offsetMs,
        profile.offsetMinutes,
        profile.utcOffset,
      ),
      ...planned.body,
    };
    const parsed = parseTransactionInput(input);
    assert.ok(parsed.ok);
    const env: StreamEnvelope = {
      v: 1,
      receivedAt: new Date(now).toISOString(),
      tx: tokenizeTransaction(parsed.value, key),
    };
    const item = historyItemOf(env, ruleset.plan(env.tx));
    const [result] = await history.recordBatch([item], now);
    const verdict = ruleset.evaluate(env.tx, item.eventTime, result!);
    const fired = reasons.get(planned.label) ?? new Set<string>();
    for (const r of verdict.reasons) fired.add(r.rule);
    reasons.set(planned.label, fired);
    records.push({
      transactionId: input.transactionId,
      label: planned.label,
      burst: planned.burst,
      status: "accepted",
      action: verdict.action,
    });
  }
  const summary = summarize(records, {
    runId: "cov",
    merchantId: "demo",
    currency,
    seed: 11,
    planned: total,
    sendSeconds: 1,
    elapsedSeconds: 1,
    aborted: false,
  });
  return { summary, reasons };
}

/** The rule that names each pattern: caught for the right reason, not by accident. */
const SIGNATURE: Record<(typeof PATTERN_NAMES)[number], string> = {
  card_testing: "card-testing-card-10m",
  account_takeover: "impossible-travel-customer-3h",
  device_card_cycling: "device-cards-1h",
  structuring: "structuring-customer-24h",
  new_customer_high_value: "new-customer-high-value",
  amount_spike: "amount-spike-customer",
};

describe("simulate traffic against the default ruleset", () => {
  for (const currency of ["JPY", "BRL"] as const) {
    test(`PRC-3 the default ruleset catches every injected pattern and allows normal ${currency} traffic`, async () => {
      // 20 tx/s for 2.5 minutes, compressed the way a real run compresses it.
      const { summary, reasons } = await decideAll(currency, 3000, 20);
      for (const name of PATTERN_NAMES) {
        const row = summary.labels.find((l) => l.label === name)!;
        assert.ok(row.bursts >= 3, `${name}: ${row.bursts} bursts`);
        assert.equal(
          row.caughtPct,
          100,
          `${name}: ${row.burstsFlagged}/${row.burstsDecided} caught`,
        );
        assert.ok(
          reasons.get(name)?.has(SIGNATURE[name]),
          `${name} never fired ${SIGNATURE[name]}`,
        );
      }
      const normal = summary.labels.find((l) => l.label === "normal")!;
      const allowed = normal.allow / normal.decided;
      assert.ok(
        allowed >= 0.99,
        `only ${(100 * allowed).toFixed(1)}% of normal traffic allowed; fired: ${[...(reasons.get("normal") ?? [])].join(", ")}`,
      );
    });
  }
});
