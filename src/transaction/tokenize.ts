import { createHmac } from "node:crypto";
import type { TransactionInput } from "./schema.ts";
import type { Transaction } from "./types.ts";

/**
 * Replaces a card number by a keyed HMAC-SHA256 token (PRIV-1). Keyed, so that a leaked ledger
 * cannot be reversed by hashing the small space of valid card numbers; deterministic, so that
 * rules can still count what one card did.
 */
export function cardToken(number: string, key: Buffer): string {
  return `tok_${createHmac("sha256", key).update(number).digest("base64url")}`;
}

/** The stored form of a validated transaction: no card number, only token, BIN and last 4. */
export function tokenizeTransaction(input: TransactionInput, key: Buffer): Transaction {
  const { paymentMethod, ...rest } = input;
  const card = paymentMethod.card;
  if (card === undefined) return { ...rest, paymentMethod: { type: paymentMethod.type } };
  const { number, token, bin, last4 } = card;
  const tokenized =
    number === undefined
      ? { token: token!, ...(bin && { bin }), ...(last4 && { last4 }) }
      : { token: cardToken(number, key), bin: number.slice(0, 6), last4: number.slice(-4) };
  return { ...rest, paymentMethod: { type: paymentMethod.type, card: tokenized } };
}

/**
 * Masks anything that looks like a card number (13-19 digits, optionally separated) in free
 * text, for quarantined payloads and error messages that must never carry a PAN.
 */
export function maskCardNumbers(text: string): string {
  return text.replace(/\b\d(?:[ -]?\d){12,18}\b/g, (m) => {
    const digits = m.replace(/\D/g, "");
    return `${digits.slice(0, 6)}${"*".repeat(digits.length - 10)}${digits.slice(-4)}`;
  });
}
