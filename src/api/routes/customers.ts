import type { FastifyInstance } from "fastify";
import { ApiError, dependency } from "../../errors.ts";
import { HISTORY_WINDOW_SECONDS } from "../../history/types.ts";
import { containsCardNumber } from "../../transaction/card-number.ts";
import { isPlausibleId } from "../../transaction/schema.ts";
import type { CustomerHistory } from "../contract/schemas.ts";
import { type ApiDeps, merchantOf } from "../types.ts";

export function customerRoutes(app: FastifyInstance, deps: ApiDeps): void {
  /** The customer's last 24 hours as the rules saw them (QRY-1): straight from the history store. */
  app.get<{ Params: { customerId: string } }>(
    "/v1/customers/:customerId/history",
    async (request) => {
      const merchantId = merchantOf(request);
      const { customerId } = request.params;
      // Ingest refuses customer ids holding a card number, so no history is kept under one;
      // answering it would echo the number back (PRIV-1).
      if (!isPlausibleId(customerId) || containsCardNumber(customerId)) {
        throw new ApiError("TXW_ERR_NOT_FOUND", "no such customer");
      }
      const now = (deps.now ?? Date.now)();
      const entries = await dependency(
        "history store",
        deps.history.customerHistory(merchantId, customerId, now),
      );
      const totals: Record<string, number> = {};
      for (const e of entries) totals[e.currency] = (totals[e.currency] ?? 0) + e.amount;
      return {
        customerId,
        windowSeconds: HISTORY_WINDOW_SECONDS,
        asOf: new Date(now).toISOString(),
        count: entries.length,
        totals,
        transactions: entries.map((e) => ({
          transactionId: e.transactionId,
          eventTime: new Date(e.eventTime).toISOString(),
          amount: e.amount,
          currency: e.currency,
          ...(e.country && { country: e.country }),
          ...(e.cardToken && { cardToken: e.cardToken }),
        })),
      } satisfies CustomerHistory;
    },
  );
}
