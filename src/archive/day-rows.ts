import { GENESIS_HASH } from "../ledger/hash-chain.ts";
import { chainRowOf, LEDGER_ROW_COLUMNS, LEDGER_ROW_FROM, type LedgerRow } from "../ledger/rows.ts";
import type { SqlClient } from "../ledger/sql-client.ts";
import type { ArchivedRow } from "./manifest.ts";

/** A chain's head: seq "0" and the genesis hash before its first row. */
export interface ChainHead {
  seq: string;
  hash: string;
}

/**
 * Each chain's head just before an instant: chain 0 (the name older archives continue) and
 * every chain a commit registered, by chain.
 */
export async function headsBefore(db: SqlClient, instant: string): Promise<Map<number, ChainHead>> {
  // recorded_at is taken under the chain's lock (ledger_claim_and_lock), so along a chain it
  // grows with seq: walking the chain's index down from its newest row reaches the head before
  // `instant` after reading only the chain's rows recorded since. (A range and the chain in the
  // order, as in ledger_claim_and_lock: so that index, not the primary key, is walked.)
  const { rows } = await db.query<{ chain: number; seq: string | null; row_hash: string | null }>(
    `SELECT c.chain, h.seq::text AS seq, h.row_hash
     FROM (SELECT 0 AS chain UNION SELECT chain FROM ledger_chains) c
     LEFT JOIN LATERAL (SELECT t.seq, t.row_hash FROM transactions t
       WHERE t.chain BETWEEN c.chain AND c.chain AND t.recorded_at < $1::timestamptz
       ORDER BY t.chain DESC, t.seq DESC LIMIT 1) h ON true
     ORDER BY c.chain`,
    [instant],
  );
  return new Map(
    rows.map((row) => [
      row.chain,
      row.seq === null || row.row_hash === null
        ? { seq: "0", hash: GENESIS_HASH }
        : { seq: row.seq, hash: row.row_hash },
    ]),
  );
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
 * The ledger rows recorded in [from, to), of every chain, in seq order, a page at a time (keyset
 * on seq from `afterSeq`, below which no chain has a row in the range), as the lines of the
 * archive. A row whose decision is missing cannot be archived: it is an error.
 */
export async function* rowsRecordedIn(
  db: SqlClient,
  range: { from: string; to: string; afterSeq: string },
  pageSize = 1000,
): AsyncGenerator<ArchivedRow & { chain: number }> {
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
      const content = chainRowOf(row);
      if (content === null) {
        throw new ArchiveRowError(
          `ledger row ${row.seq} (${row.merchant_id}/${row.transaction_id}) has no decision`,
        );
      }
      assertTokenizedCard(row);
      yield { ...content, chain: row.chain, rowHash: row.row_hash };
    }
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1]!.seq;
  }
}

/** The live ledger's rows of these seqs (unique across chains): their chain and hash. */
export async function ledgerRowsAt(
  db: SqlClient,
  seqs: string[],
): Promise<Map<string, { chain: number; hash: string }>> {
  if (seqs.length === 0) return new Map();
  const { rows } = await db.query<{ seq: string; chain: number; row_hash: string }>(
    `SELECT t.seq::text AS seq, t.chain, t.row_hash FROM transactions t
     WHERE t.seq IN (SELECT s::bigint FROM jsonb_array_elements_text($1::text::jsonb) AS s)`,
    [JSON.stringify(seqs)],
  );
  return new Map(rows.map((r) => [r.seq, { chain: r.chain, hash: r.row_hash }]));
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
