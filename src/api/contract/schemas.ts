/**
 * The wire shapes of the API's answers (OPS-3), as zod schemas: the routes type what they send
 * with these, and docs/openapi.json is generated from them and from the request schemas the
 * routes validate with (openapi.ts). A shape the server sends differently fails the type checks
 * at the end of this file, or the contract test (test/contract) that checks live answers.
 */
import { z } from "zod";
import { ERROR_CATALOGUE, type ErrorBody, type ErrorCode } from "../../errors.ts";
import type { Alert } from "../../ledger/types.ts";
import { storedTransactionSchema, transactionInputSchema } from "../../transaction/schema.ts";
import type { Decision, Transaction } from "../../transaction/types.ts";
import { type IngestResult, MAX_BATCH } from "../ingest.ts";
import { DEFAULT_HTTP_LIMITS } from "../limits.ts";

/** What the document says of a schema: `id` makes it a component of its own. */
export interface ContractMeta {
  id?: string;
  title?: string;
  description?: string;
  examples?: unknown[];
  format?: string;
}

/** The schemas the document names, and the descriptions of their fields. */
export const contract = z.registry<ContractMeta>();

export function described<T extends z.ZodType>(schema: T, description: string): T {
  contract.add(schema as z.ZodType, { description });
  return schema;
}

/** An instant the server writes: ISO 8601 in UTC, e.g. 2026-11-21T00:30:00.000Z. */
const instant = (description: string) =>
  z.string().register(contract, { description, format: "date-time" });

// ---- requests: the schemas the routes validate with, described -------------------------------

const input = transactionInputSchema.shape;
const fieldDescriptions: [z.ZodType, string][] = [
  [
    input.transactionId,
    "1-64 characters of A-Z a-z 0-9 _ . : -; unique per merchant (the idempotency key)",
  ],
  [input.occurredAt, "when it happened: RFC 3339 with an offset, years 1970-9999"],
  [input.merchantId, "the merchant of the API key"],
  [input.customerId, "the merchant's customer"],
  [
    input.amount,
    "in the currency's minor unit (JPY 12800 = ¥12,800; BRL 1050 = R$10.50), 1 .. 10^12",
  ],
  [input.currency, "ISO 4217 alpha-3 code"],
  [input.channel, "where the customer paid"],
  [input.ipAddress, "the customer's IPv4 or IPv6 address"],
  [input.deviceId, "the customer's device"],
  [input.country, "ISO 3166-1 alpha-2 code of the customer"],
  [input.shippingCountry, "ISO 3166-1 alpha-2 code of the shipping address"],
  [input.mcc, "merchant category code"],
  [
    input.metadata,
    "at most 20 keys of at most 64 characters, string values of at most 256 characters",
  ],
  [
    input.paymentMethod,
    "`card` needs `card` with a `number` (tokenized at ingest, never stored or logged) or a `token`; other types take no `card`",
  ],
];
for (const [schema, description] of fieldDescriptions) described(schema, description);

transactionInputSchema.register(contract, {
  id: "TransactionInput",
  description:
    "One transaction as a client sends it. Unknown fields are refused; a card number is accepted only in paymentMethod.card.number.",
});

/** The body of POST /v1/transactions as itemsOf (ingest.ts) splits it; each item as validated. */
export const ingestRequestSchema = z
  .union([
    transactionInputSchema,
    z
      .strictObject({
        transactions: described(
          z.array(transactionInputSchema).min(1).max(MAX_BATCH),
          `1-${MAX_BATCH} transactions; each is answered on its own, so an invalid one is rejected in results while the others are accepted`,
        ),
      })
      .register(contract, { id: "TransactionBatch" }),
  ])
  .register(contract, { id: "IngestRequest" });

/** An id in a path: any text the router reads (longer is a 414); an implausible one is a 404. */
export const pathIdSchema = z.string().min(1).max(DEFAULT_HTTP_LIMITS.maxParamLength);

// ---- errors -----------------------------------------------------------------------------------

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as [ErrorCode, ...ErrorCode[]];

export const errorBodySchema = z
  .strictObject({
    code: z.enum(ERROR_CODES),
    message: described(
      z.string(),
      "for people; never repeats internal text, a card number or the request path",
    ),
    field: described(
      z.string(),
      "the field or query parameter at fault, e.g. amount, transactions[2].currency",
    ).optional(),
  })
  .register(contract, { id: "ErrorBody" });

export const errorResponseSchema = z
  .strictObject({ error: errorBodySchema })
  .register(contract, { id: "Error", description: "Every error the server sends." });

/** TXW_ERR_URI_TOO_LONG -> UriTooLong: how the document names a code's answer. */
export const errorNameOf = (code: ErrorCode) =>
  code
    .slice("TXW_ERR_".length)
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());

/** The error answer of one code (UriTooLongError): the catalogue gives each its own status. */
const errorResponseOf = (code: ErrorCode) =>
  z
    .strictObject({
      error: z.strictObject({ ...errorBodySchema.shape, code: z.literal(code) }),
    })
    .register(contract, { id: `${errorNameOf(code)}Error` });

export const errorResponses = Object.fromEntries(
  ERROR_CODES.map((code) => [code, errorResponseOf(code)]),
) as { [C in ErrorCode]: ReturnType<typeof errorResponseOf> };

// ---- POST /v1/transactions --------------------------------------------------------------------

export const ingestResultSchema = z
  .strictObject({
    transactionId: z.string().optional(),
    status: described(
      z.enum(["accepted", "duplicate", "rejected"]),
      "accepted: durably on the stream; duplicate: the id was accepted before, nothing new is stored; rejected: see error",
    ),
    deduplication: described(
      z.literal("deferred"),
      "on an item accepted while the ledger or the claim store could not be asked: if its id was accepted before, the ledger keeps the first and this one proves a duplicate later, storing nothing new",
    ).optional(),
    error: errorBodySchema.optional(),
  })
  .register(contract, {
    id: "IngestResult",
    description:
      "The answer for one transaction. transactionId is absent only for a rejected item without a usable one; error is present exactly when rejected.",
  });

export const ingestBatchResultSchema = z
  .strictObject({
    accepted: z.int().min(0),
    duplicate: z.int().min(0),
    rejected: z.int().min(0),
    results: described(z.array(ingestResultSchema), "one per item, in the order sent"),
  })
  .register(contract, { id: "IngestBatchResult" });

export const ingestResponseSchema = z
  .union([ingestResultSchema, ingestBatchResultSchema])
  .register(contract, {
    id: "IngestResponse",
    description: "IngestResult for one transaction, IngestBatchResult for a batch.",
  });

// ---- transactions -----------------------------------------------------------------------------

export const reasonSchema = z
  .strictObject({ rule: z.string(), score: z.number(), detail: z.string() })
  .register(contract, { id: "Reason" });

export const decisionSchema = z
  .strictObject({
    action: z.enum(["allow", "review", "block"]),
    score: z.number(),
    reasons: described(z.array(reasonSchema), "the rules that fired"),
    rulesetVersion: z.string(),
    decidedAt: instant("when it was decided"),
  })
  .register(contract, { id: "Decision" });

/** One line of the export, and the body of GET /v1/transactions/{id} without its status. */
export const exportedTransactionSchema = storedTransactionSchema
  .extend({
    receivedAt: instant("when the API accepted it"),
    recordedAt: instant("when the ledger recorded it"),
    decision: decisionSchema,
  })
  .register(contract, {
    id: "ExportedTransaction",
    description:
      "A stored transaction with its decision: the card number is replaced by its token, bin and last4. Each line of the export.",
  });

export const decidedTransactionSchema = exportedTransactionSchema
  .extend({ status: z.literal("decided") })
  .register(contract, { id: "DecidedTransaction" });

export const pendingTransactionSchema = z
  .strictObject({
    transactionId: z.string(),
    merchantId: z.string(),
    receivedAt: instant("when the API accepted it").optional(),
    status: z.literal("pending"),
  })
  .register(contract, {
    id: "PendingTransaction",
    description: "Accepted, and still not decided after the server waited up to 1 s for it.",
  });

export const transactionViewSchema = z
  .discriminatedUnion("status", [decidedTransactionSchema, pendingTransactionSchema])
  .register(contract, { id: "TransactionView" });

// ---- customers --------------------------------------------------------------------------------

export const customerHistorySchema = z
  .strictObject({
    customerId: z.string(),
    windowSeconds: z.int(),
    asOf: instant("the end of the window"),
    count: z.int().min(0),
    totals: described(z.record(z.string(), z.number()), "amount per currency, in minor units"),
    transactions: z.array(
      z.strictObject({
        transactionId: z.string(),
        eventTime: instant("when it counts in windows: when it occurred, at latest when received"),
        amount: z.number(),
        currency: z.string(),
        country: z.string().optional(),
        cardToken: z.string().optional(),
      }),
    ),
  })
  .register(contract, {
    id: "CustomerHistory",
    description: "The customer's last 24 hours as the rules saw them.",
  });

// ---- alerts -----------------------------------------------------------------------------------

const alertStatusSchema = z.enum(["open", "acknowledged", "closed"]);

export const alertSchema = z
  .strictObject({
    id: z.string(),
    merchantId: z.string(),
    transactionId: z.string(),
    customerId: z.string(),
    rule: z.string(),
    action: z.enum(["allow", "review", "block"]),
    score: z.number(),
    detail: z.string(),
    status: alertStatusSchema,
    createdAt: instant("when it was raised"),
    updatedAt: instant("its last change"),
    notes: described(
      z.array(z.strictObject({ at: z.string(), status: alertStatusSchema, note: z.string() })),
      "analysts' notes in order, with the status change each came with",
    ),
  })
  .register(contract, { id: "Alert", description: "One fired rule of a review or block." });

export const alertPageSchema = z
  .strictObject({
    alerts: z.array(alertSchema),
    nextCursor: described(
      z.string().nullable(),
      "pass as `cursor` for the next page; null on the last page",
    ),
  })
  .register(contract, { id: "AlertPage" });

// ---- probes -----------------------------------------------------------------------------------

export const healthSchema = z
  .strictObject({ status: z.literal("ok") })
  .register(contract, { id: "Health" });

const checkSchema = z.enum(["ok", "unavailable"]);
const stateSchema = z.enum(["up", "down"]);
const readinessParts = {
  checks: z.strictObject({
    stream: checkSchema,
    history: checkSchema,
    ledger: checkSchema,
    processing: described(
      z.enum(["ok", "stuck"]),
      "stuck: a stream partition the processor has not got past for TXWATCH_STUCK_AFTER_SECONDS",
    ),
  }),
  dependencies: described(
    z.strictObject({ ledger: stateSchema, history: stateSchema, stream: stateSchema }),
    "each dependency's state, as the logs and txwatch_dependency_up name them",
  ),
  stuck: described(
    z.array(
      z.strictObject({
        partition: described(z.string(), "the local log's partition number or the shard id"),
        oldestAgeSeconds: z.int().min(0),
        records: described(z.int().min(0), "not yet handled; absent on Kinesis").optional(),
      }),
    ),
    "the stuck partitions, with the age of their oldest record",
  ),
};

export const readySchema = z
  .strictObject({ status: z.literal("ready"), ...readinessParts })
  .register(contract, { id: "Ready" });

export const notReadySchema = z
  .strictObject({
    error: errorResponses.TXW_ERR_UNAVAILABLE.shape.error,
    status: z.literal("not_ready"),
    ...readinessParts,
  })
  .register(contract, {
    id: "NotReady",
    description: "The error's message names what is unavailable.",
  });

export const readyzUnavailableSchema = z
  .union([notReadySchema, errorResponses.TXW_ERR_UNAVAILABLE])
  .register(contract, {
    id: "ReadyzUnavailable",
    description: "NotReady; or UnavailableError while the server shuts down.",
  });

/** GET /openapi.json: this document; what of it a client relies on. */
export const openApiDocumentSchema = z
  .looseObject({
    openapi: z.literal("3.1.0"),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.looseObject({})),
  })
  .register(contract, {
    id: "OpenApiDocument",
    description: "The OpenAPI 3.1 document of this API.",
  });

// ---- the routes send what these say (checked by the compiler) ---------------------------------

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;

/** Each line fails to compile when the type a module sends and its wire schema part ways. */
export type WireShapesMatch = [
  Holds<Same<z.output<typeof errorBodySchema>, ErrorBody>>,
  Holds<Same<z.output<typeof ingestResultSchema>, IngestResult>>,
  Holds<Same<z.output<typeof storedTransactionSchema>, Transaction>>,
  Holds<Same<z.output<typeof decisionSchema>, Decision>>,
  Holds<Same<z.output<typeof alertSchema>, Alert>>,
];

export type IngestBatchResult = z.output<typeof ingestBatchResultSchema>;
export type ExportedTransaction = z.output<typeof exportedTransactionSchema>;
export type DecidedTransaction = z.output<typeof decidedTransactionSchema>;
export type PendingTransaction = z.output<typeof pendingTransactionSchema>;
export type CustomerHistory = z.output<typeof customerHistorySchema>;
export type AlertPage = z.output<typeof alertPageSchema>;
export type Ready = z.output<typeof readySchema>;
export type NotReady = z.output<typeof notReadySchema>;
