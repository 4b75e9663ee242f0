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
