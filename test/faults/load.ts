import { sleep } from "../support/wait.ts";
import type { HonestClient } from "./honest-client.ts";

/** A 16-digit Visa-shaped number that passes Luhn, one per `n`. */
export function cardNumber(n: number): string {
  const body = `4${String(n).padStart(14, "0")}`;
  let sum = 0;
  // Luhn over body + check digit: from the right, the check digit is position 1 (not doubled).
  for (let i = 0; i < body.length; i++) {
    let digit = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}

const iso = (ms: number) => new Date(ms).toISOString().replace("Z", "+00:00");

export interface TxOptions {
  customerId: string;
  /** Card index for cardNumber(). */
  card: number;
  amount?: number;
  /** Event time, ms since the epoch. @default now */
  occurredAt?: number;
  deviceId?: string;
  ipAddress?: string;
}

/** A valid transaction of the merchant `demo` (the key `txwatch start` prints is demo's). */
export function transaction(transactionId: string, options: TxOptions): Record<string, unknown> {
  return {
    transactionId,
    occurredAt: iso(options.occurredAt ?? Date.now()),
    merchantId: "demo",
    customerId: options.customerId,
    amount: options.amount ?? 3000 + ((transactionId.length * 7919) % 20_000),
    currency: "JPY",
    paymentMethod: { type: "card", card: { number: cardNumber(options.card) } },
    channel: "web",
    ipAddress: options.ipAddress ?? "198.51.100.7",
    deviceId: options.deviceId ?? `dev-${options.customerId}`,
    country: "JP",
    shippingCountry: "JP",
    mcc: "5732",
  };
}

/**
 * The ordinary traffic of scenario `tag`: transaction `n` belongs to one of `customers`
 * customers (each with its own card, device and address), so at a few thousand transactions
 * no customer pays more than a handful of times and next to no rule fires.
 */
export function ordinary(tag: string, n: number, customers = 1000): Record<string, unknown> {
  const c = n % customers;
  return transaction(`${tag}-${String(n).padStart(6, "0")}`, {
    customerId: `${tag}-cust-${c}`,
    card: 1_000_000 + c,
    ipAddress: `10.${(c >> 8) & 255}.${c & 255}.9`,
  });
}

/**
 * Submits `total` ordinary transactions evenly over `durationMs`, calling `at(fraction)` hooks
 * as the load passes each fraction (0..1) of its transactions: the moments faults are injected.
 * Hooks run without holding the load: it keeps going while a hook kills or restarts something.
 */
export async function paceLoad(
  client: HonestClient,
  tag: string,
  total: number,
  durationMs: number,
  hooks: { at: number; run: () => Promise<void> }[] = [],
  extra?: (n: number) => Record<string, unknown>[],
): Promise<void> {
  const started = Date.now();
  const pending = [...hooks].sort((a, b) => a.at - b.at);
  const running: Promise<void>[] = [];
  // Awaited together at the end; a hook that fails meanwhile is not an unhandled rejection.
  const start = (run: () => Promise<void>) => {
    const promise = run();
    promise.catch(() => {});
    return promise;
  };
  let n = 0;
  while (n < total) {
    const due = Math.min(total, Math.ceil(((Date.now() - started) / durationMs) * total));
    while (n < due) {
      client.submit(ordinary(tag, n));
      const more = extra?.(n);
      if (more !== undefined && more.length > 0) client.submit(...more);
      n++;
      while (pending.length > 0 && n >= pending[0]!.at * total) {
        running.push(start(pending.shift()!.run));
      }
    }
    await sleep(50);
  }
  for (const hook of pending) running.push(start(hook.run));
  await Promise.all(running);
}
