import type { FastifyInstance } from "fastify";
import { ApiError, dependency } from "../../errors.ts";
import type { StoredTransaction } from "../../ledger/types.ts";
import { isPlausibleId } from "../../transaction/schema.ts";
import { ingest, itemsOf } from "../ingest.ts";
import { type ApiDeps, merchantOf } from "../types.ts";

/** The wire form of a stored transaction: its fields, when it arrived, and its decision. */
export function presentTransaction(stored: StoredTransaction) {
  return {
    ...stored.transaction,
    receivedAt: stored.receivedAt,
    recordedAt: stored.recordedAt,
    decision: stored.decision,
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
    });
  });

  app.get<{ Params: { transactionId: string } }>(
    "/v1/transactions/:transactionId",
    async (request) => {
      const merchantId = merchantOf(request);
      const { transactionId } = request.params;
      if (!isPlausibleId(transactionId)) {
        throw new ApiError("TXW_ERR_NOT_FOUND", "no such transaction");
      }
      const stored = await dependency(
        "ledger",
        deps.ledger.getTransaction(merchantId, transactionId),
      );
      if (stored === null) {
        throw new ApiError(
          "TXW_ERR_NOT_FOUND",
          `transaction ${transactionId} is not in the ledger (yet)`,
        );
      }
      return presentTransaction(stored);
    },
  );
}
