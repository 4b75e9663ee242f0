import { GENESIS_HASH } from "../ledger/hash-chain.ts";
import { chainRowOf, LEDGER_ROW_COLUMNS, LEDGER_ROW_FROM, type LedgerRow } from "../ledger/rows.ts";
import type { SqlClient } from "../ledger/sql-client.ts";
import type { ArchivedRow } from "./manifest.ts";

/** The chain head just before an instant: seq "0" and the genesis hash when there is none. */
export async function headBefore(
  db: SqlClient,
  instant: string,
): Promise<{ seq: string; hash: string }> {
  // recorded_at is taken under the chain lock (ledger_claim_and_lock), so it grows with seq:
  // walking the primary key (seq, recorded_at) down from the newest row reaches the head before
  // `instant` after reading only the rows recorded since.
  const { rows } = await db.query<{ seq: string; row_hash: string }>(
    `SELECT t.seq::text AS seq, t.row_hash FROM transactions t
     WHERE t.recorded_at < $1::timestamptz ORDER BY t.seq DESC LIMIT 1`,
    [instant],
  );
  const row = rows[0];
  return row === undefined
    ? { seq: "0", hash: GENESIS_HASH }
    : { seq: row.seq, hash: row.row_hash };
}

/** Thrown when a row cannot be archived as it is (the ledger itself needs verify-ledger). */
export class ArchiveRowError extends Error {}

/** Only a token, BIN and last 4 may describe a card (PRIV-1); the ledger stores no more. */
function assertTokenizedCard(row: LedgerRow): void {
  const card = (row.tx as { paymentMethod?: { card?: Record<string, unknown> } }).paymentMethod
    ?.card;
  if (card === undefined) return;
  for (const key of Object.keys(card)) {
    if (key !== "token" && key !== "bin" && key !== "last4") {
      throw new ArchiveRowError(`ledger row ${row.seq} carries card field "${key}": not archived`);
    }
  }
}

/**
 * The ledger rows recorded in [from, to), in seq order, a page at a time (keyset on seq), as the
 * lines of the archive. A row whose decision is missing cannot be archived: it is an error.
 */
export async function* rowsRecordedIn(
  db: SqlClient,
  range: { from: string; to: string; afterSeq: string },
  pageSize = 1000,
): AsyncGenerator<ArchivedRow> {
  let after = range.afterSeq;
  for (;;) {
    const { rows }: { rows: LedgerRow[] } = await db.query<LedgerRow>(
      `SELECT ${LEDGER_ROW_COLUMNS} FROM ${LEDGER_ROW_FROM}
       WHERE t.recorded_at >= $1::timestamptz AND t.recorded_at < $2::timestamptz
         AND t.seq > $3::bigint
       ORDER BY t.seq, t.recorded_at LIMIT $4`,
      [range.from, range.to, after, pageSize],
    );
    for (const row of rows) {
      const chain = chainRowOf(row);
      if (chain === null) {
        throw new ArchiveRowError(
          `ledger row ${row.seq} (${row.merchant_id}/${row.transaction_id}) has no decision`,
        );
      }
      assertTokenizedCard(row);
      yield { ...chain, rowHash: row.row_hash };
    }
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1]!.seq;
  }
}

/** The live ledger's hashes for seq in [first, last], a page at a time. */
export async function* ledgerHashes(
  db: SqlClient,
  first: string,
  last: string,
  pageSize = 5000,
): AsyncGenerator<{ seq: string; hash: string }> {
  let after = (BigInt(first) - 1n).toString();
  for (;;) {
    const { rows } = await db.query<{ seq: string; row_hash: string }>(
      `SELECT t.seq::text AS seq, t.row_hash FROM transactions t
       WHERE t.seq > $1::bigint AND t.seq <= $2::bigint ORDER BY t.seq LIMIT $3`,
      [after, last, pageSize],
    );
    for (const row of rows) yield { seq: row.seq, hash: row.row_hash };
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1]!.seq;
  }
}

/**
 * When the ledger's first row (its first decided transaction) was recorded, or null for an empty
 * ledger: one row read from the primary key (seq, recorded_at) of each partition.
 */
export async function firstRecordedAt(db: SqlClient): Promise<Date | null> {
  const { rows } = await db.query<{ recorded_at: Date | string }>(
    "SELECT t.recorded_at FROM transactions t ORDER BY t.seq LIMIT 1",
  );
  const first = rows[0];
  return first === undefined ? null : new Date(first.recorded_at);
}
