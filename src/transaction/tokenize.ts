import { createHmac } from "node:crypto";
import { binOf, cardNumberDigits } from "./card-number.ts";
import type { TransactionInput } from "./schema.ts";
import type { Transaction } from "./types.ts";

/** Put before the merchant in the token's HMAC: tells it from the HMAC of a bare number. */
const TOKEN_CONTEXT = Buffer.from("txwatch card token v2\0", "utf8");

/** The token of a card before SEC-5: one HMAC of the number, the same under every merchant. */
function cardDigest(number: string, key: Buffer): Buffer {
  return createHmac("sha256", key).update(number).digest();
}

function merchantToken(merchantId: string, digest: Buffer, key: Buffer): string {
  const merchant = Buffer.from(merchantId, "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32BE(merchant.length);
  const mac = createHmac("sha256", key).update(TOKEN_CONTEXT).update(length).update(merchant);
  return `tok_${mac.update(digest).digest("base64url")}`;
}

/**
 * Replaces a card number by a keyed HMAC-SHA256 token (PRIV-1). Keyed, so that a leaked ledger
 * cannot be reversed by hashing the small space of valid card numbers; deterministic per
 * merchant, so that rules can still count what one card did; per merchant (SEC-5), so that the
 * same card under two merchants gets two unrelated tokens and no token links a customer across
 * tenants. It is an HMAC over the merchant id (length-prefixed, so no merchant id and number
 * run into another pair's) and the keyed digest of the number, which is what tokens held before
 * SEC-5: so a stored old token converts to the new one without the number (migratedCardToken).
 */
export function cardToken(merchantId: string, number: string, key: Buffer): string {
  return merchantToken(merchantId, cardDigest(number, key), key);
}

/**
 * The merchant's token for a card whose token was made before SEC-5 (`tok_` + the HMAC of the
 * bare number), for migrating stored tokens (ledger rows, list rules, history keys); undefined
 * for anything else, such as a client's own token.
 */
export function migratedCardToken(
  merchantId: string,
  legacyToken: string,
  key: Buffer,
): string | undefined {
  if (!/^tok_[A-Za-z0-9_-]{43}$/.test(legacyToken)) return undefined;
  return merchantToken(merchantId, Buffer.from(legacyToken.slice(4), "base64url"), key);
}

function tokenizedBin(number: string): { bin?: string } {
  const bin = binOf(number);
  return bin === undefined ? {} : { bin };
}

/**
 * The stored form of a validated transaction: no card number, only the merchant's token for it,
 * last 4 and, for numbers of 15 digits or more, the BIN (binOf). The schema already reads the
 * number as ASCII digits; read again here, so a caller passing the number as the client wrote
 * it ("４１１１ …") still gets the plain number's token, BIN and last 4.
 */
export function tokenizeTransaction(input: TransactionInput, key: Buffer): Transaction {
  const { paymentMethod, ...rest } = input;
  const card = paymentMethod.card;
  if (card === undefined) return { ...rest, paymentMethod: { type: paymentMethod.type } };
  const { token, bin, last4 } = card;
  const number = card.number === undefined ? undefined : cardNumberDigits(card.number);
  const tokenized =
    number === undefined
      ? { token: token!, ...(bin && { bin }), ...(last4 && { last4 }) }
      : {
          token: cardToken(input.merchantId, number, key),
          ...tokenizedBin(number),
          last4: number.slice(-4),
        };
  return { ...rest, paymentMethod: { type: paymentMethod.type, card: tokenized } };
}

/** Kept here too: quarantine and tests mask through the tokenization module. */
export { containsCardNumber, maskCardNumbers } from "./card-number.ts";
