import { GENESIS_HASH, rowHash } from "./hash-chain.ts";
import { chainRowOf, LEDGER_ROW_COLUMNS, LEDGER_ROW_FROM, type LedgerRow } from "./rows.ts";
import type { SqlClient, SqlParam } from "./sql-client.ts";
import type { ChainCheck, ChainVerification } from "./types.ts";
import { verifyCheckpoints } from "./verify-checkpoints.ts";

const DEFAULT_PAGE = 1000;

type FirstBad = NonNullable<ChainVerification["firstBad"]>;

/** A chain as the walk leaves it, with the first row found wrong. */
interface Walked extends ChainCheck {
  firstBad?: FirstBad;
}

/** Why this row breaks its chain, given the chain's row before it; null when it is sound. */
function checkRow(row: LedgerRow, prevSeq: bigint | null, prevHash: string): string | null {
  // seq is drawn from one sequence for all chains: it grows along a chain, with gaps (a
  // rolled-back commit), so order is checked here and completeness by the links below.
  if (prevSeq !== null && BigInt(row.seq) <= prevSeq) {
    return `seq ${row.seq} repeated or out of order (the row before it is seq ${prevSeq})`;
  }
  if (row.prev_hash !== prevHash) {
    return prevSeq === null
      ? "prev_hash is not the genesis hash, yet no row of the chain comes before it (rows removed from the start of the chain)"
      : "prev_hash does not match the previous row's hash: rows removed, reordered or moved between chains (chain broken)";
  }
  const chain = chainRowOf(row);
  if (chain === null) return "its decision is missing";
  if (rowHash(chain) !== row.row_hash) {
    return "row_hash does not match the stored row and decision (row, payload or decision altered)";
  }
  return null;
}

/**
 * Every row, chain by chain in seq order, a page at a time so memory stays flat however large
 * the ledger is: each chain's links and hashes up to its first bad row, after which the walk
 * jumps to the next chain.
 */
async function walkChains(db: SqlClient, pageSize: number): Promise<Map<number, Walked>> {
  const chains = new Map<number, Walked>();
  let current: Walked | undefined;
  let prevSeq: bigint | null = null;
  // Keyset on (chain, seq, recorded_at), the chain index: a forged duplicate seq is still visited.
  let after: { chain: number; seq: string; recordedKey: string } | { skipPast: number } | null =
    null;
  for (;;) {
    let where = "";
    let params: SqlParam[] = [pageSize];
    if (after !== null && "skipPast" in after) {
      where = "WHERE t.chain > $2::integer";
      params = [pageSize, after.skipPast];
    } else if (after !== null) {
      where = "WHERE (t.chain, t.seq, t.recorded_at) > ($2::integer, $3::bigint, $4::timestamptz)";
      params = [pageSize, after.chain, after.seq, after.recordedKey];
    }
    const { rows }: { rows: LedgerRow[] } = await db.query<LedgerRow>(
      `SELECT ${LEDGER_ROW_COLUMNS} FROM ${LEDGER_ROW_FROM} ${where}
       ORDER BY t.chain, t.seq, t.recorded_at LIMIT $1`,
      params,
    );
    let broken: number | undefined;
    for (const row of rows) {
      if (current?.chain !== row.chain) {
        current = { chain: row.chain, rows: 0, headSeq: null, headHash: null };
        chains.set(row.chain, current);
        prevSeq = null;
      }
      const reason = checkRow(row, prevSeq, current.headHash ?? GENESIS_HASH);
      if (reason !== null) {
        current.problem = `row seq ${row.seq} (${row.merchant_id}/${row.transaction_id}): ${reason}`;
        current.firstBad = {
          chain: row.chain,
          seq: row.seq,
          merchantId: row.merchant_id,
          transactionId: row.transaction_id,
          reason,
        };
        broken = row.chain;
        break;
      }
      current.rows++;
      prevSeq = BigInt(row.seq);
      current.headSeq = row.seq;
      current.headHash = row.row_hash;
    }
    if (broken !== undefined) {
      after = { skipPast: broken };
      continue;
    }
    if (rows.length < pageSize) break;
    const last: LedgerRow = rows[rows.length - 1]!;
    after = { chain: last.chain, seq: last.seq, recordedKey: last.recorded_key };
  }
  return chains;
}

/**
 * Rows cut from the end of a chain leave no broken link behind, but their exactly-once keys
 * stay: a key without its row names the chain it was committed on.
 */
async function checkMissingRows(db: SqlClient, chains: Map<number, Walked>): Promise<void> {
  const { rows: orphans } = await db.query<{
    chain: number;
    merchant_id: string;
    transaction_id: string;
  }>(
    `SELECT DISTINCT ON (k.chain) k.chain, k.merchant_id, k.transaction_id
     FROM transaction_keys k
     WHERE NOT EXISTS (SELECT 1 FROM transactions t
       WHERE t.merchant_id = k.merchant_id AND t.transaction_id = k.transaction_id)
     ORDER BY k.chain, k.merchant_id, k.transaction_id`,
  );
  for (const orphan of orphans) {
    const walked = chains.get(orphan.chain) ?? {
      chain: orphan.chain,
      rows: 0,
      headSeq: null,
      headHash: null,
    };
    chains.set(orphan.chain, walked);
    if (walked.problem !== undefined) continue;
    const reason = `accepted but its ledger row is missing: rows cut from the end of chain ${orphan.chain}, which ends at seq ${walked.headSeq ?? "0 (no row left)"}`;
    walked.problem = `${orphan.merchant_id}/${orphan.transaction_id}: ${reason}`;
    walked.firstBad = {
      chain: orphan.chain,
      seq: null,
      merchantId: orphan.merchant_id,
      transactionId: orphan.transaction_id,
      reason,
    };
  }
}

async function registeredChains(db: SqlClient): Promise<Set<number>> {
  const { rows } = await db.query<{ chain: number }>("SELECT chain FROM ledger_chains");
  return new Set(rows.map((r) => r.chain));
}

/**
 * Verifies the whole ledger (SCL-3): every hash chain (links, hashes, order), the rows missing
 * at the ends of chains (keys without rows), the chain registry, and the checkpoints, which
 * must be one unbroken chain of their own and name only rows their chains still hold: so a
 * chain cut short, emptied or swapped with another is found even where the chain alone looks
 * sound. Each chain reports its first bad row; the result names the first one over all chains.
 *
 * The ledger may be written meanwhile: chains registered during the walk are not required to
 * hold rows it saw, and rows it saw must be registered by the end.
 */
export async function verifyChain(
  db: SqlClient,
  { pageSize = DEFAULT_PAGE }: { pageSize?: number } = {},
): Promise<ChainVerification> {
  const registeredBefore = await registeredChains(db);
  const walked = await walkChains(db, pageSize);
  await checkMissingRows(db, walked);
  const registeredAfter = await registeredChains(db);
  for (const chain of registeredBefore) {
    if (!walked.has(chain)) {
      walked.set(chain, {
        chain,
        rows: 0,
        headSeq: null,
        headHash: null,
        problem: "registered by a commit but holds no rows: the whole chain was removed",
      });
    }
  }
  for (const check of walked.values()) {
    if (check.rows > 0 && !registeredAfter.has(check.chain)) {
      check.problem ??= "holds rows but no commit registered it (rows moved onto it?)";
    }
  }
  const checkpoints = await verifyCheckpoints(db, pageSize);

  const ordered = [...walked.values()].sort((a, b) => a.chain - b.chain);
  const firstBad = ordered.find((c) => c.firstBad !== undefined)?.firstBad;
  const chains: ChainCheck[] = ordered.map(({ firstBad: _, ...check }) => check);
  const ok = chains.every((c) => c.problem === undefined) && checkpoints.firstBad === undefined;
  return {
    ok,
    checked: chains.reduce((n, c) => n + c.rows, 0),
    chains,
    checkpoints,
    ...(firstBad !== undefined && { firstBad }),
  };
}
