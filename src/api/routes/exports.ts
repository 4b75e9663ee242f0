import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ApiError, dependency, safeErrorFields, ValidationError } from "../../errors.ts";
import type { StoredTransaction } from "../../ledger/types.ts";
import { toFieldError } from "../../transaction/schema.ts";
import { queryInstant } from "../query-instant.ts";
import { type ApiDeps, merchantOf } from "../types.ts";
import { presentTransaction } from "./transactions.ts";

export const exportQuerySchema = z.strictObject({
  from: queryInstant("from"),
  to: queryInstant("to"),
});

export function exportRoutes(app: FastifyInstance, deps: ApiDeps): void {
  /**
   * Regulatory export (QRY-1): every transaction of the merchant that occurred in [from, to),
   * with its decision, as NDJSON streamed straight from the ledger (no size limit in memory).
   */
  app.get("/v1/exports/transactions", async (request, reply) => {
    const parsed = exportQuerySchema.safeParse(request.query);
    if (!parsed.success) throw toFieldError(parsed.error, "", request.query);
    const { from, to } = parsed.data;
    if (Date.parse(from) >= Date.parse(to))
      throw new ValidationError("to", "to must be after from");
    const rows = deps.ledger
      .exportTransactions(merchantOf(request), from, to)
      [Symbol.asyncIterator]();
    // The first page is read before any byte is sent, so a ledger that is down is still a
    // clean 503 with the catalogued body.
    let step = await dependency("ledger", rows.next());
    async function* lines() {
      try {
        while (step.done !== true) {
          yield `${JSON.stringify(presentTransaction(step.value as StoredTransaction))}\n`;
          step = await rows.next();
        }
      } catch (error) {
        // Headers and part of the body are out: the only signal left is to cut the connection,
        // so a client never mistakes a truncated export for a complete one. Fastify destroys
        // the response when the payload stream fails; it logs only the opaque error below.
        request.log.error(
          { cause: safeErrorFields(error), code: "TXW_ERR_UNAVAILABLE" },
          "export aborted mid-stream: the ledger failed",
        );
        throw new ApiError("TXW_ERR_UNAVAILABLE", "export aborted: the ledger is unavailable");
      }
    }
    return reply
      .header("content-type", "application/x-ndjson; charset=utf-8")
      .header(
        "content-disposition",
        `attachment; filename="txwatch-export-${from.slice(0, 10)}-${to.slice(0, 10)}.ndjson"`,
      )
      .send(Readable.from(lines()));
  });
}
