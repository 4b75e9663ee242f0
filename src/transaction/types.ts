/** Payment method types the contract accepts (API.md). */
export const PAYMENT_METHOD_TYPES = [
  "card",
  "bank_transfer",
  "wallet",
  "pix",
  "konbini",
  "cod",
] as const;
export type PaymentMethodType = (typeof PAYMENT_METHOD_TYPES)[number];

export const CHANNELS = ["web", "app", "pos", "phone"] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * A card after ingest: the number is gone, replaced by a keyed HMAC token.
 * BIN and last 4 are kept because analysts and rules need them and PCI DSS allows them.
 */
export interface TokenizedCard {
  token: string;
  bin?: string;
  last4?: string;
}

/** A transaction as it travels past the API: on the stream, in the ledger, in rules. */
export interface Transaction {
  transactionId: string;
  occurredAt: string;
  merchantId: string;
  customerId: string;
  amount: number;
  currency: string;
  paymentMethod: { type: PaymentMethodType; card?: TokenizedCard };
  channel?: Channel;
  ipAddress?: string;
  deviceId?: string;
  country?: string;
  shippingCountry?: string;
  mcc?: string;
  metadata?: Record<string, string>;
}

/** What the API puts on the stream: the transaction plus when it was accepted. */
export interface StreamEnvelope {
  v: 1;
  /** ISO 8601 instant the API accepted the transaction; latency is measured from here. */
  receivedAt: string;
  tx: Transaction;
}

export type Action = "allow" | "review" | "block";

export interface Reason {
  rule: string;
  score: number;
  detail: string;
}

export interface Decision {
  action: Action;
  score: number;
  reasons: Reason[];
  rulesetVersion: string;
  decidedAt: string;
}

/**
 * The instant a transaction counts at in windows: when it happened, but never later than
 * when we received it, so a skewed client clock cannot push entries into the future.
 * Derived only from the envelope, so every redelivery computes the same value.
 */
export function eventTimeOf(env: StreamEnvelope): number {
  const occurred = Date.parse(env.tx.occurredAt);
  const received = Date.parse(env.receivedAt);
  return Math.min(occurred, received);
}
