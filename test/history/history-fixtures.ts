import type { HistoryItem, WindowQuery } from "../../src/history/types.ts";

/** An exact integer near the event times production sees (2027), to catch precision loss. */
export const T0 = 1_800_000_000_000;
export const SECOND = 1000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

let counter = 0;

/** A history item of merchant m1 / customer c1 in JPY; override anything. */
export function historyItem(eventTime: number, overrides: Partial<HistoryItem> = {}): HistoryItem {
  counter++;
  return {
    merchantId: "m1",
    transactionId: `tx-${counter}`,
    eventTime,
    amount: 1000,
    currency: "JPY",
    country: "JP",
    entities: { customer: "c1" },
    queries: [],
    ...overrides,
  };
}

/** An item whose card token is also its card entity, as the processor builds them. */
export function withCard(item: HistoryItem, cardToken: string): HistoryItem {
  return { ...item, cardToken, entities: { ...item.entities, card: cardToken } };
}

export function window(
  entity: WindowQuery["entity"],
  windowSeconds: number,
  band: Partial<WindowQuery> = {},
): WindowQuery {
  return { entity, windowSeconds, ...band };
}
