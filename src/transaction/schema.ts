import { isIP } from "node:net";
import { z } from "zod";
import { FieldError, valueAt } from "../validation.ts";
import {
  cardNumberDigits,
  containsCardNumber,
  luhnValid,
  redactCardNumbers,
} from "./card-number.ts";
import { CHANNELS, PAYMENT_METHOD_TYPES } from "./types.ts";

const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
// RFC 3339 §5.6: "T" and "Z" may be lowercase.
const RFC3339_WITH_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;
/**
 * The instants the system can hold: PostgreSQL's timestamptz and ISO 8601 four-digit years end
 * at 9999 (a year-10000 instant would fail every ledger commit of its batch), and nothing
 * before the epoch is a plausible payment or period bound.
 */
const MIN_INSTANT_MS = Date.UTC(1970, 0, 1);
const MAX_INSTANT_MS = Date.UTC(10000, 0, 1) - 1;
const CURRENCIES = new Set(Intl.supportedValuesOf("currency"));
const REGIONS = new Intl.DisplayNames(["en"], { type: "region", fallback: "none" });

/**
 * Calendar-checks an RFC 3339 timestamp (Date.parse alone accepts 2026-02-30) and requires the
 * instant, after its offset, to lie in UTC years 1970..9999: "9999-12-31T23:59:59-23:59" is
 * valid syntax but an instant in year 10000.
 */
export function isRfc3339WithOffset(value: string): boolean {
  const m = RFC3339_WITH_OFFSET.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as number[];
  const date = new Date(Date.UTC(year!, month! - 1, day!));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month! - 1) return false;
  if (date.getUTCDate() !== day || hour! > 23 || minute! > 59 || second! > 59) return false;
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const [offsetHour, offsetMinute] = [Number(m[10]), Number(m[11])];
    if (offsetHour > 23 || offsetMinute > 59) return false;
    offsetMinutes = (m[9] === "-" ? -1 : 1) * (offsetHour * 60 + offsetMinute);
  }
  // Whole seconds decide: a fraction cannot cross a year boundary the second itself does not.
  const instant = date.getTime() + ((hour! * 60 + minute! - offsetMinutes) * 60 + second!) * 1000;
  return instant >= MIN_INSTANT_MS && instant <= MAX_INSTANT_MS;
}

/** Answers by code, at most 26 x 26 of them: asking ICU costs more than the rest of a parse. */
const countryCodes = new Map<string, boolean>();

export function isCountryCode(value: string): boolean {
  if (!/^[A-Z]{2}$/.test(value)) return false;
  let known = countryCodes.get(value);
  if (known === undefined) {
    known = REGIONS.of(value) !== undefined;
    countryCodes.set(value, known);
  }
  return known;
}

export { luhnValid } from "./card-number.ts";

/**
 * PRIV-1: a card number may only arrive in paymentMethod.card.number, which is tokenized; in any
 * other field it would be stored and logged as sent. The message never repeats the value.
 */
const noCardNumber = (field: string) =>
  z.refine<string>((v) => !containsCardNumber(v), {
    error: `${field} must not contain a card number; send it only in paymentMethod.card.number`,
  });

const idString = (field: string) =>
  z.string({ error: `${field} must be a string` }).check(
    z.refine((v) => ID_PATTERN.test(v), {
      error: `${field} must be 1-64 characters of A-Z a-z 0-9 _ . : -`,
    }),
    noCardNumber(field),
  );

/**
 * PostgreSQL cannot store NUL or a lone UTF-16 surrogate in text or jsonb. Refused at the door,
 * or the record would fail every ledger commit of its batch and block its partition.
 */
export function isStorableText(value: string): boolean {
  return value.isWellFormed() && !value.includes("\u0000");
}

const storableText = (field: string) =>
  z.refine<string>(isStorableText, {
    error: `${field} must be well-formed Unicode without NUL characters`,
  });

const boundedString = (field: string, max: number) =>
  z
    .string({ error: `${field} must be a string` })
    .min(1, { error: `${field} must not be empty` })
    .max(max, { error: `${field} must be at most ${max} characters` })
    .check(storableText(field), noCardNumber(field));

/** Longer than any card number written with separators; longer text is refused, not folded. */
const MAX_CARD_NUMBER_TEXT = 128;

const cardSchema = z
  .strictObject({
    // SEC-5: the number in any script's digits, with any separators ("４１１１ １１１１ …",
    // "4111\u200b1111…") is the same card: read as its ASCII digits, so it is validated and
    // tokenized as the plain number, and its spelling cannot make a second token for it.
    number: z
      .string({ error: "paymentMethod.card.number must be a string of digits" })
      .overwrite((v) => (v.length > MAX_CARD_NUMBER_TEXT ? v : cardNumberDigits(v)))
      .check(
        z.refine((v) => /^\d{12,19}$/.test(v), {
          error: "paymentMethod.card.number must be 12-19 digits",
        }),
        z.refine((v) => !/^\d{12,19}$/.test(v) || luhnValid(v), {
          error: "paymentMethod.card.number fails the Luhn check",
        }),
      )
      .optional(),
    token: boundedString("paymentMethod.card.token", 128).optional(),
    bin: z
      .string({ error: "paymentMethod.card.bin must be a string" })
      .regex(/^\d{6,8}$/, { error: "paymentMethod.card.bin must be 6-8 digits" })
      .optional(),
    last4: z
      .string({ error: "paymentMethod.card.last4 must be a string" })
      .regex(/^\d{4}$/, { error: "paymentMethod.card.last4 must be 4 digits" })
      .optional(),
  })
  .check(
    z.refine((c) => c.number !== undefined || c.token !== undefined, {
      error: "paymentMethod.card needs a number or a token",
    }),
  );

const paymentMethodSchema = z
  .strictObject({
    type: z.enum(PAYMENT_METHOD_TYPES, {
      error: `paymentMethod.type must be one of ${PAYMENT_METHOD_TYPES.join(", ")}`,
    }),
    card: cardSchema.optional(),
  })
  .check(
    z.refine((p) => p.type !== "card" || p.card !== undefined, {
      error: "paymentMethod.card is required when paymentMethod.type is card",
      path: ["card"],
    }),
    z.refine((p) => p.type === "card" || p.card === undefined, {
      error: "paymentMethod.card is only allowed when paymentMethod.type is card",
      path: ["card"],
    }),
  );

/** The wire schema of one transaction (API.md "Transaction"). Unknown fields are rejected. */
export const transactionInputSchema = z.strictObject({
  transactionId: idString("transactionId"),
  occurredAt: z.string({ error: "occurredAt must be a string" }).refine(isRfc3339WithOffset, {
    error: "occurredAt must be an RFC 3339 timestamp with offset, e.g. 2026-11-21T09:30:00+09:00",
  }),
  merchantId: boundedString("merchantId", 64),
  customerId: boundedString("customerId", 64),
  amount: z
    .number({ error: "amount must be a positive integer" })
    .int({ error: "amount must be a positive integer" })
    .min(1, { error: "amount must be a positive integer" })
    .max(1e12, { error: "amount must be at most 1000000000000" }),
  currency: z
    .string({ error: "currency must be a string" })
    .refine((v) => CURRENCIES.has(v), { error: "currency must be an ISO 4217 code, e.g. JPY" }),
  paymentMethod: paymentMethodSchema,
  channel: z.enum(CHANNELS, { error: `channel must be one of ${CHANNELS.join(", ")}` }).optional(),
  ipAddress: z
    .string({ error: "ipAddress must be a string" })
    .refine((v) => isIP(v) !== 0, { error: "ipAddress must be an IPv4 or IPv6 address" })
    .optional(),
  deviceId: boundedString("deviceId", 128).optional(),
  country: z
    .string({ error: "country must be a string" })
    .refine(isCountryCode, { error: "country must be an ISO 3166-1 alpha-2 code, e.g. JP" })
    .optional(),
  shippingCountry: z
    .string({ error: "shippingCountry must be a string" })
    .refine(isCountryCode, {
      error: "shippingCountry must be an ISO 3166-1 alpha-2 code, e.g. BR",
    })
    .optional(),
  mcc: z
    .string({ error: "mcc must be a string" })
    .regex(/^\d{4}$/, { error: "mcc must be 4 digits" })
    .optional(),
  metadata: z
    .record(
      z
        .string()
        .max(64, { error: "metadata keys must be at most 64 characters" })
        .check(storableText("metadata keys")),
      z
        .string({ error: "metadata values must be strings" })
        .max(256, { error: "metadata values must be at most 256 characters" })
        .check(storableText("metadata values"), noCardNumber("metadata values")),
      { error: "metadata must be an object of string values" },
    )
    .refine((m) => Object.keys(m).length <= 20, { error: "metadata must have at most 20 keys" })
    // On the record, not the key schema: a key's issue path is the key, and the field named in
    // the error must not repeat the card number.
    .refine((m) => !Object.keys(m).some(containsCardNumber), {
      error: "metadata keys must not contain a card number",
    })
    .optional(),
});

export type TransactionInput = z.infer<typeof transactionInputSchema>;

/** Ids in URL paths follow the same rules; anything else cannot name a stored resource. */
export function isPlausibleId(value: string, max = 64): boolean {
  return value.length >= 1 && value.length <= max && isStorableText(value);
}

/**
 * Renders a zod path as the field name a client sees: paymentMethod.card.number, items[2].
 * Keys are the client's own text (metadata keys, unknown fields): a card number in one is
 * replaced (PRIV-1), or the 400 would hand it back to the client.
 */
export function fieldOf(path: readonly PropertyKey[], prefix = ""): string | undefined {
  let out = prefix;
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else {
      const key = redactCardNumbers(String(part));
      out += out === "" ? key : `.${key}`;
    }
  }
  return out === "" ? undefined : out;
}

/**
 * A transaction that breaks the wire schema, naming the field: the domain's own error, which
 * api/ answers as TXW_ERR_VALIDATION and the processor quarantines by its message.
 */
export class TransactionFieldError extends FieldError {
  constructor(field: string | undefined, message: string) {
    super(field, message);
    this.name = "TransactionFieldError";
  }
}

/** Turns the first zod issue into a TransactionFieldError naming the field. */
export function toFieldError(
  error: z.ZodError,
  prefix = "",
  input?: unknown,
): TransactionFieldError {
  const issue = error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    const field = fieldOf([...issue.path, issue.keys[0]!], prefix)!;
    return new TransactionFieldError(field, `${field} is not a known field`);
  }
  const field = fieldOf(issue.path, prefix);
  if (
    issue.code === "invalid_type" &&
    field !== undefined &&
    valueAt(input, issue.path) === undefined
  ) {
    return new TransactionFieldError(field, `${field} is required`);
  }
  // Our messages start with the bare field name; put the batch prefix in front of it, and
  // name the field in front of zod's generic messages.
  const bare = fieldOf(issue.path);
  let message = issue.message;
  if (bare !== undefined && field !== undefined && message.startsWith(bare)) {
    message = field + message.slice(bare.length);
  } else if (field !== undefined) {
    message = `${field}: ${message}`;
  }
  // zod's own messages may quote the input (ours never do): FieldError redacts card numbers.
  return new TransactionFieldError(field, message);
}

export function parseTransactionInput(
  body: unknown,
  prefix = "",
): { ok: true; value: TransactionInput } | { ok: false; error: TransactionFieldError } {
  const result = transactionInputSchema.safeParse(body);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, error: toFieldError(result.error, prefix, body) };
}

/** A card as it may appear on the stream: tokenized only. A number here means a bad producer. */
const tokenizedCardSchema = z.strictObject({
  token: boundedString("paymentMethod.card.token", 128),
  bin: z
    .string()
    .regex(/^\d{6,8}$/, { error: "paymentMethod.card.bin must be 6-8 digits" })
    .optional(),
  last4: z
    .string()
    .regex(/^\d{4}$/, { error: "paymentMethod.card.last4 must be 4 digits" })
    .optional(),
});

/** The transaction as stored and streamed: the wire schema with the card tokenized. */
export const storedTransactionSchema = transactionInputSchema.extend({
  paymentMethod: z.strictObject({
    type: z.enum(PAYMENT_METHOD_TYPES),
    card: tokenizedCardSchema.optional(),
  }),
});

/** The stream record the processor accepts (StreamEnvelope). */
export const streamEnvelopeSchema = z.strictObject({
  v: z.literal(1, { error: "v must be 1" }),
  receivedAt: z.string().refine(isRfc3339WithOffset, { error: "receivedAt must be RFC 3339" }),
  tx: storedTransactionSchema,
});
