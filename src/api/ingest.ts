import { ApiError, dependency, type ErrorBody, ValidationError } from "../errors.ts";
import { parseTransactionInput } from "../transaction/schema.ts";
import { containsCardNumber, tokenizeTransaction } from "../transaction/tokenize.ts";
import type { StreamEnvelope, Transaction } from "../transaction/types.ts";
import type { ApiDeps } from "./types.ts";

export const MAX_BATCH = 500;
/** Ingest dedupe marks only need to outlive the stream-to-ledger delay; the ledger is the truth. */
const SEEN_TTL_SECONDS = 24 * 60 * 60;

export type IngestStatus = "accepted" | "duplicate" | "rejected";

export interface IngestResult {
  transactionId?: string;
  status: IngestStatus;
  error?: ErrorBody;
}

type Slot = { result: IngestResult; tx?: Transaction };

/**
 * Validates, authorizes, tokenizes and deduplicates the items of one request, puts the new
 * ones on the stream and answers per item (ING-1, ING-2). An item is "accepted" only once the
 * stream has durably taken it; the ledger's unique key makes a concurrent duplicate harmless.
 */
export async function ingest(
  deps: ApiDeps,
  merchantId: string,
  items: unknown[],
  fieldPrefix: (index: number) => string,
): Promise<IngestResult[]> {
  const slots: Slot[] = items.map((item, index) =>
    validate(deps, merchantId, item, fieldPrefix(index)),
  );

  const firstIndex = new Map<string, number>();
  slots.forEach((slot, index) => {
    if (slot.tx === undefined) return;
    const id = slot.tx.transactionId;
    if (firstIndex.has(id)) {
      slot.result = { transactionId: id, status: "duplicate" };
      slot.tx = undefined;
    } else firstIndex.set(id, index);
  });

  const candidates = slots.filter((s) => s.tx !== undefined);
  if (candidates.length > 0) {
    const ids = candidates.map((s) => s.tx!.transactionId);
    const [recent, stored] = await Promise.all([
      dependency("history store", deps.history.seenIds(merchantId, ids)),
      dependency("ledger", deps.ledger.existingIds(merchantId, ids)),
    ]);
    for (const slot of candidates) {
      const id = slot.tx!.transactionId;
      if (recent.has(id) || stored.has(id)) {
        slot.result = { transactionId: id, status: "duplicate" };
        slot.tx = undefined;
      }
    }
  }

  const fresh = slots.filter((s) => s.tx !== undefined);
  if (fresh.length > 0) await putOnStream(deps, merchantId, fresh);
  return slots.map((s) => s.result);
}

function validate(deps: ApiDeps, merchantId: string, item: unknown, prefix: string): Slot {
  const parsed = parseTransactionInput(item, prefix);
  if (!parsed.ok) {
    const id = (item as { transactionId?: unknown } | null)?.transactionId;
    return {
      result: {
        // Not echoed when it holds a card number: the answer must not carry one either.
        ...(typeof id === "string" &&
          id.length <= 64 &&
          !containsCardNumber(id) && { transactionId: id }),
        status: "rejected",
        error: parsed.error.toBody().error,
      },
    };
  }
  const input = parsed.value;
  if (input.merchantId !== merchantId) {
    const field = prefix === "" ? "merchantId" : `${prefix}.merchantId`;
    const error = new ApiError(
      "TXW_ERR_FORBIDDEN",
      `${field} is not the merchant of this API key`,
      field,
    );
    return {
      result: {
        transactionId: input.transactionId,
        status: "rejected",
        error: error.toBody().error,
      },
    };
  }
  const tx = tokenizeTransaction(input, deps.tokenKey);
  return { result: { transactionId: tx.transactionId, status: "accepted" }, tx };
}

async function putOnStream(deps: ApiDeps, merchantId: string, fresh: Slot[]): Promise<void> {
  const receivedAt = new Date((deps.now ?? Date.now)()).toISOString();
  const records = fresh.map((slot) => {
    const envelope: StreamEnvelope = { v: 1, receivedAt, tx: slot.tx! };
    return { partitionKey: slot.tx!.customerId, data: Buffer.from(JSON.stringify(envelope)) };
  });
  const { failed } = await dependency("stream", deps.stream.put(records));
  const failedSet = new Set(failed);
  const unavailable = new ApiError(
    "TXW_ERR_UNAVAILABLE",
    "the stream did not accept this transaction; retry it",
  );
  fresh.forEach((slot, i) => {
    if (failedSet.has(i))
      slot.result = {
        transactionId: slot.tx!.transactionId,
        status: "rejected",
        error: unavailable.toBody().error,
      };
  });
  const accepted = fresh.filter((_, i) => !failedSet.has(i)).map((s) => s.tx!.transactionId);
  if (accepted.length > 0) {
    // Best effort: a lost mark only weakens the duplicate answer, never the ledger's guarantee.
    await deps.history.markSeen(merchantId, accepted, SEEN_TTL_SECONDS).catch((err: unknown) => {
      deps.log.warn({ err }, "could not mark ingested ids as seen");
    });
  }
}

/** Splits a request body into items: one transaction, or `{ "transactions": [...] }`. */
export function itemsOf(body: unknown): { batch: boolean; items: unknown[] } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError(
      undefined,
      'body must be a JSON object: a transaction or { "transactions": [...] }',
    );
  }
  if (!("transactions" in body)) return { batch: false, items: [body] };
  const extra = Object.keys(body).find((k) => k !== "transactions");
  if (extra !== undefined) throw new ValidationError(extra, `${extra} is not a known field`);
  const list = (body as { transactions: unknown }).transactions;
  if (!Array.isArray(list))
    throw new ValidationError("transactions", "transactions must be an array");
  if (list.length === 0)
    throw new ValidationError("transactions", "transactions must not be empty");
  if (list.length > MAX_BATCH) {
    throw new ApiError(
      "TXW_ERR_PAYLOAD_TOO_LARGE",
      `transactions must hold at most ${MAX_BATCH} items`,
      "transactions",
    );
  }
  return { batch: true, items: list };
}
