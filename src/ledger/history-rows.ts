import { ValidationError } from "../errors.ts";
import { isoMicrosSql } from "./rows.ts";
import type { SqlClient } from "./sql-client.ts";
import type { HistoryRow } from "./types.ts";

/**
 * A page is large: each one is a separate query, and without statistics (a fresh PGlite) the
 * planner reads everything after the cursor for each, so fewer pages is what keeps a rebuild's
 * read linear in practice. 5,000 rows of these few columns are about a megabyte.
 */
const PAGE_SIZE = 5000;

interface Row {
  seq: string;
  occurred_key: string;
  merchant_id: string;
  transaction_id: string;
  customer_id: string;
  occurred_ms: string;
  received_ms: string;
  amount: string;
  currency: string;
  country: string | null;
  card_token: string | null;
  device_id: string | null;
  ip_address: string | null;
}

/**
 * Only what HistoryItem needs, straight from `transactions`: no decision join and no full
 * transaction document, which is what made reading a day through pagedTransactions cost
 * seconds per ten thousand rows. No upper bound: a transaction that claims a future occurredAt
 * is in the history at its receivedAt (eventTimeOf).
 */
const COLUMNS = `t.seq::text AS seq, ${isoMicrosSql("t.occurred_at")} AS occurred_key,
  t.merchant_id, t.transaction_id, t.customer_id,
  (extract(epoch FROM t.occurred_at) * 1000)::bigint::text AS occurred_ms,
  (extract(epoch FROM t.received_at) * 1000)::bigint::text AS received_ms,
  t.amount::text AS amount, t.currency,
  t.tx->>'country' AS country, t.tx->'paymentMethod'->'card'->>'token' AS card_token,
  t.tx->>'deviceId' AS device_id, t.tx->>'ipAddress' AS ip_address`;

/**
 * A row's place in the scan's order, (occurred_at, seq): `<occurred_at to the microsecond> <seq>`.
 * Opaque to the callers, who hand it back to resume the scan after that row.
 */
function cursorOf(row: Row): string {
  return `${row.occurred_key} ${row.seq}`;
}

function keysetOf(cursor: string): [string, string] {
  const match = /^(\S+) (\d+)$/.exec(cursor);
  if (match === null || Number.isNaN(Date.parse(match[1]!))) {
    throw new ValidationError("after", "after must be a cursor of a row read by scanHistory");
  }
  return [match[1]!, match[2]!];
}

function historyRowOf(row: Row): HistoryRow {
  return {
    cursor: cursorOf(row),
    merchantId: row.merchant_id,
    transactionId: row.transaction_id,
    customerId: row.customer_id,
    occurredAt: Number(row.occurred_ms),
    receivedAt: Number(row.received_ms),
    amount: Number(row.amount),
    currency: row.currency,
    ...(row.country !== null && { country: row.country }),
    ...(row.card_token !== null && { cardToken: row.card_token }),
    ...(row.device_id !== null && { deviceId: row.device_id }),
    ...(row.ip_address !== null && { ipAddress: row.ip_address }),
  };
}

/**
 * Transactions with occurredAt >= from, oldest first, a keyset page on (occurred_at, seq) at a
 * time; with `after` (a row's cursor), only those that come after that row.
 */
export async function* historyRows(
  db: SqlClient,
  from: string,
  after?: string,
  pageSize = PAGE_SIZE,
): AsyncGenerator<HistoryRow> {
  if (Number.isNaN(Date.parse(from)))
    throw new ValidationError("from", "from must be an ISO 8601 instant");
  let keyset: [string, string] | null = after === undefined ? null : keysetOf(after);
  for (;;) {
    const condition: string =
      keyset === null ? "" : "AND (t.occurred_at, t.seq) > ($3::timestamptz, $4::bigint)";
    const { rows }: { rows: Row[] } = await db.query<Row>(
      `SELECT ${COLUMNS} FROM transactions t
       WHERE t.occurred_at >= $1::timestamptz ${condition}
       ORDER BY t.occurred_at, t.seq LIMIT $2`,
      keyset === null ? [from, pageSize] : [from, pageSize, ...keyset],
    );
    for (const row of rows) yield historyRowOf(row);
    if (rows.length < pageSize) return;
    const last: Row = rows[rows.length - 1]!;
    keyset = [last.occurred_key, last.seq];
  }
}
