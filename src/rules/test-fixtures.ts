// Hand-built inputs for the rules tests: the history implementation belongs to another module,
// so these fixtures state exactly what the history would have returned.

import type { Transaction } from "../transaction/types.ts";
import { parseRuleset } from "./load-ruleset.ts";
import type { CompiledRuleset } from "./types.ts";
import type { HistoryResult, PriorSummary, WindowQuery, WindowResult } from "./vocabulary.ts";

export const T0 = Date.parse("2026-11-21T00:30:00Z");
export const MINUTE = 60_000;

export function makeTx(overrides: Partial<Transaction> = {}): Transaction {
  return {
    transactionId: "tx-1",
    occurredAt: "2026-11-21T09:30:00+09:00",
    merchantId: "japancart",
    customerId: "cust-42",
    amount: 12800,
    currency: "JPY",
    paymentMethod: { type: "card", card: { token: "tok-card-1", bin: "411111", last4: "1111" } },
    ipAddress: "203.0.113.7",
    deviceId: "dev-9f2c",
    country: "JP",
    shippingCountry: "JP",
    ...overrides,
  };
}

export function prior(overrides: Partial<PriorSummary> = {}): PriorSummary {
  return {
    count: 0,
    sameCurrencyCount: 0,
    sameCurrencySum: 0,
    last: null,
    ...overrides,
  };
}

export interface HistoryFixture {
  /** What each planned query returns; zeros (plus the transaction itself) when omitted. */
  windows?: (query: WindowQuery) => Partial<WindowResult>;
  prior?: HistoryResult["prior"];
}

/** The HistoryResult the history would return for `tx` under `ruleset`'s plan. */
export function historyFor(
  ruleset: CompiledRuleset,
  tx: Transaction,
  fixture: HistoryFixture = {},
): HistoryResult {
  const windows = ruleset.plan(tx).map((query) => ({
    count: 1,
    sum: tx.amount,
    distinctCards: 1,
    ...fixture.windows?.(query),
  }));
  const emptyPrior: HistoryResult["prior"] = { customer: prior() };
  if (tx.paymentMethod.card) emptyPrior.card = prior();
  if (tx.deviceId) emptyPrior.device = prior();
  if (tx.ipAddress) emptyPrior.ip = prior();
  return { prior: { ...emptyPrior, ...fixture.prior }, windows };
}

export function rulesetOf(
  rules: Record<string, unknown>[],
  thresholds: { review: number; block: number } = { review: 50, block: 90 },
): CompiledRuleset {
  return parseRuleset(JSON.stringify({ name: "test", thresholds, rules }), "json");
}

/** Evaluates one transaction; returns the verdict. */
export function decide(
  ruleset: CompiledRuleset,
  tx: Transaction,
  fixture: HistoryFixture = {},
  eventTime = T0,
) {
  return ruleset.evaluate(tx, eventTime, historyFor(ruleset, tx, fixture));
}

/** The ids of the rules that fired. */
export function fired(
  ruleset: CompiledRuleset,
  tx: Transaction,
  fixture: HistoryFixture = {},
  eventTime = T0,
): string[] {
  return decide(ruleset, tx, fixture, eventTime).reasons.map((r) => r.rule);
}
