import { makeCardNumber, Rng } from "../src/simulate/index.ts";

/**
 * A benchmark workload: customers with a skewed activity (a few very active), one or two cards
 * each, cards shared by few devices, and a small share of card-testing bursts. Deterministic.
 */
export interface Workload {
  transactions: Record<string, unknown>[];
}

export function buildWorkload(
  count: number,
  customers: number,
  merchantId: string,
  seed = 7,
): Workload {
  const rng = new Rng(seed);
  const rand = () => rng.next();
  const cards = Array.from({ length: customers }, (_, i) => [
    makeCardNumber(rng, i % 2 === 0 ? "411111" : "510510"),
  ]);
  const transactions: Record<string, unknown>[] = [];
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    // Zipf-like skew: squaring a uniform draw concentrates activity on low customer numbers.
    const c = Math.floor(rand() ** 2 * customers);
    const burst = rand() < 0.01;
    const number = cards[c]![0]!;
    transactions.push({
      transactionId: `b-${seed}-${i}`,
      occurredAt: new Date(now - (count - i)).toISOString(),
      merchantId,
      customerId: `c-${c}`,
      amount: burst ? 100 : 1000 + Math.floor(rand() * 30000),
      currency: "JPY",
      paymentMethod: { type: "card", card: { number } },
      ipAddress: `203.0.113.${c % 250}`,
      deviceId: `d-${Math.floor(c / 2)}`,
      country: "JP",
    });
  }
  return { transactions };
}
