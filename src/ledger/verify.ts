import { GENESIS_HASH, rowHash } from "./hash-chain.ts";
import { chainRowOf, LEDGER_ROW_COLUMNS, LEDGER_ROW_FROM, type LedgerRow } from "./rows.ts";
import type { SqlClient, SqlParam } from "./sql-client.ts";
import type { ChainVerification } from "./types.ts";

const DEFAULT_PAGE = 1000;

type FirstBad = NonNullable<ChainVerification["firstBad"]>;

function bad(row: LedgerRow, reason: string): FirstBad {
  return { seq: row.seq, merchantId: row.merchant_id, transactionId: row.transaction_id, reason };
}

/** Why this row breaks the chain, given the row before it; null when it is sound. */
function checkRow(row: LedgerRow, expectedSeq: bigint, prevHash: string): string | null {
  if (BigInt(row.seq) !== expectedSeq) {
    return BigInt(row.seq) > expectedSeq
      ? `seq gap: expected ${expectedSeq}, found ${row.seq} (rows removed)`
      : `seq ${row.seq} repeated or out of order (expected ${expectedSeq})`;
  }
  if (row.prev_hash !== prevHash)
    return "prev_hash does not match the previous row's hash (chain broken)";
  const chain = chainRowOf(row);
  if (chain === null) return "its decision is missing";
  if (rowHash(chain) !== row.row_hash) {
    return "row_hash does not match the stored row and decision (row, payload or decision altered)";
  }
  return null;
}

/**
 * Recomputes the hash chain over every ledger row in seq order, a page at a time so memory
 * stays flat however large the ledger is, and reports the first row that does not match.
 * Finally every exactly-once key must have its ledger row, which catches rows removed from the
 * end of the chain (where no later row's prev_hash would notice).
 */
export async function verifyChain(
  db: SqlClient,
  { pageSize = DEFAULT_PAGE }: { pageSize?: number } = {},
): Promise<ChainVerification> {
  let checked = 0;
  let expectedSeq = 1n;
  let prevHash = GENESIS_HASH;
  // Keyset on (seq, recorded_at), the primary key: a forged duplicate seq is still visited.
  let after: { seq: string; recordedKey: string } | null = null;
  for (;;) {
    const params: SqlParam[] =
      after === null ? [pageSize] : [pageSize, after.seq, after.recordedKey];
    const where: string =
      after === null ? "" : "WHERE (t.seq, t.recorded_at) > ($2::bigint, $3::timestamptz)";
    const { rows }: { rows: LedgerRow[] } = await db.query<LedgerRow>(
      `SELECT ${LEDGER_ROW_COLUMNS} FROM ${LEDGER_ROW_FROM} ${where}
       ORDER BY t.seq, t.recorded_at LIMIT $1`,
      params,
    );
    for (const row of rows) {
      const reason = checkRow(row, expectedSeq, prevHash);
      if (reason !== null) return { ok: false, checked, firstBad: bad(row, reason) };
      checked++;
      expectedSeq += 1n;
      prevHash = row.row_hash;
    }
    if (rows.length < pageSize) break;
    const last: LedgerRow = rows[rows.length - 1]!;
    after = { seq: last.seq, recordedKey: last.recorded_key };
  }

  const { rows: orphans } = await db.query<{ merchant_id: string; transaction_id: string }>(
    `SELECT k.merchant_id, k.transaction_id FROM transaction_keys k
     WHERE NOT EXISTS (SELECT 1 FROM transactions t
       WHERE t.merchant_id = k.merchant_id AND t.transaction_id = k.transaction_id)
     LIMIT 1`,
  );
  const orphan = orphans[0];
  if (orphan !== undefined) {
    return {
      ok: false,
      checked,
      firstBad: {
        // Where its row would have been: the chain was cut short here.
        seq: expectedSeq.toString(),
        merchantId: orphan.merchant_id,
        transactionId: orphan.transaction_id,
        reason: `accepted but its ledger row is missing: the chain ends at seq ${expectedSeq - 1n}`,
      },
    };
  }
  return { ok: true, checked };
}
