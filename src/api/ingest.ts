import { ApiError, dependency, type ErrorBody, ValidationError } from "../errors.ts";
import { parseTransactionInput } from "../transaction/schema.ts";
import { containsCardNumber, tokenizeTransaction } from "../transaction/tokenize.ts";
import type { StreamEnvelope, Transaction } from "../transaction/types.ts";
import {
  ACCEPTED_TTL_SECONDS,
  ACCEPTING_TTL_SECONDS,
  claimNonce,
  decodeClaim,
  encodeClaim,
} from "./ingest-claim.ts";
import type { ApiDeps } from "./types.ts";

export const MAX_BATCH = 500;

export type IngestStatus = "accepted" | "duplicate" | "rejected";

export interface IngestResult {
  transactionId?: string;
  status: IngestStatus;
  /**
   * "deferred" on an item accepted while the ledger or the claim store could not be asked
   * (REL-3): the transaction is durably on the stream, and if its id was accepted before, the
   * ledger's unique key keeps the first one; this one then proves a duplicate and changes nothing.
   */
  deduplication?: "deferred";
  error?: ErrorBody;
}

type Slot = { result: IngestResult; tx?: Transaction };

/**
 * How long the duplicate check (the ledger and the claims, asked at once) may take before the
 * items go on the stream without it: a store that hangs (a stopped host, a reconnecting client)
 * must not hold ingest, which needs only the stream (REL-3).
 */
export const DUPLICATE_CHECK_TIMEOUT_MS = 1000;

/**
 * Validates, authorizes, tokenizes and deduplicates the items of one request, puts the new
 * ones on the stream and answers per item (ING-1, ING-2). An item is "accepted" only once the
 * stream has durably taken it. Ids are claimed atomically before the put, so of two concurrent
 * requests with one id only one puts it on the stream; the other is told to retry while the put
 * is in flight, and "duplicate" once it succeeded. A failed claim or put releases the claims
 * this request made, and only those (each request's claim value carries its own nonce).
 * While the ledger or the claim store is down, ingest stays open on the stream alone: the items
 * are accepted with their deduplication deferred to the ledger (REL-3).
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

  const receivedAt = new Date((deps.now ?? Date.now)()).toISOString();
  // This request's claim value: the nonce makes it its own, so it releases only its claims; the
  // owner (this process) lets another process take the claims over if this one dies (REL-4).
  const claimValue = encodeClaim({
    state: "accepting",
    receivedAt,
    nonce: claimNonce(),
    owner: deps.history.ownerId,
  });
  const checked = await claim(deps, merchantId, slots, claimValue);
  if (checked.slots.length > 0) {
    if (checked.deferred) {
      for (const slot of checked.slots) slot.result.deduplication = "deferred";
    }
    await putOnStream(deps, merchantId, checked, receivedAt, claimValue);
  }
  return slots.map((s) => s.result);
}

const pending = (slots: Slot[]) => slots.filter((s) => s.tx !== undefined);

/** What the duplicate check left to put on the stream. */
interface Checked {
  slots: Slot[];
  /** The ledger or the claims could not be asked: the ledger settles duplicates later. */
  deferred: boolean;
  /** This request holds claims on the slots' ids, to mark accepted or release. */
  claimed: boolean;
}

type Settled<T> = { ok: true; value: T } | { ok: false; reason: unknown; late?: Promise<T> };

/** The call's outcome, or a failure once `ms` passed (with the call, still running, as `late`). */
async function within<T>(call: Promise<T>, ms: number): Promise<Settled<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Settled<T>>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, reason: new Error(`no answer in ${ms} ms`), late: call }),
      ms,
    );
  });
  try {
    return await Promise.race([
      call.then(
        (value): Settled<T> => ({ ok: true, value }),
        (reason: unknown): Settled<T> => ({ ok: false, reason }),
      ),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Answers "duplicate" for ids the ledger holds or an accepted claim names, and returns the
 * slots left to put. Every candidate is claimed while the ledger is asked; the claims made for
 * ids the ledger holds are released again. Whichever of the two cannot answer is done without:
 * the rest is put all the same, its deduplication deferred to the ledger's unique key.
 */
async function claim(
  deps: ApiDeps,
  merchantId: string,
  slots: Slot[],
  claimValue: string,
): Promise<Checked> {
  const duplicate = (slot: Slot) => {
    slot.result = { transactionId: slot.tx!.transactionId, status: "duplicate" };
    slot.tx = undefined;
  };
  const candidates = pending(slots);
  if (candidates.length === 0) return { slots: [], deferred: false, claimed: false };
  const ids = candidates.map((s) => s.tx!.transactionId);
  // The ledger and the claims are asked at once, so a request of new ids waits for one round
  // trip instead of two (ids the ledger holds cost a second one, to release their claims). The
  // ledger's answer wins: claims expire, a stored transaction stays a duplicate forever.
  const [stored, held] = await Promise.all([
    within(deps.ledger.existingIds(merchantId, ids), DUPLICATE_CHECK_TIMEOUT_MS),
    within(
      deps.history.claimIds(merchantId, ids, claimValue, ACCEPTING_TTL_SECONDS),
      DUPLICATE_CHECK_TIMEOUT_MS,
    ),
  ]);
  if (!held.ok) {
    // Claims a failed call made all the same (Redis keeps what a script wrote before a SET that
    // failed), or a late one makes, are freed, so no retry is told to wait for them. Quietly:
    // the store's tracker logs the outage once.
    const freeing = held.late ?? Promise.resolve();
    void freeing.then(
      () => release(deps, merchantId, ids, claimValue),
      () => release(deps, merchantId, ids, claimValue),
    );
  }
  const inFlight = new ApiError(
    "TXW_ERR_CONFLICT",
    "a concurrent request is accepting this transactionId; retry it",
  );
  // Ids the ledger holds that this request claimed all the same: nothing will put them.
  const claimedStored: string[] = [];
  for (const slot of candidates) {
    const id = slot.tx!.transactionId;
    const existing = held.ok ? (held.value.get(id) ?? null) : null;
    if (stored.ok && stored.value.has(id)) {
      if (held.ok && existing === null) claimedStored.push(id);
      duplicate(slot);
    } else if (existing !== null) {
      if (decodeClaim(existing).state === "accepted") duplicate(slot);
      else {
        // Not "duplicate": that put may still fail, and a client told "duplicate" would not
        // retry.
        slot.result = { transactionId: id, status: "rejected", error: inFlight.toBody().error };
        slot.tx = undefined;
      }
    }
  }
  await release(deps, merchantId, claimedStored, claimValue);
  return { slots: pending(slots), deferred: !stored.ok || !held.ok, claimed: held.ok };
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

async function putOnStream(
  deps: ApiDeps,
  merchantId: string,
  checked: Checked,
  receivedAt: string,
  claimValue: string,
): Promise<void> {
  const claimed = checked.slots;
  const ids = claimed.map((s) => s.tx!.transactionId);
  const records = claimed.map((slot) => {
    const envelope: StreamEnvelope = { v: 1, receivedAt, tx: slot.tx! };
    return { partitionKey: slot.tx!.customerId, data: Buffer.from(JSON.stringify(envelope)) };
  });
  let failed: number[];
  try {
    ({ failed } = await dependency("stream", deps.stream.put(records)));
  } catch (error) {
    await release(deps, merchantId, ids, claimValue);
    throw error;
  }
  const failedSet = new Set(failed);
  const unavailable = new ApiError(
    "TXW_ERR_UNAVAILABLE",
    "the stream did not accept this transaction; retry it",
  );
  claimed.forEach((slot, i) => {
    if (failedSet.has(i))
      slot.result = {
        transactionId: slot.tx!.transactionId,
        status: "rejected",
        error: unavailable.toBody().error,
      };
  });
  await release(
    deps,
    merchantId,
    ids.filter((_, i) => failedSet.has(i)),
    claimValue,
  );
  const accepted = ids.filter((_, i) => !failedSet.has(i));
  // Without claims there is nothing to mark: the ledger alone answers duplicates of these.
  if (accepted.length === 0 || !checked.claimed) return;
  const value = encodeClaim({ state: "accepted", receivedAt });
  // Best effort: a lost mark only weakens the duplicate answer, never the ledger's guarantee.
  // When it is lost the claim stays "accepting", and is deliberately not released: a POST of
  // the id is told to retry (409) until the ledger holds the transaction, milliseconds later,
  // and from then on "duplicate", since claim() lets the ledger's answer win over a claim.
  // Releasing it instead would answer that retry "accepted" and put the transaction on the
  // stream again.
  // Only if processing stalls does the claim run out (ACCEPTING_TTL_SECONDS) and a retry is
  // accepted again: harmless, every step downstream is idempotent by transaction id. GET answers
  // 404 meanwhile, as for any "accepting" claim, until the ledger holds the transaction.
  // Compare-and-set (REL-4): marked where this request's claim is still there, or none is (the
  // stream holds these transactions whatever happened to it); not where another request took
  // the claim over, this process having been taken for dead (stalled past its liveness): that
  // request has put the transaction too and marks it itself, or releases its claim when its
  // put fails, and then a retry is answered "duplicate" by the ledger or put once more, which
  // every step downstream takes idempotently.
  await deps.history
    .setClaims(merchantId, accepted, value, ACCEPTED_TTL_SECONDS, claimValue)
    .catch((err: unknown) => deps.log.debug({ err }, "could not mark ingested ids accepted"));
}

/**
 * Frees this request's claims (those still holding `claimValue`): of ids the stream refused, of
 * ids the ledger already holds, and of all its ids when the ledger or the claims could not be
 * asked, so a retry can be accepted at once.
 */
async function release(
  deps: ApiDeps,
  merchantId: string,
  ids: string[],
  claimValue: string,
): Promise<void> {
  if (ids.length === 0) return;
  await deps.history.releaseClaims(merchantId, ids, claimValue).catch((err: unknown) => {
    // They expire after ACCEPTING_TTL_SECONDS (or sooner, REL-4); until then a retry is told to
    // retry. Debug only: a store that is down is logged once, by its tracker (REL-2).
    deps.log.debug({ err }, "could not release ingest claims");
  });
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
