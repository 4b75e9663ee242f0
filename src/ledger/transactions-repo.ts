import { ValidationError } from "../errors.ts";
import {
  isoSql,
  LEDGER_ROW_COLUMNS,
  LEDGER_ROW_FROM,
  type LedgerRow,
  storedTransactionOf,
} from "./rows.ts";
import type { SqlClient, SqlParam } from "./sql-client.ts";
import type { QuarantineRecord, StoredTransaction } from "./types.ts";

export async function getTransaction(
  db: SqlClient,
  merchantId: string,
  transactionId: string,
): Promise<StoredTransaction | null> {
  const { rows } = await db.query<LedgerRow>(
    `SELECT ${LEDGER_ROW_COLUMNS} FROM ${LEDGER_ROW_FROM}
     WHERE t.merchant_id = $1 AND t.transaction_id = $2 LIMIT 1`,
    [merchantId, transactionId],
  );
  return rows[0] === undefined ? null : storedTransactionOf(rows[0]);
}

/** One query for the whole list: the API dedupes a batch of up to 500 with it. */
export async function existingIds(
  db: SqlClient,
  merchantId: string,
  ids: string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  // One primary-key probe per id, whatever the planner believes: LIMIT keeps the lookup a
  // subquery it runs per id. Given the ids as a set to match (IN, = ANY), it would at times,
  // without statistics yet, read every key of the merchant instead: a cost that grew with the
  // ledger and was paid by every ingest request.
  const { rows } = await db.query<{ transaction_id: string }>(
    `SELECT id.transaction_id
     FROM jsonb_array_elements_text($2::text::jsonb) AS id(transaction_id)
     CROSS JOIN LATERAL (
       SELECT 1 FROM transaction_keys k
       WHERE k.merchant_id = $1 AND k.transaction_id = id.transaction_id
       LIMIT 1
     ) AS stored`,
    [merchantId, JSON.stringify(ids)],
    { name: "txwatch_existing_ids" },
  );
  return new Set(rows.map((r) => r.transaction_id));
}

function instantParam(value: string, field: string): string {
  if (Number.isNaN(Date.parse(value)))
    throw new ValidationError(field, `${field} must be an ISO 8601 instant`);
  return value;
}

/**
 * Transactions with occurredAt in [from, to), oldest first, read a page at a time with a
 * keyset on (occurred_at, seq): memory stays flat for a year-long export, and no connection is
 * held between pages while the consumer (an HTTP response) drains them.
 */
export async function* pagedTransactions(
  db: SqlClient,
  range: { from: string; to: string; merchantId?: string },
  pageSize = 500,
): AsyncGenerator<StoredTransaction> {
  const base: SqlParam[] = [
    instantParam(range.from, "from"),
    instantParam(range.to, "to"),
    pageSize,
  ];
  const conditions = ["t.occurred_at >= $1::timestamptz", "t.occurred_at < $2::timestamptz"];
  if (range.merchantId !== undefined) {
    base.push(range.merchantId);
    conditions.push(`t.merchant_id = $${base.length}`);
  }
  const keyset = `(t.occurred_at, t.seq) > ($${base.length + 1}::timestamptz, $${base.length + 2}::bigint)`;
  let after: [string, string] | null = null;
  for (;;) {
    const where: string[] = after === null ? conditions : [...conditions, keyset];
    const { rows }: { rows: LedgerRow[] } = await db.query<LedgerRow>(
      `SELECT ${LEDGER_ROW_COLUMNS} FROM ${LEDGER_ROW_FROM}
       WHERE ${where.join(" AND ")}
       ORDER BY t.occurred_at, t.seq LIMIT $3`,
      after === null ? base : [...base, ...after],
    );
    for (const row of rows) yield storedTransactionOf(row);
    if (rows.length < pageSize) return;
    const last: LedgerRow = rows[rows.length - 1]!;
    after = [last.occurred_key, last.seq];
  }
}

export async function listQuarantine(
  db: SqlClient,
  limit: number,
): Promise<(QuarantineRecord & { quarantinedAt: string })[]> {
  const { rows } = await db.query<QuarantineRecord & { quarantinedAt: string }>(
    `SELECT source, sequence_number AS "sequenceNumber", partition_key AS "partitionKey", reason,
       payload, ${isoSql("quarantined_at")} AS "quarantinedAt"
     FROM quarantine ORDER BY quarantined_at DESC, id DESC LIMIT $1`,
    [Math.max(0, Math.trunc(limit))],
  );
  return rows;
}
