import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import { decodeClaim } from "../../claims/claim-value.ts";
import { ApiError, dependency } from "../../errors.ts";
import type { StoredTransaction } from "../../ledger/types.ts";
import { containsCardNumber } from "../../transaction/card-number.ts";
import { isPlausibleId } from "../../transaction/schema.ts";
import type {
  DecidedTransaction,
  ExportedTransaction,
  IngestBatchResult,
  PendingTransaction,
} from "../contract/schemas.ts";
import { ingest, itemsOf } from "../ingest.ts";
import { type ApiDeps, merchantOf } from "../types.ts";

/** The wire form of a stored transaction: its fields, when it arrived, and its decision. */
export function presentTransaction(stored: StoredTransaction): ExportedTransaction {
  return {
    ...stored.transaction,
    receivedAt: stored.receivedAt,
    recordedAt: stored.recordedAt,
    decision: stored.decision,
  };
}

/**
 * An accepted transaction the ledger does not hold yet (QRY-1). API.md: 404 only "if unknown",
 * and the decision only "once processed". Until then only the ingest claim knows the id, so
 * the answer is what it knows: no decision and no transaction fields, which the API keeps
 * nowhere but on the stream; `status` (a new optional field) tells the two answers apart. GET
 * answers it only after waiting for the decision (waitForDecision).
 */
function presentPending(
  merchantId: string,
  transactionId: string,
  receivedAt?: string,
): PendingTransaction {
  return {
    transactionId,
    merchantId,
    ...(receivedAt !== undefined && { receivedAt }),
    status: "pending" as const,
  };
}

export function transactionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post("/v1/transactions", async (request, reply) => {
    const contentType = request.headers["content-type"] ?? "";
    if (!/^application\/json\s*(;|$)/i.test(contentType)) {
      throw new ApiError("TXW_ERR_UNSUPPORTED_MEDIA_TYPE", "body must be application/json");
    }
    const merchantId = merchantOf(request);
    const { batch, items } = itemsOf(request.body);
    const results = await ingest(deps, merchantId, items, (i) =>
      batch ? `transactions[${i}]` : "",
    );
    for (const r of results) deps.metrics.ingested.inc({ status: r.status });
    if (!batch) {
      const [result] = results;
      if (result!.status === "rejected") {
        const error = result!.error!;
        throw new ApiError(error.code, error.message, error.field);
      }
      return reply.status(202).send(result);
    }
    const count = (status: string) => results.filter((r) => r.status === status).length;
    return reply.status(202).send({
      accepted: count("accepted"),
      duplicate: count("duplicate"),
      rejected: count("rejected"),
      results,
    } satisfies IngestBatchResult);
  });

  app.get<{ Params: { transactionId: string } }>(
    "/v1/transactions/:transactionId",
    async (request) => {
      const merchantId = merchantOf(request);
      const { transactionId } = request.params;
      // Ingest refuses ids holding a card number, so none is stored under one. The 404s never
      // repeat the id: it is the client's text (PRIV-1).
      if (!isPlausibleId(transactionId) || containsCardNumber(transactionId)) {
        throw new ApiError("TXW_ERR_NOT_FOUND", "no such transaction");
      }
      const stored = await dependency(
        "ledger",
        deps.ledger.getTransaction(merchantId, transactionId),
      );
      if (stored !== null) return presentDecided(stored);
      // The claims live beside the history (one Redis), the dependency /readyz calls "history".
      const claim = await dependency(
        "history store",
        deps.claims.claimOf(merchantId, transactionId),
      );
      // "accepting": the stream has not taken it yet and may refuse it, so it is not known.
      if (claim === null || decodeClaim(claim).state !== "accepted") {
        throw new ApiError("TXW_ERR_NOT_FOUND", "no such transaction");
      }
      const decided = await waitForDecision(deps, merchantId, transactionId);
      if (decided !== null) return presentDecided(decided);
      return presentPending(merchantId, transactionId, decodeClaim(claim).receivedAt);
    },
  );
}

// status only here: the export's NDJSON lines (presentTransaction) are all decided.
const presentDecided = (stored: StoredTransaction): DecidedTransaction => ({
  ...presentTransaction(stored),
  status: "decided" as const,
});

/**
 * How long GET waits for an accepted transaction's decision, and how often it looks. API.md
 * promises the transaction "with its decision once processed", and clients poll until a 200 and
 * then read `decision`; processing takes milliseconds, so a GET right after the POST answers
 * the decision in one call, and only a transaction still undecided after the wait is pending.
 */
export const PENDING_WAIT_MS = 1000;
const PENDING_POLL_MS = 20;

async function waitForDecision(
  deps: ApiDeps,
  merchantId: string,
  transactionId: string,
): Promise<StoredTransaction | null> {
  const deadline = Date.now() + PENDING_WAIT_MS;
  while (Date.now() < deadline) {
    await sleep(PENDING_POLL_MS);
    const stored = await dependency(
      "ledger",
      deps.ledger.getTransaction(merchantId, transactionId),
    );
    if (stored !== null) return stored;
  }
  return null;
}
