import {
  ACCEPTED_TTL_SECONDS,
  ACCEPTING_TTL_SECONDS,
  claimNonce,
  decodeClaim,
  encodeClaim,
} from "../claims/claim-value.ts";
import { ApiError, dependency, type ErrorBody, ValidationError } from "../errors.ts";
import { transactionKey } from "../transaction/key.ts";
import { parseTransactionInput } from "../transaction/schema.ts";
import { containsCardNumber, tokenizeTransaction } from "../transaction/tokenize.ts";
import type { StreamEnvelope, Transaction } from "../transaction/types.ts";
import { validationErrorOf } from "./error-handler.ts";
import type { ApiDeps } from "./types.ts";

export const MAX_BATCH = 500;

type IngestStatus = "accepted" | "duplicate" | "rejected";

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

/**
 * How long the duplicate check (the ledger and the claims, asked at once) may take before the
 * items go on the stream without it: a store that hangs (a stopped host, a reconnecting client)
 * must not hold ingest, which needs only the stream (REL-3).
 */
const DUPLICATE_CHECK_TIMEOUT_MS = 1000;

/*
 * The phases, in order: validate -> dedupe within the request -> check duplicates (claims and
 * ledger) -> put on the stream. Each takes the items as the phase before left them and returns
 * new ones: an item is either answered, its result final, or goes on, tokenized, as the type
 * of the phase it passed.
 */

/** An item whose result is final. */
interface Answered {
  readonly stage: "answered";
  readonly result: IngestResult;
}
/** Valid, of this key's merchant, tokenized. */
interface Valid {
  readonly stage: "valid";
  readonly tx: Transaction;
}
/** The request's first item with its id. */
interface Unique {
  readonly stage: "unique";
  readonly tx: Transaction;
}
/** Its id is neither stored nor claimed by another request (or could not be asked): to put. */
interface New {
  readonly stage: "new";
  readonly tx: Transaction;
}

/** One request's ingest: whose it is, when it came, and the value of the claims it makes. */
interface IngestRequest {
  deps: ApiDeps;
  merchantId: string;
  /** ISO 8601: on the stream envelope and in the claims, shown by GET until the decision. */
  receivedAt: string;
  /**
   * Its claims' value: the nonce makes it this request's own, so it releases only its claims;
   * the owner (this process) lets another process take the claims over if this one dies (REL-4).
   */
  claimValue: string;
}

/** What the duplicate check left. */
interface Checked {
  items: (Answered | New)[];
  /** The ledger or the claims could not be asked: the ledger settles duplicates later. */
  deferred: boolean;
  /** This request holds claims on the new items' ids, to mark accepted or release. */
  claimed: boolean;
}

const answered = (result: IngestResult): Answered => ({ stage: "answered", result });
const duplicate = (transactionId: string) => answered({ transactionId, status: "duplicate" });
const refused = (transactionId: string, error: ApiError) =>
  answered({ transactionId, status: "rejected", error: error.toBody().error });

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
  const valid = items.map((item, index) => validate(deps, merchantId, item, fieldPrefix(index)));
  const unique = dedupeWithin(valid);
  const receivedAt = new Date((deps.now ?? Date.now)()).toISOString();
  const claimValue = encodeClaim({
    state: "accepting",
    receivedAt,
    nonce: claimNonce(),
    owner: deps.claims.ownerId,
  });
  const request: IngestRequest = { deps, merchantId, receivedAt, claimValue };
  return putOnStream(request, await checkDuplicates(request, unique));
}

function validate(
  deps: ApiDeps,
  merchantId: string,
  item: unknown,
  prefix: string,
): Answered | Valid {
  const parsed = parseTransactionInput(item, prefix);
  if (!parsed.ok) {
    const id = (item as { transactionId?: unknown } | null)?.transactionId;
    return answered({
      // Not echoed when it holds a card number: the answer must not carry one either.
      ...(typeof id === "string" &&
        id.length <= 64 &&
        !containsCardNumber(id) && { transactionId: id }),
      status: "rejected",
      error: validationErrorOf(parsed.error).toBody().error,
    });
  }
  const input = parsed.value;
  if (input.merchantId !== merchantId) {
    const field = prefix === "" ? "merchantId" : `${prefix}.merchantId`;
    const error = new ApiError(
      "TXW_ERR_FORBIDDEN",
      `${field} is not the merchant of this API key`,
      field,
    );
    return refused(input.transactionId, error);
  }
  return { stage: "valid", tx: tokenizeTransaction(input, deps.tokenKey) };
}

/** A transaction sent twice in one request is that request's duplicate: the first one counts. */
function dedupeWithin(items: (Answered | Valid)[]): (Answered | Unique)[] {
  const seen = new Set<string>();
  return items.map((item) => {
    if (item.stage === "answered") return item;
    const key = transactionKey(item.tx);
    if (seen.has(key)) return duplicate(item.tx.transactionId);
    seen.add(key);
    return { stage: "unique", tx: item.tx };
  });
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

/** Nothing to ask about: as if both stores answered that they know none of no ids. */
const NONE_STORED: Settled<Set<string>> = { ok: true, value: new Set() };
const NONE_HELD: Settled<Map<string, string | null>> = { ok: true, value: new Map() };

/**
 * Answers "duplicate" for ids the ledger holds or an accepted claim names, and "rejected" (409)
 * for ids another request is putting; the rest are new. Every candidate is claimed while the
 * ledger is asked; the claims made for ids the ledger holds are released again. Whichever of the
 * two cannot answer is done without: the rest is put all the same, its deduplication deferred to
 * the ledger's unique key.
 */
async function checkDuplicates(
  request: IngestRequest,
  items: (Answered | Unique)[],
): Promise<Checked> {
  const { deps, merchantId, claimValue } = request;
  const ids = items.flatMap((item) => (item.stage === "unique" ? [item.tx.transactionId] : []));
  // The ledger and the claims are asked at once, so a request of new ids waits for one round
  // trip instead of two (ids the ledger holds cost a second one, to release their claims). The
  // ledger's answer wins: claims expire, a stored transaction stays a duplicate forever.
  const [stored, held] =
    ids.length === 0
      ? [NONE_STORED, NONE_HELD]
      : await Promise.all([
          within(deps.ledger.existingIds(merchantId, ids), DUPLICATE_CHECK_TIMEOUT_MS),
          within(
            deps.claims.claimIds(merchantId, ids, claimValue, ACCEPTING_TTL_SECONDS),
            DUPLICATE_CHECK_TIMEOUT_MS,
          ),
        ]);
  if (!held.ok) {
    // Claims a failed call made all the same (the SETs of its ids that Redis ran before one
    // failed), or a late one makes, are freed, so no retry is told to wait for them. Quietly:
    // the store's tracker logs the outage once.
    const freeing = held.late ?? Promise.resolve();
    void freeing.then(
      () => release(request, ids),
      () => release(request, ids),
    );
  }
  const isStored = (id: string) => stored.ok && stored.value.has(id);
  /** The claim another request holds on the id; null when this request claimed it, or none. */
  const heldBy = (id: string) => (held.ok ? (held.value.get(id) ?? null) : null);
  const inFlight = new ApiError(
    "TXW_ERR_CONFLICT",
    "a concurrent request is accepting this transactionId; retry it",
  );
  const checked = items.map((item): Answered | New => {
    if (item.stage === "answered") return item;
    const id = item.tx.transactionId;
    const existing = heldBy(id);
    if (isStored(id)) return duplicate(id);
    if (existing === null) return { stage: "new", tx: item.tx };
    if (decodeClaim(existing).state === "accepted") return duplicate(id);
    // Not "duplicate": that put may still fail, and a client told "duplicate" would not retry.
    return refused(id, inFlight);
  });
  // Ids the ledger holds that this request claimed all the same: nothing will put them.
  const claimedStored = held.ok ? ids.filter((id) => isStored(id) && heldBy(id) === null) : [];
  await release(request, claimedStored);
  return { items: checked, deferred: !stored.ok || !held.ok, claimed: held.ok };
}

/**
 * Answers every item: the new ones are put on the stream, "accepted" once it took them and
 * "rejected" (retry) where it refused them; a put that fails as a whole fails the request (503).
 */
async function putOnStream(request: IngestRequest, checked: Checked): Promise<IngestResult[]> {
  const fresh = checked.items.filter((item): item is New => item.stage === "new");
  const refusedItems = fresh.length === 0 ? new Set<New>() : await put(request, fresh, checked);
  const unavailable = new ApiError(
    "TXW_ERR_UNAVAILABLE",
    "the stream did not accept this transaction; retry it",
  );
  return checked.items.map((item): IngestResult => {
    if (item.stage === "answered") return item.result;
    const transactionId = item.tx.transactionId;
    if (refusedItems.has(item)) return refused(transactionId, unavailable).result;
    return {
      transactionId,
      status: "accepted",
      ...(checked.deferred && { deduplication: "deferred" as const }),
    };
  });
}

/**
 * Puts the items on the stream, one record each, and answers those it refused. The claims of
 * what is not on the stream are released, those of what is are marked accepted.
 */
async function put(request: IngestRequest, items: New[], checked: Checked): Promise<Set<New>> {
  const { deps, receivedAt } = request;
  const ids = items.map((item) => item.tx.transactionId);
  const records = items.map(({ tx }) => {
    const envelope: StreamEnvelope = { v: 1, receivedAt, tx };
    return { partitionKey: tx.customerId, data: Buffer.from(JSON.stringify(envelope)) };
  });
  let failed: number[];
  try {
    ({ failed } = await dependency("stream", deps.stream.put(records)));
  } catch (error) {
    await release(request, ids);
    throw error;
  }
  const failedAt = new Set(failed);
  await release(
    request,
    ids.filter((_, i) => failedAt.has(i)),
  );
  const accepted = ids.filter((_, i) => !failedAt.has(i));
  // Without claims there is nothing to mark: the ledger alone answers duplicates of these.
  if (accepted.length > 0 && checked.claimed) await markAccepted(request, accepted);
  return new Set(items.filter((_, i) => failedAt.has(i)));
}

/**
 * Marks the ids the stream took "accepted", so that a retry is answered "duplicate" before the
 * ledger holds them. Best effort: a lost mark only weakens the duplicate answer, never the
 * ledger's guarantee. When it is lost the claim stays "accepting", and is deliberately not
 * released: a POST of the id is told to retry (409) until the ledger holds the transaction,
 * milliseconds later, and from then on "duplicate", since checkDuplicates lets the ledger's
 * answer win over a claim. Releasing it instead would answer that retry "accepted" and put the
 * transaction on the stream again.
 * Only if processing stalls does the claim run out (ACCEPTING_TTL_SECONDS) and a retry is
 * accepted again: harmless, every step downstream is idempotent by transaction id. GET answers
 * 404 meanwhile, as for any "accepting" claim, until the ledger holds the transaction.
 * Compare-and-set (REL-4): marked where this request's claim is still there, or none is (the
 * stream holds these transactions whatever happened to it); not where another request took
 * the claim over, this process having been taken for dead (stalled past its liveness): that
 * request has put the transaction too and marks it itself, or releases its claim when its
 * put fails, and then a retry is answered "duplicate" by the ledger or put once more, which
 * every step downstream takes idempotently.
 */
async function markAccepted(request: IngestRequest, ids: string[]): Promise<void> {
  const { deps, merchantId, receivedAt, claimValue } = request;
  const value = encodeClaim({ state: "accepted", receivedAt });
  await notLongerThan(
    deps.claims
      .setClaims(merchantId, ids, value, ACCEPTED_TTL_SECONDS, claimValue)
      .catch((err: unknown) => deps.log.debug({ err }, "could not mark ingested ids accepted")),
    DUPLICATE_CHECK_TIMEOUT_MS,
  );
}

/**
 * Frees this request's claims (those still holding `claimValue`): of ids the stream refused, of
 * ids the ledger already holds, and of all its ids when the ledger or the claims could not be
 * asked, so a retry can be accepted at once.
 */
async function release(request: IngestRequest, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const { deps, merchantId, claimValue } = request;
  const releasing = deps.claims.releaseClaims(merchantId, ids, claimValue).catch((err: unknown) => {
    // They expire after ACCEPTING_TTL_SECONDS (or sooner, REL-4); until then a retry is told to
    // retry. Debug only: a store that is down is logged once, by its tracker (REL-2).
    deps.log.debug({ err }, "could not release ingest claims");
  });
  await notLongerThan(releasing, DUPLICATE_CHECK_TIMEOUT_MS);
}

/**
 * Waits for a best-effort claim update at most `ms`: the items' answers do not depend on it, so
 * a claim store that hangs must not hold the request (it goes on in the background).
 */
async function notLongerThan(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
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
