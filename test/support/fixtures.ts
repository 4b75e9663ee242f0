import type { Alert } from "../../src/ledger/types.ts";
import { parseRuleset } from "../../src/rules/index.ts";
import type { CompiledRuleset } from "../../src/rules/types.ts";
import type { TransactionInput } from "../../src/transaction/schema.ts";

/** A Visa test number (passes Luhn); it must never appear in any output. */
export const TEST_PAN = "4111111111111111";

let counter = 0;

/** A valid wire transaction; override any field. */
export function wireTransaction(
  overrides: Partial<Record<keyof TransactionInput, unknown>> = {},
): Record<string, unknown> {
  counter++;
  return {
    transactionId: `tx-${process.pid}-${Date.now()}-${counter}`,
    occurredAt: new Date().toISOString().replace("Z", "+00:00"),
    merchantId: "japancart",
    customerId: "cust-42",
    amount: 12800,
    currency: "JPY",
    paymentMethod: { type: "card", card: { number: TEST_PAN } },
    channel: "web",
    ipAddress: "203.0.113.7",
    deviceId: "dev-9f2c",
    country: "JP",
    shippingCountry: "JP",
    mcc: "5732",
    metadata: { orderId: "o-1" },
    ...overrides,
  };
}

/** A ruleset that reviews every transaction, so each raises exactly one alert. */
export function alwaysReviewRuleset(): CompiledRuleset {
  return parseRuleset(
    JSON.stringify({
      name: "always-review",
      thresholds: { review: 10, block: 90 },
      rules: [{ id: "any-amount", kind: "high_amount", minAmount: { "*": 1 }, score: 20 }],
    }),
    "json",
  );
}

let alertCounter = 0;

/** A stored alert as the ledger hands it to a channel; override any field. */
export function sampleAlert(overrides: Partial<Alert> = {}): Alert {
  alertCounter++;
  return {
    id: String(alertCounter),
    merchantId: "japancart",
    transactionId: `tx-${alertCounter}`,
    customerId: "cust-1",
    rule: "card-testing-card-10m",
    action: "review",
    score: 50,
    detail: "card made 6 transactions in 10m (limit 4)",
    status: "open",
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    notes: [],
    ...overrides,
  };
}
