import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ValidationError } from "../../errors.ts";
import { isRfc3339WithOffset, toValidationError } from "../../transaction/schema.ts";
import { type ApiDeps, merchantOf } from "../types.ts";
import { presentTransaction } from "./transactions.ts";

const exportQuerySchema = z.strictObject({
  from: z
    .string({ error: "from is required" })
    .refine(isRfc3339WithOffset, { error: "from must be an RFC 3339 timestamp with offset" }),
  to: z
    .string({ error: "to is required" })
    .refine(isRfc3339WithOffset, { error: "to must be an RFC 3339 timestamp with offset" }),
});

export function exportRoutes(app: FastifyInstance, deps: ApiDeps): void {
  /**
   * Regulatory export (QRY-1): every transaction of the merchant that occurred in [from, to),
   * with its decision, as NDJSON streamed straight from the ledger (no size limit in memory).
   */
  app.get("/v1/exports/transactions", async (request, reply) => {
    const parsed = exportQuerySchema.safeParse(request.query);
    if (!parsed.success) throw toValidationError(parsed.error, "", request.query);
    const { from, to } = parsed.data;
    if (Date.parse(from) >= Date.parse(to))
      throw new ValidationError("to", "to must be after from");
    const rows = deps.ledger.exportTransactions(merchantOf(request), from, to);
    async function* lines() {
      for await (const row of rows) yield `${JSON.stringify(presentTransaction(row))}\n`;
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
