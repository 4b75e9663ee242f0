import { createHmac } from "node:crypto";
import { binOf } from "./card-number.ts";
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

function tokenizedBin(number: string): { bin?: string } {
  const bin = binOf(number);
  return bin === undefined ? {} : { bin };
}

/**
 * The stored form of a validated transaction: no card number, only token, last 4 and, for
 * numbers of 15 digits or more, the BIN (binOf).
 */
export function tokenizeTransaction(input: TransactionInput, key: Buffer): Transaction {
  const { paymentMethod, ...rest } = input;
  const card = paymentMethod.card;
  if (card === undefined) return { ...rest, paymentMethod: { type: paymentMethod.type } };
  const { number, token, bin, last4 } = card;
  const tokenized =
    number === undefined
      ? { token: token!, ...(bin && { bin }), ...(last4 && { last4 }) }
      : { token: cardToken(number, key), ...tokenizedBin(number), last4: number.slice(-4) };
  return { ...rest, paymentMethod: { type: paymentMethod.type, card: tokenized } };
}

/** Kept here too: quarantine and tests mask through the tokenization module. */
export { containsCardNumber, maskCardNumbers } from "./card-number.ts";
